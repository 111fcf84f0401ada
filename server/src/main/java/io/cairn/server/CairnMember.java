package io.cairn.server;

import io.cairn.embedded.CairnNode;
import io.cairn.embedded.NodeConfig;
import io.cairn.embedded.cluster.Topology;
import io.cairn.server.grpc.ClusterService;
import io.cairn.server.grpc.KvService;
import io.cairn.server.grpc.LeaseService;
import io.cairn.server.grpc.MaintenanceService;
import io.cairn.server.grpc.WatchService;
import io.cairn.server.http.HttpGateway;
import io.cairn.embedded.DaemonThreads;
import io.cairn.server.node.Node;
import io.cairn.server.node.GrpcNode;
import io.grpc.Server;
import io.grpc.netty.NettyServerBuilder;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * One Cairn member as a server, and only its composition root: it opens the embedded {@link CairnNode} (the keyspace
 * replicated by Raft over Aeron, with its watch dispatcher, as a Java service embeds it), wraps it for the services
 * ({@link GrpcNode}), builds the etcd v3 gRPC services on the client port and the JSON gateway with {@code /health} and
 * {@code /metrics}; starts them in that order and stops them in the reverse one. What a request does once a service has
 * it is the node's business.
 */
public final class CairnMember implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(CairnMember.class.getName());

    /**
     * What a member needs.
     *
     * @param name      its name in the topology.
     * @param dataDir   its files.
     * @param clientUrl where clients connect ({@code http://host:port}).
     * @param topology  the cluster.
     * @param durable   sync the WAL (false only for measuring).
     * @param httpUrl   where the JSON gateway, /health and /metrics listen ({@code http://host:port}), or null for
     *                  the client port minus one.
     * @param aeronDir  the directory of a media driver the operator runs (the loop then parks between messages, up to
     *                  1 ms, having no sockets of its own to sleep on), or null to embed one run by the loop.
     * @param joining   etcd's {@code --initial-cluster-state existing}: with no files yet, start with no
     *                  configuration and learn it from the leader (the member must have been added by MemberAdd).
     * @param snapshotCount applied entries between snapshots (etcd's {@code --snapshot-count}).
     * @param diskReserveBytes free space below which this member raises the NOSPACE alarm (writes are refused
     *                  cluster-wide, as etcd refuses them past its quota) before a full disk could fail a WAL
     *                  write; it disarms it once twice as much is free again. 0: no guard.
     */
    public record Config(String name, Path dataDir, String clientUrl, Topology topology, boolean durable,
        String httpUrl, String aeronDir, boolean joining, long snapshotCount, long diskReserveBytes) {
        /**
         * Cairn's default {@code --snapshot-count}, etcd 3.4's: a snapshot copies the whole store, which at 5,000
         * puts/s and one every 10,000 entries took a tenth of the cluster's CPU on two cores (and beyond 64 MiB of
         * store the loop also waits for as many log bytes as the store holds: RaftAgentContext#snapshotCopyFreeBytes).
         */
        public static final long SNAPSHOT_COUNT_DEFAULT = NodeConfig.SNAPSHOT_COUNT_DEFAULT;
        /** Default {@code --disk-reserve-bytes}: two WAL blocks. */
        public static final long DISK_RESERVE_DEFAULT = NodeConfig.DISK_RESERVE_DEFAULT;

        /**
         * Checks the settings.
         */
        public Config {
            if (snapshotCount < 1) {
                throw new IllegalArgumentException("--snapshot-count must be at least 1, not " + snapshotCount);
            }
            if (diskReserveBytes < 0) {
                throw new IllegalArgumentException("--disk-reserve-bytes must not be negative");
            }
        }

        /**
         * A member of a new cluster.
         *
         * @param name      its name in the topology.
         * @param dataDir   its files.
         * @param clientUrl where clients connect.
         * @param topology  the cluster.
         * @param durable   sync the WAL.
         * @param httpUrl   the JSON gateway's URL, or null.
         * @param aeronDir  a media driver to share, or null.
         */
        public Config(final String name, final Path dataDir, final String clientUrl, final Topology topology,
            final boolean durable, final String httpUrl, final String aeronDir) {
            this(name, dataDir, clientUrl, topology, durable, httpUrl, aeronDir, false, SNAPSHOT_COUNT_DEFAULT,
                DISK_RESERVE_DEFAULT);
        }
    }

    /**
     * Netty event loops of the client port ({@code -Dcairn.grpc.eventLoops}, default 1; gRPC's own default is two per
     * core): each is a thread that wakes for its connections' bytes, and on two shared cores fewer wake-ups beat
     * parallelism. Writes' handlers run on them.
     */
    private static final int GRPC_EVENT_LOOPS = Integer.getInteger("cairn.grpc.eventLoops", 1);
    /**
     * Runs a task on the calling thread (the Netty event loop). Not gRPC's {@code directExecutor()}: with that one
     * gRPC cannot move a call to another executor, and {@link #callExecutor} must.
     */
    private static final Executor INLINE = Runnable::run;
    private static final Set<String> DIRECT_METHODS = Set.of(
        io.etcd.jetcd.api.KVGrpc.getPutMethod().getFullMethodName(),
        io.etcd.jetcd.api.KVGrpc.getDeleteRangeMethod().getFullMethodName(),
        io.etcd.jetcd.api.KVGrpc.getTxnMethod().getFullMethodName());

    private final Config config;
    private final Topology.Member self;
    private final GrpcNode node;
    private final io.netty.channel.EventLoopGroup grpcEventLoops;
    private final Server grpc;
    private HttpGateway gateway;
    private volatile boolean closed;

    private CairnMember(final Config config) throws IOException {
        this.config = config;
        this.self = config.topology().byName(config.name());
        if (self == null) {
            throw new IllegalArgumentException("--name " + config.name() + " is not in --initial-cluster");
        }
        final CairnNode embedded = CairnNode.open(new NodeConfig(config.name(), config.topology(), config.dataDir(),
            config.clientUrl(), config.joining(), config.durable(), config.snapshotCount(), config.diskReserveBytes(),
            config.aeronDir()));
        this.node = new GrpcNode(embedded);
        final ClusterService cluster = new ClusterService(node);
        this.grpcEventLoops = new io.netty.channel.MultiThreadIoEventLoopGroup(GRPC_EVENT_LOOPS,
            DaemonThreads.named("cairn-" + config.name() + "-netty"), io.netty.channel.nio.NioIoHandler.newFactory());
        this.grpc = NettyServerBuilder.forAddress(address(config.clientUrl()))
            .channelType(io.netty.channel.socket.nio.NioServerSocketChannel.class)
            .bossEventLoopGroup(grpcEventLoops)
            .workerEventLoopGroup(grpcEventLoops)
            .executor(INLINE)
            .callExecutor(this::callExecutor)
            .maxInboundMessageSize(Node.GRPC_MESSAGE_BYTES_MAX)
            .permitKeepAliveTime(5, TimeUnit.SECONDS)
            .permitKeepAliveWithoutCalls(true)
            .addService(new KvService(node))
            .addService(new WatchService(node))
            .addService(new LeaseService(node).definition())
            .addService(cluster)
            .addService(cluster.publishDefinition())
            .addService(new MaintenanceService(node))
            .build();
    }

    /**
     * Opens the member's files, starts its node (loop, watch dispatcher), its gRPC server and its JSON gateway.
     *
     * @param config what it is.
     * @return the running member.
     * @throws IOException if its files or ports cannot be opened.
     */
    public static CairnMember start(final Config config) throws IOException {
        final CairnMember server = new CairnMember(config);
        try {
            server.node.node().start(error -> {
                LOG.log(System.Logger.Level.ERROR, "member " + config.name() + " stopped on an error", error);
                Runtime.getRuntime().halt(70);
            });
            server.grpc.start();
            server.gateway = new HttpGateway(server.node.status(), server.grpc.getPort(),
                config.httpUrl() == null ? HttpGateway.defaultAddress(config.clientUrl()) : address(config.httpUrl()));
        } catch (final IOException | RuntimeException ex) {
            server.close();
            throw ex;
        }
        return server;
    }

    /**
     * Writes run on the transport's own thread (gRPC's Netty event loop): their handlers only validate, copy and offer
     * to the loop's ring, never wait, and a hand-off to the pool per request costs a thread wake-up each way. Every
     * other call (reads that may be large, calls that wait for a leader) runs on the node's pool. gRPC looks the
     * method up on the server's default executor before it asks this: that default is {@link #INLINE}, so a write
     * never visits the pool at all (with the pool as default, each write woke a pool thread just to find its method).
     */
    private <Q, A> Executor callExecutor(final io.grpc.ServerCall<Q, A> call, final io.grpc.Metadata headers) {
        return DIRECT_METHODS.contains(call.getMethodDescriptor().getFullMethodName()) ? null : node.executor();
    }

    private static InetSocketAddress address(final String url) {
        final String hostPort = Topology.hostPort(url);
        final int colon = hostPort.lastIndexOf(':');
        return new InetSocketAddress(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1)));
    }

    /**
     * @return completes when this member learns it was removed from the cluster (then it takes no further part:
     *     {@code cairn member} stops, as etcd does).
     */
    public CompletableFuture<Void> removed() {
        return node.removed();
    }

    /**
     * @return this member in the topology.
     */
    public Topology.Member self() {
        return self;
    }

    /**
     * @return the configuration.
     */
    public Config config() {
        return config;
    }

    /**
     * @return the JSON gateway's port.
     */
    public int httpPort() {
        return gateway.port();
    }

    /**
     * @return the port clients connect to (the bound one).
     */
    public int clientPort() {
        return grpc.getPort();
    }

    /**
     * Stops serving clients, then the node (its watch dispatcher, loop, files and transport), and last the client
     * port's event loops (answers the loop completed last still write through them).
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (gateway != null) {
            gateway.close();
        }
        grpc.shutdown();
        try {
            if (!grpc.awaitTermination(2, TimeUnit.SECONDS)) {
                grpc.shutdownNow();
            }
        } catch (final InterruptedException ex) {
            Thread.currentThread().interrupt();
            grpc.shutdownNow();
        }
        node.close();
        grpcEventLoops.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(3_000);
    }
}
