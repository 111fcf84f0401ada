package io.cairn.server.proxy;

import io.cairn.server.http.ClientPortProtocols;
import io.cairn.server.tls.TlsConfig;
import io.cairn.server.tls.TlsContexts;
import io.grpc.Server;
import io.grpc.netty.NettyServerBuilder;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * {@code cairn grpc-proxy start}: a stateless gRPC proxy in front of a cluster, serving the whole etcd v3 API on one
 * port (etcd's {@code etcd grpc-proxy}). Watches coalesced ({@link WatchProxy}), serializable ranges answered from a
 * cache ({@link KvProxy}, {@link RangeCache}), writes sent to the leader ({@link LeaderRouter}), lease keep-alives
 * coalesced ({@link LeaseProxy}), keys confined to a
 * namespace ({@link Namespace}), proxies registered and listed ({@link ProxyRegistration}), everything else relayed as
 * bytes ({@link PassThrough}); the members followed and failed over ({@link Upstream}); {@code /metrics} and
 * {@code /health} ({@link ProxyHttp}).
 */
public final class GrpcProxy implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(GrpcProxy.class.getName());
    /** etcd's grpc-proxy cache size. */
    private static final int CACHE_ENTRIES_MAX = 2048;
    private static final long CACHE_BYTES_MAX = 64L << 20;

    /**
     * What the proxy is.
     *
     * @param endpoints          the members' client endpoints.
     * @param listenAddr         where clients connect ({@code host:port}).
     * @param advertiseClientUrl what is registered under the resolver prefix.
     * @param resolverPrefix     the proxies' group ("" for none).
     * @param resolverTtlSeconds the registration's lease.
     * @param namespace          the prefix of every key ("" for none).
     * @param cert               the proxy's certificate toward the members, or null.
     * @param key                its key, or null.
     * @param cacert             the members' CAs, or null.
     * @param insecureSkipVerify trust any member certificate.
     * @param clientTls          TLS toward clients ({@link TlsConfig#NONE}: plaintext).
     * @param dataDir            where {@code --auto-tls} keeps its certificate.
     * @param metricsAddr        {@code --metrics-addr} (a URL), or null.
     * @param maxRecvBytes       the largest message accepted from a client.
     * @param maxConcurrentStreams streams a client connection may open.
     * @param cacheMaxAgeMs      how old a cached answer at the latest revision may be served.
     * @param syncIntervalMs     how often the member list is read.
     */
    public record Config(List<String> endpoints, String listenAddr, String advertiseClientUrl, String resolverPrefix,
        long resolverTtlSeconds, String namespace, Path cert, Path key, Path cacert, boolean insecureSkipVerify,
        TlsConfig clientTls, Path dataDir, String metricsAddr, int maxRecvBytes, long maxConcurrentStreams,
        long cacheMaxAgeMs, long syncIntervalMs) {
    }

    private final Config config;
    private final ScheduledExecutorService timer;
    private final EventLoopGroup loops;
    private final Upstream upstream;
    private final LeaderRouter leader;
    private final WatchProxy watch;
    private final LeaseProxy leases;
    private final ProxyRegistration registration;
    private final Server server;
    private final List<io.netty.channel.Channel> listeners = new ArrayList<>();

    private GrpcProxy(final Config config) throws IOException {
        this.config = config;
        this.timer = Executors.newSingleThreadScheduledExecutor(runnable -> {
            final Thread thread = new Thread(runnable, "cairn-proxy-timer");
            thread.setDaemon(true);
            return thread;
        });
        this.loops = new MultiThreadIoEventLoopGroup(2, runnable -> {
            final Thread thread = new Thread(runnable, "cairn-proxy-netty");
            thread.setDaemon(true);
            return thread;
        }, NioIoHandler.newFactory());
        final boolean clusterTls = config.cert() != null || config.cacert() != null || config.insecureSkipVerify()
            || config.endpoints().stream().anyMatch(endpoint -> endpoint.startsWith("https://"));
        this.upstream = new Upstream(config.endpoints(), clusterTls ? TlsContexts.clusterClient(config.cert(),
            config.key(), config.cacert(), config.insecureSkipVerify()) : null, Integer.MAX_VALUE,
            config.syncIntervalMs());
        final Namespace namespace = new Namespace(config.namespace());
        final RangeCache cache = new RangeCache(CACHE_ENTRIES_MAX, CACHE_BYTES_MAX,
            TimeUnit.MILLISECONDS.toNanos(config.cacheMaxAgeMs()));
        this.leader = new LeaderRouter(upstream, timer);
        if (config.syncIntervalMs() > 0) {
            timer.scheduleWithFixedDelay(leader::refresh, config.syncIntervalMs(), config.syncIntervalMs(),
                TimeUnit.MILLISECONDS);
        }
        this.watch = new WatchProxy(upstream, namespace, timer);
        this.leases = new LeaseProxy(upstream, namespace, timer);
        final ProxyMetrics metrics = new ProxyMetrics(cache, watch, leases);
        final ProxyHttp http = new ProxyHttp(metrics, upstream);
        final TlsContexts tls = config.clientTls().canServe() ? TlsContexts.open(config.clientTls(),
            config.dataDir().resolve("fixtures").resolve("proxy"), List.of(host(config.listenAddr()))) : null;
        final InetSocketAddress listen = Upstream.address(Upstream.hostPort(config.listenAddr()));
        final NettyServerBuilder builder = NettyServerBuilder.forAddress(listen)
            .channelType(io.netty.channel.socket.nio.NioServerSocketChannel.class)
            .bossEventLoopGroup(loops).workerEventLoopGroup(loops)
            // Nothing here blocks (every upstream call is asynchronous, locks are held for moments): calls run on
            // the event loop that read them, with no hand-off to a pool and back.
            .directExecutor()
            .maxInboundMessageSize(config.maxRecvBytes())
            .maxConcurrentCallsPerConnection((int)Math.min(Integer.MAX_VALUE, config.maxConcurrentStreams()))
            .permitKeepAliveTime(5, TimeUnit.SECONDS).permitKeepAliveWithoutCalls(true)
            .protocolNegotiator(new ClientPortProtocols(tls == null ? null : tls.grpcServer(), http::install))
            .addService(watch)
            .addService(new KvProxy(upstream.forwarding(), namespace, cache, leader))
            .addService(leases.definition())
            .fallbackHandlerRegistry(new PassThrough(upstream.forwarding(), namespace.none() ? Set.of()
                : Set.of("etcdserverpb.Maintenance/Snapshot")))
            .intercept(Upstream.CAPTURE);
        if (!config.resolverPrefix().isEmpty()) {
            this.registration = new ProxyRegistration(upstream, leases, config.resolverPrefix(),
                config.advertiseClientUrl(), config.resolverTtlSeconds(), timer);
            builder.addService(registration.definition());
        } else {
            this.registration = null;
        }
        if (!namespace.none()) {
            final NamespacedRecipes recipes = new NamespacedRecipes(upstream.forwarding(), namespace);
            builder.addService(recipes.new Lock()).addService(recipes.new Election());
        }
        this.server = builder.build();
        try {
            server.start();
            if (config.metricsAddr() != null && !config.metricsAddr().isEmpty()) {
                final boolean https = config.metricsAddr().startsWith("https://");
                listeners.add(http.listen(loops, Upstream.address(Upstream.hostPort(config.metricsAddr())),
                    https && tls != null ? tls.grpcServer() : null));
            }
        } catch (final IOException | RuntimeException ex) {
            close();
            throw ex;
        }
    }

    private static String host(final String address) {
        final String hostPort = Upstream.hostPort(address);
        return hostPort.substring(0, hostPort.lastIndexOf(':')).replace("[", "").replace("]", "");
    }

    /**
     * Starts a proxy.
     *
     * @param config what it is.
     * @return the running proxy.
     * @throws IOException if its port cannot be bound.
     */
    public static GrpcProxy start(final Config config) throws IOException {
        final GrpcProxy proxy = new GrpcProxy(config);
        LOG.log(System.Logger.Level.INFO, "grpc-proxy: listening on " + proxy.port() + " for " + config.endpoints());
        return proxy;
    }

    /**
     * @return the port clients connect to.
     */
    public int port() {
        return server.getPort();
    }

    /**
     * @return the members' endpoints in use now.
     */
    public List<String> endpoints() {
        return upstream.endpoints();
    }

    /**
     * @return the configuration it runs with.
     */
    public Config config() {
        return config;
    }

    /** Stops serving; revokes the registration; closes the upstream connection. */
    @Override
    public void close() {
        if (server != null) {
            server.shutdownNow();
        }
        for (final io.netty.channel.Channel listener : listeners) {
            listener.close().awaitUninterruptibly();
        }
        if (registration != null) {
            registration.close();
        }
        if (watch != null) {
            watch.close();
        }
        if (leases != null) {
            leases.close();
        }
        if (leader != null) {
            leader.close();
        }
        if (upstream != null) {
            upstream.close();
        }
        timer.shutdownNow();
        loops.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
}
