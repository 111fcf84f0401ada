package io.cairn.server.proxy;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@code cairn gateway start}: etcd's TCP gateway. Each client connection is joined byte for byte to one member's
 * client port (so TLS, gRPC and HTTP all pass through untouched), the members taken in turn. A member that refuses a
 * connection (or does not answer within a second) is set aside for {@code --retry-delay} and the next one is tried at
 * once, so a client connecting while a member is down reaches a live one (members set aside are tried last, not
 * never: etcd's gateway refuses clients until its monitor finds a member back); when none answers, the client's
 * connection is closed. Reading is paced by writing: a side reads again only once what it read was written to the
 * other.
 */
public final class TcpGateway implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(TcpGateway.class.getName());
    private static final int CONNECT_TIMEOUT_MS = 1_000;

    /** One member's client port and whether it is set aside. */
    private static final class Remote {
        final String endpoint;
        final InetSocketAddress address;
        volatile long inactiveUntilNanos;

        Remote(final String endpoint) {
            this.endpoint = endpoint;
            this.address = Upstream.address(endpoint);
        }
    }

    private final List<Remote> remotes = new ArrayList<>();
    private final long retryDelayNanos;
    private final AtomicInteger next = new AtomicInteger();
    private final EventLoopGroup loops;
    private final Channel listener;

    private TcpGateway(final List<String> endpoints, final String listenAddr, final long retryDelayMs)
        throws IOException {
        if (endpoints.isEmpty()) {
            throw new IllegalArgumentException("--endpoints: no endpoint given");
        }
        for (final String endpoint : endpoints) {
            remotes.add(new Remote(Upstream.hostPort(endpoint)));
        }
        this.retryDelayNanos = TimeUnit.MILLISECONDS.toNanos(retryDelayMs);
        this.loops = new MultiThreadIoEventLoopGroup(2, runnable -> {
            final Thread thread = new Thread(runnable, "cairn-gateway");
            thread.setDaemon(true);
            return thread;
        }, NioIoHandler.newFactory());
        final ChannelFuture bound = new ServerBootstrap().group(loops).channel(NioServerSocketChannel.class)
            .childOption(ChannelOption.AUTO_READ, false)
            .childHandler(new ChannelInitializer<SocketChannel>() {
                @Override
                protected void initChannel(final SocketChannel client) {
                    client.pipeline().addLast(new Front());
                }
            }).bind(Upstream.address(Upstream.hostPort(listenAddr))).awaitUninterruptibly();
        if (!bound.isSuccess()) {
            loops.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            throw new IOException("cannot listen on " + listenAddr + ": " + bound.cause().getMessage(),
                bound.cause());
        }
        this.listener = bound.channel();
    }

    /**
     * Starts a gateway.
     *
     * @param endpoints    the members' client endpoints.
     * @param listenAddr   where clients connect.
     * @param retryDelayMs how long a member that refused a connection is set aside.
     * @return the running gateway.
     * @throws IOException if the address cannot be bound.
     */
    public static TcpGateway start(final List<String> endpoints, final String listenAddr, final long retryDelayMs)
        throws IOException {
        return new TcpGateway(endpoints, listenAddr, retryDelayMs);
    }

    /**
     * @return the port clients connect to.
     */
    public int port() {
        return ((InetSocketAddress)listener.localAddress()).getPort();
    }

    /** The members to try, in turn from the next one: the active first, then those set aside (a last resort). */
    private List<Remote> order() {
        final int start = Math.floorMod(next.getAndIncrement(), remotes.size());
        final long now = System.nanoTime();
        final List<Remote> active = new ArrayList<>();
        final List<Remote> asideLast = new ArrayList<>();
        for (int i = 0; i < remotes.size(); i++) {
            final Remote remote = remotes.get((start + i) % remotes.size());
            (now - remote.inactiveUntilNanos >= 0 ? active : asideLast).add(remote);
        }
        active.addAll(asideLast);
        return active;
    }

    /** A client's connection: joined to a member once one answers. */
    private final class Front extends ChannelInboundHandlerAdapter {
        private Channel back;

        @Override
        public void channelActive(final ChannelHandlerContext ctx) {
            connect(ctx.channel(), order(), 0);
        }

        private void connect(final Channel client, final List<Remote> candidates, final int index) {
            if (index >= candidates.size()) {
                LOG.log(System.Logger.Level.WARNING, "gateway: no member answers; closing " + client.remoteAddress());
                client.close();
                return;
            }
            final Remote remote = candidates.get(index);
            new Bootstrap().group(client.eventLoop()).channel(NioSocketChannel.class)
                .option(ChannelOption.AUTO_READ, false)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, CONNECT_TIMEOUT_MS)
                .handler(new Back(client))
                .connect(remote.address).addListener((ChannelFutureListener)connected -> {
                    if (!connected.isSuccess()) {
                        remote.inactiveUntilNanos = System.nanoTime() + retryDelayNanos;
                        LOG.log(System.Logger.Level.WARNING, "gateway: " + remote.endpoint + " set aside for "
                            + TimeUnit.NANOSECONDS.toSeconds(retryDelayNanos) + " s: "
                            + connected.cause().getMessage());
                        connect(client, candidates, index + 1);
                        return;
                    }
                    if (!client.isActive()) {
                        connected.channel().close();
                        return;
                    }
                    back = connected.channel();
                    client.read();
                    back.read();
                });
        }

        @Override
        public void channelRead(final ChannelHandlerContext ctx, final Object message) {
            relay(ctx, back, message);
        }

        @Override
        public void channelInactive(final ChannelHandlerContext ctx) {
            if (back != null) {
                closeAfterFlush(back);
            }
        }

        @Override
        public void exceptionCaught(final ChannelHandlerContext ctx, final Throwable cause) {
            closeAfterFlush(ctx.channel());
        }
    }

    /** A member's side of one client's connection. */
    private static final class Back extends ChannelInboundHandlerAdapter {
        private final Channel client;

        Back(final Channel client) {
            this.client = client;
        }

        @Override
        public void channelRead(final ChannelHandlerContext ctx, final Object message) {
            relay(ctx, client, message);
        }

        @Override
        public void channelInactive(final ChannelHandlerContext ctx) {
            closeAfterFlush(client);
        }

        @Override
        public void exceptionCaught(final ChannelHandlerContext ctx, final Throwable cause) {
            closeAfterFlush(ctx.channel());
        }
    }

    /** What one side read, written to the other; the side reads again once it is written. */
    private static void relay(final ChannelHandlerContext ctx, final Channel to, final Object message) {
        to.writeAndFlush(message).addListener((ChannelFutureListener)written -> {
            if (written.isSuccess()) {
                ctx.channel().read();
            } else {
                written.channel().close();
                closeAfterFlush(ctx.channel());
            }
        });
    }

    private static void closeAfterFlush(final Channel channel) {
        if (channel.isActive()) {
            channel.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }
    }

    @Override
    public void close() {
        listener.close().awaitUninterruptibly();
        loops.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
}
