package io.cairn.server;

import io.cairn.embedded.CairnNode;
import io.cairn.embedded.NodeConfig;
import io.cairn.embedded.cluster.Topology;
import io.cairn.server.grpc.ClusterService;
import io.cairn.server.grpc.KvService;
import io.cairn.server.grpc.LearnerGuard;
import io.cairn.server.grpc.LeaseService;
import io.cairn.server.grpc.MaintenanceService;
import io.cairn.server.grpc.WatchService;
import io.cairn.server.http.ClientPortProtocols;
import io.cairn.server.http.HttpGateway;
import io.cairn.embedded.DaemonThreads;
import io.cairn.server.node.GrpcNode;
import io.cairn.server.auth.AuthConfig;
import io.cairn.server.auth.AuthInterceptor;
import io.cairn.server.auth.AuthStore;
import io.cairn.server.grpc.AuthService;
import io.cairn.server.grpc.AutoCompactor;
import io.cairn.server.http.MemberMetrics;
import io.grpc.protobuf.services.HealthStatusManager;
import io.cairn.server.grpc.ElectionService;
import io.cairn.server.grpc.LockService;
import io.cairn.server.tls.TlsConfig;
import io.cairn.server.tls.TlsContexts;
import io.grpc.BindableService;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.netty.NettyServerBuilder;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
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
     * What a member needs: the embedded node's settings and where the JSON gateway listens.
     *
     * @param node    the node: name, cluster, data directory, the client URL it serves and publishes
     *                ({@code http://host:port}), durability, joining, snapshot count, disk reserve, a media driver
     *                to share ({@link NodeConfig}).
     * @param listenClientUrls {@code --listen-client-urls}: where to serve clients (URLs separated by commas; a host
     *                  of 0.0.0.0 listens on every address), or null for the client URL the node publishes.
     * @param httpUrl a listener of its own for the JSON gateway, /health and /metrics ({@code http://host:port} or
     *                  {@code https://}), or null: they are served on the client port, beside gRPC, as etcd's.
     * @param metricsUrl {@code --listen-metrics-urls}: listeners for /metrics and /health alone (URLs separated by
     *                   commas), or null.
     * @param clientTls the client side's TLS flags: used where a client URL is {@code https://}.
     * @param peerTls   the peer side's TLS flags ({@link TlsConfig#NONE}: plaintext peer frames): every peer frame
     *                  sealed under keys agreed over mutual TLS, and this member's connections to other members'
     *                  client ports present its peer certificate.
     * @param auth      {@code --auth-token}, {@code --bcrypt-cost}, {@code --auth-token-ttl}.
     * @param compaction {@code --auto-compaction-mode} and {@code --auto-compaction-retention}.
     * @param grpc      the client port's gRPC settings ({@code --max-concurrent-streams}, {@code --grpc-keepalive-*}).
     */
    public record Config(NodeConfig node, String listenClientUrls, String httpUrl, String metricsUrl,
        TlsConfig clientTls, TlsConfig peerTls, AuthConfig auth, AutoCompactor.Settings compaction,
        GrpcSettings grpc) {
        /**
         * Checks that a member has a client URL to serve, and a certificate where it is to serve TLS.
         */
        public Config {
            if (node.clientUrl() == null) {
                throw new IllegalArgumentException("member " + node.name() + ": no client URL to serve");
            }
            // The fields are not set yet in a compact constructor: the components themselves.
            final List<String> urls = new ArrayList<>(split(listenClientUrls == null ? node.clientUrl()
                : listenClientUrls));
            if (urls.stream().map(Config::isHttps).distinct().count() > 1) {
                throw new IllegalArgumentException("--listen-client-urls mixes http:// and https://: " + urls);
            }
            if (httpUrl != null) {
                urls.add(httpUrl);
            }
            urls.addAll(split(metricsUrl));
            for (final String url : urls) {
                if (url != null && isHttps(url) && !clientTls.canServe()) {
                    throw new IllegalArgumentException("TLS key/cert (--cert-file, --key-file) must be provided for"
                        + " client url " + url + " with HTTPS scheme");
                }
            }
        }

        /**
         * A member without TLS.
         *
         * @param node    the node.
         * @param httpUrl the JSON gateway's URL, or null.
         */
        public Config(final NodeConfig node, final String httpUrl) {
            this(node, null, httpUrl, null, TlsConfig.NONE, TlsConfig.NONE, AuthConfig.DEFAULT,
                AutoCompactor.Settings.OFF, GrpcSettings.DEFAULTS);
        }

        /**
         * @return true when peer frames are sealed.
         */
        public boolean peerSecured() {
            return peerTls.canServe();
        }

        /**
         * @return true when the gRPC port serves TLS.
         */
        public boolean clientHttps() {
            return isHttps(listenUrls().get(0));
        }

        /**
         * @return where the client port listens: {@code --listen-client-urls}, or the published client URL.
         */
        public List<String> listenUrls() {
            return split(listenClientUrls == null ? node.clientUrl() : listenClientUrls);
        }

        /**
         * @return true when the JSON gateway serves TLS (by default, as the gRPC port does).
         */
        public boolean gatewayHttps() {
            return httpUrl == null ? clientHttps() : isHttps(httpUrl);
        }

        private static boolean isHttps(final String url) {
            return url != null && url.startsWith("https://");
        }

        /**
         * @return true when some listener serves TLS.
         */
        public boolean anyHttps() {
            return clientHttps() || isHttps(httpUrl) || metricsUrls().stream().anyMatch(Config::isHttps);
        }

        /**
         * @return the {@code --listen-metrics-urls}, none when absent.
         */
        public List<String> metricsUrls() {
            return split(metricsUrl);
        }

        private static List<String> split(final String commaSeparated) {
            final List<String> urls = new ArrayList<>();
            if (commaSeparated != null) {
                for (final String url : commaSeparated.split(",")) {
                    if (!url.isBlank()) {
                        urls.add(url.trim());
                    }
                }
            }
            return urls;
        }

        /**
         * @return its name.
         */
        public String name() {
            return node.name();
        }
    }

    /**
     * etcd's gRPC flags for the client port.
     *
     * @param maxConcurrentStreams {@code --max-concurrent-streams}: streams (calls) one connection may have open.
     * @param keepaliveMinTimeMs   {@code --grpc-keepalive-min-time}: the shortest ping interval a client may use.
     * @param keepaliveIntervalMs  {@code --grpc-keepalive-interval}: how often the server pings an idle connection
     *                             (0: never).
     * @param keepaliveTimeoutMs   {@code --grpc-keepalive-timeout}: how long it waits for the ping's answer before
     *                             closing the connection (0: never closes for that).
     */
    public record GrpcSettings(long maxConcurrentStreams, long keepaliveMinTimeMs, long keepaliveIntervalMs,
        long keepaliveTimeoutMs) {
        /** etcd 3.4's defaults: unlimited streams, 5 s, 2 h, 20 s. */
        public static final GrpcSettings DEFAULTS = new GrpcSettings(0xFFFF_FFFFL, 5_000, 7_200_000, 20_000);
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
    /** What the JSON gateway calls: the same services, in process (never through the port and its TLS). */
    private final Server inProcess;
    private final ManagedChannel inProcessChannel;
    private final TlsContexts tls;
    /** The peer certificate (sealed frames' keys, and connections to other members), or null. */
    private final TlsContexts peerTls;
    /** etcd's JSON gateway, /health, /version, /metrics: on the client port and any listeners of their own. */
    private final HttpGateway gateway;
    private final List<io.netty.channel.Channel> listeners = new ArrayList<>();
    /** {@code /metrics}: etcd's names, gRPC's, the JVM's and Cairn's, with the Prometheus client. */
    private final MemberMetrics metrics;
    private volatile boolean closed;

    private CairnMember(final Config config) throws IOException {
        this.config = config;
        this.self = config.node().self();
        this.tls = config.anyHttps() ? TlsContexts.open(config.clientTls(),
            config.node().dataDir().resolve("fixtures").resolve("client"), tlsHosts(config)) : null;
        this.peerTls = config.peerSecured() ? TlsContexts.open(config.peerTls(),
            config.node().dataDir().resolve("fixtures").resolve("peer"), List.of(self.peerEndpoint()
                .substring(0, self.peerEndpoint().lastIndexOf(':')))) : null;
        final CairnNode embedded = CairnNode.open(peerTls == null ? config.node()
            : config.node().withPeerTls(peerTls.jdk()));
        this.node = new GrpcNode(embedded, !config.clientHttps() ? null
            : peerTls == null ? tls.grpcClient() : tls.memberClient(peerTls));
        this.grpcEventLoops = new io.netty.channel.MultiThreadIoEventLoopGroup(GRPC_EVENT_LOOPS,
            DaemonThreads.named("cairn-" + config.name() + "-netty"), io.netty.channel.nio.NioIoHandler.newFactory());
        final List<String> listen = config.listenUrls();
        final NettyServerBuilder builder = NettyServerBuilder.forAddress(address(listen.get(0)))
            .channelType(io.netty.channel.socket.nio.NioServerSocketChannel.class)
            .bossEventLoopGroup(grpcEventLoops)
            .workerEventLoopGroup(grpcEventLoops)
            .executor(INLINE)
            .callExecutor(this::callExecutor)
            .maxInboundMessageSize(config.node().limits().grpcMessageBytesMax())
            .permitKeepAliveTime(config.grpc().keepaliveMinTimeMs(), TimeUnit.MILLISECONDS)
            .permitKeepAliveWithoutCalls(true)
            .maxConcurrentCallsPerConnection((int)Math.min(Integer.MAX_VALUE, config.grpc().maxConcurrentStreams()));
        if (config.grpc().keepaliveIntervalMs() > 0) {
            builder.keepAliveTime(config.grpc().keepaliveIntervalMs(), TimeUnit.MILLISECONDS);
        }
        if (config.grpc().keepaliveTimeoutMs() > 0) {
            builder.keepAliveTimeout(config.grpc().keepaliveTimeoutMs(), TimeUnit.MILLISECONDS);
        }
        for (final String url : listen.subList(1, listen.size())) {
            builder.addListenAddress(address(url)); // one server, one negotiator: every URL serves both protocols
        }
        final String inProcessName = "cairn-" + config.name() + "-" + System.identityHashCode(this);
        final InProcessServerBuilder local = InProcessServerBuilder.forName(inProcessName).executor(node.executor())
            .maxInboundMessageSize(config.node().limits().grpcMessageBytesMax());
        final AuthStore auth = new AuthStore(node, config.auth());
        this.inProcessChannel = InProcessChannelBuilder.forName(inProcessName).directExecutor()
            .maxInboundMessageSize(config.node().limits().grpcMessageBytesMax()).build();
        // Locks and elections are etcd's recipes over the member's own KV and Watch, called in process (with the
        // caller's token, so its permissions apply); health answers SERVING while the member knows a leader.
        final HealthStatusManager health = new HealthStatusManager();
        health.setStatus("", io.grpc.health.v1.HealthCheckResponse.ServingStatus.NOT_SERVING);
        embedded.addListener(new io.cairn.embedded.NodeListener() {
            private int known;

            @Override
            public synchronized void onLeaderChange(final int role, final long term, final int leaderId) {
                if (leaderId == known) {
                    return;
                }
                known = leaderId;
                // etcd's "raft.node: ... elected leader ... at term ..." / "lost leader".
                LOG.log(System.Logger.Level.INFO, leaderId != 0
                    ? "raft.node: " + Long.toHexString(embedded.memberIdOf(embedded.selfId())) + " elected leader "
                        + Long.toHexString(embedded.memberIdOf(leaderId)) + " at term " + term
                    : "raft.node: " + Long.toHexString(embedded.memberIdOf(embedded.selfId())) + " lost leader at term "
                        + term);
                health.setStatus("", leaderId != 0 ? io.grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING
                    : io.grpc.health.v1.HealthCheckResponse.ServingStatus.NOT_SERVING);
            }
        });
        final WatchService watchService = new WatchService(node, auth);
        final io.grpc.ServerServiceDefinition watch = io.grpc.ServerInterceptors.intercept(watchService,
            WatchService.REQUIRE_LEADER_METADATA);
        builder.addService(watch);
        local.addService(watch);
        for (final BindableService service : List.of(new KvService(node, auth),
            new ClusterService(node), new MaintenanceService(node, auth), new AuthService(node, auth),
            new LockService(inProcessChannel), new ElectionService(inProcessChannel), health.getHealthService())) {
            builder.addService(service);
            local.addService(service);
        }
        final io.grpc.ServerServiceDefinition lease = new LeaseService(node, auth).definition();
        // The client port's callers may name themselves by certificate (--client-cert-auth); the gateway's may not.
        this.metrics = new MemberMetrics(node.status());
        node.onDefragmented(metrics::defragmented);
        metrics.watches(watchService::watchers, watchService::streams);
        this.gateway = new HttpGateway(node.status(), metrics, inProcessChannel,
            2 * config.node().limits().grpcMessageBytesMax());
        // One port, two protocols, as etcd's: HTTP/2 (gRPC) or HTTP/1.1 (the gateway), decided per connection.
        builder.protocolNegotiator(new ClientPortProtocols(!config.clientHttps() ? null
            : peerTls == null ? tls.grpcServer() : tls.grpcServerAlsoTrusting(peerTls), gateway::install));
        this.grpc = builder.addService(lease).intercept(new AuthInterceptor(config.clientHttps()
            && config.clientTls().clientCertAuth(), auth)).intercept(new LearnerGuard(node))
            .intercept(metrics.grpcInterceptor()).build();
        this.inProcess = local.addService(lease).intercept(new AuthInterceptor(false, auth))
            .intercept(new LearnerGuard(node)).build();
    }

    private static List<String> tlsHosts(final Config config) {
        final List<String> hosts = new ArrayList<>();
        hosts.add(address(config.node().clientUrl()).getHostString());
        for (final String url : config.listenUrls()) {
            final String host = address(url).getHostString();
            if (!address(url).getAddress().isAnyLocalAddress() && !hosts.contains(host)) {
                hosts.add(host);
            }
        }
        if (config.httpUrl() != null) {
            hosts.add(address(config.httpUrl()).getHostString());
        }
        for (final String url : config.metricsUrls()) {
            hosts.add(address(url).getHostString());
        }
        return hosts;
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
            if (config.compaction().enabled()) {
                server.node.everySecond(new AutoCompactor(server.node, config.compaction(),
                    System::currentTimeMillis));
            }
            server.node.node().start(error -> {
                LOG.log(System.Logger.Level.ERROR, "member " + config.name() + " stopped on an error", error);
                Runtime.getRuntime().halt(70);
            });
            server.grpc.start();
            server.inProcess.start();
            if (config.httpUrl() != null) {
                server.listeners.add(server.gateway.listen(server.grpcEventLoops, address(config.httpUrl()),
                    config.gatewayHttps() ? server.tls.grpcServer() : null, false));
            }
            for (final String url : config.metricsUrls()) {
                server.listeners.add(server.gateway.listen(server.grpcEventLoops, address(url),
                    Config.isHttps(url) ? server.tls.grpcServer() : null, true));
            }
            LOG.log(System.Logger.Level.INFO, "ready to serve client requests (member " + config.name() + ", "
                + config.node().clientUrl() + ")");
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
     * @return the JSON gateway's port: its own listener's ({@code --listen-http-urls}), or the client port.
     */
    public int httpPort() {
        return config.httpUrl() == null ? clientPort()
            : ((InetSocketAddress)listeners.get(0).localAddress()).getPort();
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
        listeners.forEach(listener -> listener.close().awaitUninterruptibly(2_000));
        grpc.shutdown();
        try {
            if (!grpc.awaitTermination(2, TimeUnit.SECONDS)) {
                grpc.shutdownNow();
            }
        } catch (final InterruptedException ex) {
            Thread.currentThread().interrupt();
            grpc.shutdownNow();
        }
        inProcessChannel.shutdownNow();
        inProcess.shutdownNow();
        node.close();
        grpcEventLoops.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(3_000);
    }
}
