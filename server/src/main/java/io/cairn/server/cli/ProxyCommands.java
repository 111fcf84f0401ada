package io.cairn.server.cli;

import io.cairn.server.proxy.GrpcProxy;
import io.cairn.server.proxy.TcpGateway;
import io.cairn.server.tls.TlsConfig;
import picocli.CommandLine;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * {@code ./cairn grpc-proxy start} and {@code ./cairn gateway start}, with etcd 3.4's flags (picocli: {@code --flag
 * value} and {@code --flag=value}; lists comma-separated). They run in the foreground until stopped (SIGTERM, Ctrl-C).
 * Flags etcd has for what Cairn does not do (DNS discovery, the experimental leasing and ordering layers, pprof) are
 * refused with a message rather than silently ignored.
 */
final class ProxyCommands {
    static final String PROXY_USAGE = """
        usage: ./cairn grpc-proxy start [flags]

          --endpoints A,B,...          the cluster's client endpoints (default 127.0.0.1:2379); the proxy follows
                                       the member list from there
          --listen-addr HOST:PORT      where clients connect (default 127.0.0.1:23790): gRPC, and /metrics, /health
          --advertise-client-url ADDR  what --resolver-prefix registers (default 127.0.0.1:23790)
          --resolver-prefix P          register under P/ADDR (leased) and list the group's proxies as MemberList
          --resolver-ttl S             the registration's lease, seconds (default 60 when 0)
          --namespace P                every key is P + the client's key; nothing outside P is reachable
          --cert, --key, --cacert      TLS toward the members; --insecure-skip-tls-verify trusts any member
          --cert-file, --key-file      TLS toward clients; --trusted-ca-file: clients need certificates from it
          --auto-tls                   TLS toward clients with a self-signed certificate (in --data-dir)
          --client-crl-file F          revoked client certificates
          --listen-cipher-suites S,... TLS 1.2 cipher suites toward clients
          --data-dir DIR               where --auto-tls keeps its certificate (default default.proxy)
          --metrics-addr URL           /metrics and /health on another address too
          --max-recv-bytes N           the largest request (default 2147483647)
          --max-send-bytes N           accepted for etcd's sake; answers are not cut
          --max-concurrent-streams N   streams per client connection
          --cache-max-age DURATION     Cairn: a serializable range at the latest revision is answered from the
                                       cache only while the answer is younger (default 1s; 0: never)
          --member-sync-interval D     Cairn: how often the member list is read (default 30s; 0: never)
          --debug                      debug logging
        """;
    static final String GATEWAY_USAGE = """
        usage: ./cairn gateway start [flags]

          --endpoints A,B,...      the cluster's client endpoints (default 127.0.0.1:2379)
          --listen-addr HOST:PORT  where clients connect (default 127.0.0.1:23790)
          --retry-delay DURATION   how long a member that refused a connection is set aside (default 1m0s)
        """;

    private ProxyCommands() {
    }

    /** etcd grpc-proxy start's flags. */
    @CommandLine.Command(name = "cairn grpc-proxy start")
    static final class ProxyFlags {
        @CommandLine.Option(names = "--endpoints", split = ",", defaultValue = "127.0.0.1:2379")
        List<String> endpoints;
        @CommandLine.Option(names = "--listen-addr", defaultValue = "127.0.0.1:23790")
        String listenAddr;
        @CommandLine.Option(names = "--advertise-client-url", defaultValue = "127.0.0.1:23790")
        String advertiseClientUrl;
        @CommandLine.Option(names = "--resolver-prefix", defaultValue = "")
        String resolverPrefix;
        @CommandLine.Option(names = "--resolver-ttl", defaultValue = "0")
        long resolverTtl;
        @CommandLine.Option(names = "--namespace", defaultValue = "")
        String namespace;
        @CommandLine.Option(names = "--cert")
        Path cert;
        @CommandLine.Option(names = "--key")
        Path key;
        @CommandLine.Option(names = "--cacert")
        Path cacert;
        @CommandLine.Option(names = "--insecure-skip-tls-verify", arity = "0..1", fallbackValue = "true")
        boolean insecureSkipTlsVerify;
        @CommandLine.Option(names = "--cert-file")
        Path certFile;
        @CommandLine.Option(names = "--key-file")
        Path keyFile;
        @CommandLine.Option(names = "--trusted-ca-file")
        Path trustedCaFile;
        @CommandLine.Option(names = "--client-crl-file")
        Path clientCrlFile;
        @CommandLine.Option(names = "--auto-tls", arity = "0..1", fallbackValue = "true")
        boolean autoTls;
        @CommandLine.Option(names = "--listen-cipher-suites", split = ",")
        List<String> cipherSuites = List.of();
        @CommandLine.Option(names = "--data-dir", defaultValue = "default.proxy")
        Path dataDir;
        @CommandLine.Option(names = "--metrics-addr")
        String metricsAddr;
        @CommandLine.Option(names = "--max-recv-bytes", defaultValue = "2147483647")
        int maxRecvBytes;
        @CommandLine.Option(names = "--max-send-bytes", defaultValue = "1572864")
        int maxSendBytes;
        @CommandLine.Option(names = "--max-concurrent-streams", defaultValue = "4294967295")
        long maxConcurrentStreams;
        @CommandLine.Option(names = "--cache-max-age", defaultValue = "1s")
        String cacheMaxAge;
        @CommandLine.Option(names = "--member-sync-interval", defaultValue = "30s")
        String memberSyncInterval;
        @CommandLine.Option(names = "--debug", arity = "0..1", fallbackValue = "true")
        boolean debug;
        @CommandLine.Option(names = {"--discovery-srv", "--discovery-srv-name", "--experimental-leasing-prefix"})
        String unsupported;
        @CommandLine.Option(names = {"--insecure-discovery", "--experimental-serializable-ordering", "--enable-pprof"},
            arity = "0..1", fallbackValue = "true")
        boolean unsupportedSwitch;
        @CommandLine.Option(names = {"-h", "--help"}, usageHelp = true)
        boolean help;
    }

    /** etcd gateway start's flags. */
    @CommandLine.Command(name = "cairn gateway start")
    static final class GatewayFlags {
        @CommandLine.Option(names = "--endpoints", split = ",", defaultValue = "127.0.0.1:2379")
        List<String> endpoints;
        @CommandLine.Option(names = "--listen-addr", defaultValue = "127.0.0.1:23790")
        String listenAddr;
        @CommandLine.Option(names = "--retry-delay", defaultValue = "1m0s")
        String retryDelay;
        @CommandLine.Option(names = {"--discovery-srv", "--discovery-srv-name", "--trusted-ca-file"})
        String unsupported;
        @CommandLine.Option(names = "--insecure-discovery", arity = "0..1", fallbackValue = "true")
        boolean unsupportedSwitch;
        @CommandLine.Option(names = {"-h", "--help"}, usageHelp = true)
        boolean help;
    }

    /**
     * @param args after {@code grpc-proxy start}.
     * @param out  where it says it runs.
     * @param err  errors and usage.
     * @return the exit status (after a stop).
     */
    static int grpcProxy(final String[] args, final PrintStream out, final PrintStream err) {
        final ProxyFlags flags = new ProxyFlags();
        final GrpcProxy.Config config;
        try {
            new CommandLine(flags).parseArgs(args);
            if (flags.help) {
                out.print(PROXY_USAGE);
                return 0;
            }
            if (flags.unsupported != null || flags.unsupportedSwitch) {
                throw new IllegalArgumentException(String.join(", ", java.util.Arrays.stream(args)
                    .map(arg -> arg.split("=", 2)[0]).filter(name -> name.contains("discovery")
                        || name.contains("experimental") || name.contains("pprof")).toList())
                    + ": not supported by Cairn's grpc-proxy (DNS discovery, the experimental leasing and ordering"
                    + " layers and pprof are etcd's alone); give --endpoints");
            }
            if (flags.debug) {
                Logging.configure(Map.of("debug", "true"));
            }
            config = new GrpcProxy.Config(flags.endpoints, flags.listenAddr, flags.advertiseClientUrl,
                flags.resolverPrefix, flags.resolverTtl, flags.namespace, flags.cert, flags.key, flags.cacert,
                flags.insecureSkipTlsVerify, new TlsConfig(flags.certFile, flags.keyFile, flags.trustedCaFile,
                    flags.trustedCaFile != null, flags.clientCrlFile, flags.autoTls, flags.cipherSuites),
                flags.dataDir, flags.metricsAddr, flags.maxRecvBytes, flags.maxConcurrentStreams,
                MemberFlags.durationMs("cache-max-age", flags.cacheMaxAge, 1_000),
                MemberFlags.durationMs("member-sync-interval", flags.memberSyncInterval, 30_000));
        } catch (final CommandLine.ParameterException | IllegalArgumentException ex) {
            err.println("cairn grpc-proxy: " + ex.getMessage());
            err.print(PROXY_USAGE);
            return 2;
        }
        final GrpcProxy proxy;
        try {
            proxy = GrpcProxy.start(config);
        } catch (final Exception ex) {
            err.println("cairn grpc-proxy: cannot start: " + ex.getMessage());
            return 1;
        }
        out.println("cairn grpc-proxy: serving etcd v3 on " + config.listenAddr() + " (port " + proxy.port()
            + ") for " + String.join(",", proxy.endpoints())
            + (config.namespace().isEmpty() ? "" : ", namespace " + config.namespace())
            + (config.resolverPrefix().isEmpty() ? "" : ", registered under " + config.resolverPrefix()));
        out.flush();
        return untilStopped(proxy);
    }

    /**
     * @param args after {@code gateway start}.
     * @param out  where it says it runs.
     * @param err  errors and usage.
     * @return the exit status (after a stop).
     */
    static int gateway(final String[] args, final PrintStream out, final PrintStream err) {
        final GatewayFlags flags = new GatewayFlags();
        final long retryDelayMs;
        try {
            new CommandLine(flags).parseArgs(args);
            if (flags.help) {
                out.print(GATEWAY_USAGE);
                return 0;
            }
            if (flags.unsupported != null || flags.unsupportedSwitch) {
                throw new IllegalArgumentException("DNS discovery is not supported by Cairn's gateway; give"
                    + " --endpoints");
            }
            retryDelayMs = MemberFlags.durationMs("retry-delay", flags.retryDelay, 60_000);
        } catch (final CommandLine.ParameterException | IllegalArgumentException ex) {
            err.println("cairn gateway: " + ex.getMessage());
            err.print(GATEWAY_USAGE);
            return 2;
        }
        final TcpGateway gateway;
        try {
            gateway = TcpGateway.start(flags.endpoints, flags.listenAddr, retryDelayMs);
        } catch (final Exception ex) {
            err.println("cairn gateway: cannot start: " + ex.getMessage());
            return 1;
        }
        out.println("cairn gateway: listening on " + flags.listenAddr + " (port " + gateway.port() + ") for "
            + String.join(",", flags.endpoints));
        out.flush();
        return untilStopped(gateway);
    }

    private static int untilStopped(final AutoCloseable running) {
        final CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                running.close();
            } catch (final Exception ex) {
                // Stopping anyway.
            }
            stopped.countDown();
        }, "cairn-proxy-stop"));
        try {
            stopped.await();
        } catch (final InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
        return 0;
    }
}
