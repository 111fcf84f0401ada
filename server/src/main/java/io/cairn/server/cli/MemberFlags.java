package io.cairn.server.cli;

import io.cairn.server.CairnMember;
import io.cairn.server.grpc.AutoCompactor;
import io.cairn.embedded.NodeConfig;
import io.cairn.embedded.cluster.EtcdIds;
import io.cairn.embedded.cluster.Topology;
import io.cairn.server.auth.AuthConfig;
import io.cairn.server.tls.TlsConfig;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code cairn member}'s flags, etcd's ({@link EtcdFlags}: the command line, {@code ETCD_*} and {@code CAIRN_*}
 * variables, or {@code --config-file}), turned into a member's configuration. Defaults are etcd's: name
 * {@code default}, data in {@code <name>.cairn}, clients on {@code http://127.0.0.1:2379}, peers on
 * {@code http://127.0.0.1:2380}, a one-member cluster of itself.
 */
final class MemberFlags {
    /** One number and unit of a Go duration. */
    private static final Pattern DURATION_PART = Pattern.compile("(\\d+(?:\\.\\d+)?)(ms|s|m|h)");
    private MemberFlags() {
    }

    /**
     * @param args flags ({@code --flag value}, {@code --flag=value}, or a bare boolean flag).
     * @param env  the environment.
     * @return the member's configuration.
     * @throws IllegalArgumentException for an unknown or malformed flag.
     */
    static CairnMember.Config parse(final String[] args, final Map<String, String> env) {
        final List<String> warnings = new java.util.ArrayList<>();
        final Map<String, String> flags = EtcdFlags.read(args, env, warnings);
        for (final String warning : warnings) {
            System.getLogger(MemberFlags.class.getName()).log(System.Logger.Level.WARNING, warning);
        }
        final String name = flags.getOrDefault("name", "default");
        final String listen = flags.getOrDefault("listen-client-urls", "http://127.0.0.1:2379");
        // The URL published to the cluster and to clients: --advertise-client-urls, else the first listen URL.
        final String client = first(flags.getOrDefault("advertise-client-urls", listen));
        if (wildcard(client)) {
            throw new IllegalArgumentException("--advertise-client-urls is required when --listen-client-urls is "
                + listen + " (clients and members cannot connect to " + host(client) + ")");
        }
        // The peer port binds the first listen peer URL (0.0.0.0: every interface); the cluster knows this member by
        // its advertised peer URL, else by that listen URL.
        final String listenPeers = flags.getOrDefault("listen-peer-urls", "http://127.0.0.1:2380");
        final String listenPeer = first(listenPeers);
        if (listenPeers.contains(",")) {
            System.getLogger(MemberFlags.class.getName()).log(System.Logger.Level.WARNING, "--listen-peer-urls "
                + listenPeers + ": Cairn's peer port binds one address, the first (" + listenPeer + "); give"
                + " 0.0.0.0 to listen on every interface");
        }
        final String peer = first(flags.getOrDefault("initial-advertise-peer-urls", listenPeer));
        if (wildcard(peer)) {
            throw new IllegalArgumentException("--initial-advertise-peer-urls is required when --listen-peer-urls is "
                + listenPeer + " (members cannot connect to " + host(peer) + ")");
        }
        final String cluster = flags.getOrDefault("initial-cluster", name + "=" + peer);
        String clients = flags.get("initial-cluster-clients");
        if (clients == null && !cluster.contains(",")) {
            clients = name + "=" + client;
        }
        final String state = flags.getOrDefault("initial-cluster-state", "new");
        if (!"new".equals(state) && !"existing".equals(state)) {
            throw new IllegalArgumentException("--initial-cluster-state must be new or existing, not " + state);
        }
        final TlsConfig tls = clientTls(flags, client);
        final TlsConfig peerTls = peerTls(flags, listenPeer);
        final String token = flags.getOrDefault("initial-cluster-token", EtcdIds.TOKEN_DEFAULT);
        final Topology ordered = Topology.parse(cluster, clients, token);
        final Topology.Member self = ordered.byName(name);
        if (self == null) {
            throw new IllegalArgumentException("--name " + name + " is not in --initial-cluster " + cluster);
        }
        if (!Topology.hostPort(self.peerUrl()).equals(Topology.hostPort(peer))) {
            throw new IllegalArgumentException("--initial-cluster gives " + name + " peer URL " + self.peerUrl()
                + " but " + (flags.containsKey("initial-advertise-peer-urls") ? "--initial-advertise-peer-urls"
                    : "--listen-peer-urls") + " is " + peer);
        }
        final NodeConfig node = NodeConfig.of(name, ordered, Path.of(flags.getOrDefault("data-dir", name + ".cairn")))
            .withClientUrl(client)
            .withJoining("existing".equals(state))
            .withDurable(!bool(flags, "unsafe-no-fsync"))
            .withSnapshotCount(number("snapshot-count", flags.getOrDefault("snapshot-count",
                Long.toString(NodeConfig.SNAPSHOT_COUNT_DEFAULT))))
            .withDiskReserveBytes(number("disk-reserve-bytes", flags.getOrDefault("disk-reserve-bytes",
                Long.toString(NodeConfig.DISK_RESERVE_DEFAULT))))
            .withCorruptCheckMs(durationMs("experimental-corrupt-check-time",
                flags.get("experimental-corrupt-check-time"), NodeConfig.CORRUPT_CHECK_DEFAULT_MS))
            .withWatchProgressNotifyMs(durationMs("experimental-watch-progress-notify-interval",
                flags.get("experimental-watch-progress-notify-interval"), NodeConfig.WATCH_PROGRESS_NOTIFY_DEFAULT_MS))
            .withLimits(limits(flags))
            .withPeerListen(Topology.hostPort(listenPeer).equals(Topology.hostPort(peer)) ? null
                : Topology.hostPort(listenPeer));
        final String metrics = flags.getOrDefault("metrics", "basic");
        if (!"basic".equals(metrics) && !"extensive".equals(metrics)) {
            throw new IllegalArgumentException("--metrics must be basic or extensive, not " + metrics);
        }
        return new CairnMember.Config(node, listen,
            flags.containsKey("listen-http-urls") ? first(flags.get("listen-http-urls")) : null,
            flags.get("listen-metrics-urls"), tls,
            listenPeer.startsWith("https://") ? peerTls : TlsConfig.NONE, AuthConfig.parse(
                flags.getOrDefault("auth-token", "simple"), (int)number("bcrypt-cost",
                    flags.getOrDefault("bcrypt-cost", "10")), number("auth-token-ttl",
                    flags.getOrDefault("auth-token-ttl", "300")),
                ttl -> durationMs("auth-token", ttl, 0)), compaction(flags), grpc(flags));
    }

    /** etcd's gRPC flags ({@code math.MaxUint32}, etcd's help's default, reads as no limit). */
    private static CairnMember.GrpcSettings grpc(final Map<String, String> flags) {
        final CairnMember.GrpcSettings defaults = CairnMember.GrpcSettings.DEFAULTS;
        final String streams = flags.getOrDefault("max-concurrent-streams", "math.MaxUint32").trim();
        final long maxStreams = "math.MaxUint32".equals(streams) ? defaults.maxConcurrentStreams()
            : number("max-concurrent-streams", streams);
        if (maxStreams < 1) {
            throw new IllegalArgumentException("--max-concurrent-streams must be at least 1, not " + streams);
        }
        return new CairnMember.GrpcSettings(maxStreams,
            durationMs("grpc-keepalive-min-time", flags.get("grpc-keepalive-min-time"),
                defaults.keepaliveMinTimeMs()),
            durationMs("grpc-keepalive-interval", flags.get("grpc-keepalive-interval"),
                defaults.keepaliveIntervalMs()),
            durationMs("grpc-keepalive-timeout", flags.get("grpc-keepalive-timeout"),
                defaults.keepaliveTimeoutMs()));
    }

    /**
     * etcd's auto compaction flags: periodic retention is a duration (a bare number is hours, as etcd), revision
     * retention a count; 0 is off.
     */
    private static AutoCompactor.Settings compaction(final Map<String, String> flags) {
        final String mode = flags.getOrDefault("auto-compaction-mode", "periodic").trim();
        final String retention = flags.getOrDefault("auto-compaction-retention", "0").trim();
        return switch (mode) {
            case "periodic" -> new AutoCompactor.Settings(AutoCompactor.Mode.PERIODIC,
                retention.matches("\\d+") ? number("auto-compaction-retention", retention) * 3_600_000L
                    : durationMs("auto-compaction-retention", retention, 0));
            case "revision" -> new AutoCompactor.Settings(AutoCompactor.Mode.REVISION,
                number("auto-compaction-retention", retention));
            default -> throw new IllegalArgumentException("unknown auto-compaction-mode " + mode
                + " (periodic or revision)");
        };
    }

    /** etcd's timing and size flags, checked as etcd checks them ({@link NodeConfig.Limits}). */
    private static NodeConfig.Limits limits(final Map<String, String> flags) {
        final NodeConfig.Limits defaults = NodeConfig.Limits.DEFAULTS;
        final long quota = number("quota-backend-bytes", flags.getOrDefault("quota-backend-bytes", "0"));
        if (quota < 0) {
            throw new IllegalArgumentException("--quota-backend-bytes must not be negative, not " + quota);
        }
        if (quota > 8L << 30) {
            System.getLogger(MemberFlags.class.getName()).log(System.Logger.Level.WARNING, "quota-backend-bytes "
                + quota + " exceeds maximum recommended quota-backend-bytes " + (8L << 30) + " (as etcd warns)");
        }
        return new NodeConfig.Limits(
            number("heartbeat-interval", flags.getOrDefault("heartbeat-interval",
                Long.toString(defaults.heartbeatMs()))),
            number("election-timeout", flags.getOrDefault("election-timeout", Long.toString(defaults.electionMs()))),
            quota == 0 ? defaults.quotaBytes() : quota,
            Math.toIntExact(Math.min(Integer.MAX_VALUE, number("max-request-bytes", flags.getOrDefault(
                "max-request-bytes", Integer.toString(defaults.requestBytesMax()))))),
            Math.toIntExact(Math.min(Integer.MAX_VALUE, number("max-txn-ops", flags.getOrDefault("max-txn-ops",
                Integer.toString(defaults.txnOpsMax()))))));
    }

    /**
     * The peer side's TLS flags, checked against the peer URL's scheme as etcd does. Peers always present
     * certificates to each other (the sealed frames' keys are agreed over mutual TLS), with or without
     * {@code --peer-client-cert-auth}; it is accepted for etcd's command lines.
     */
    private static TlsConfig peerTls(final Map<String, String> flags, final String peerUrl) {
        bool(flags, "peer-client-cert-auth"); // checked for its syntax; in force either way
        final TlsConfig tls = new TlsConfig(path(flags, "peer-cert-file"), path(flags, "peer-key-file"),
            path(flags, "peer-trusted-ca-file"), false, path(flags, "peer-crl-file"),
            bool(flags, "peer-auto-tls"), List.of());
        return checkScheme(tls, peerUrl, "peer-");
    }

    /**
     * etcd's check of a URL against its side's certificate: {@code https://} without one (or auto TLS) is an error;
     * {@code http://} with one is plaintext, with a warning.
     */
    private static TlsConfig checkScheme(final TlsConfig tls, final String url, final String prefix) {
        final String side = prefix.isEmpty() ? "client" : "peer";
        final boolean https = url.startsWith("https://");
        if (https && !tls.canServe()) {
            throw new IllegalArgumentException("TLS key/cert (--" + prefix + "cert-file, --" + prefix + "key-file)"
                + " must be provided for " + side + " url " + url + " with HTTPS scheme");
        }
        if (!https && tls.canServe()) {
            System.getLogger(MemberFlags.class.getName()).log(System.Logger.Level.WARNING, "scheme is HTTP while "
                + (prefix.isEmpty() ? "" : "peer ") + "key and cert files are present; ignoring " + (prefix.isEmpty()
                ? "" : "peer ") + "key and cert files (" + side + " url " + url + ")" + (prefix.isEmpty() ? ""
                : ": peer frames are NOT authenticated"));
        }
        return tls;
    }

    /**
     * The client side's TLS flags, checked against the client URL's scheme as etcd does: {@code https://} without a
     * certificate (or {@code --auto-tls}) is an error; {@code http://} with one serves plaintext, with a warning.
     */
    private static TlsConfig clientTls(final Map<String, String> flags, final String clientUrl) {
        final String suites = flags.getOrDefault("cipher-suites", "").trim();
        final TlsConfig tls = new TlsConfig(path(flags, "cert-file"), path(flags, "key-file"),
            path(flags, "trusted-ca-file"), bool(flags, "client-cert-auth"), path(flags, "client-crl-file"),
            bool(flags, "auto-tls"), suites.isEmpty() ? List.of() : List.of(suites.split("\\s*,\\s*")));
        return checkScheme(tls, clientUrl, "");
    }

    private static Path path(final Map<String, String> flags, final String flag) {
        final String value = flags.get(flag);
        return value == null || value.isBlank() ? null : Path.of(value.trim());
    }

    private static boolean bool(final Map<String, String> flags, final String flag) {
        final String value = flags.getOrDefault(flag, "false").trim();
        if (!"true".equals(value) && !"false".equals(value)) {
            throw new IllegalArgumentException("--" + flag + ": true or false, not " + value);
        }
        return "true".equals(value);
    }

    private static long number(final String flag, final String value) {
        try {
            return Long.parseLong(value.trim());
        } catch (final NumberFormatException ex) {
            throw new IllegalArgumentException("--" + flag + ": not a number: " + value);
        }
    }

    /**
     * Go's {@code time.ParseDuration} for the units etcd's flags use ({@code ms}, {@code s}, {@code m}, {@code h},
     * combined as {@code 1h30m}, fractions as {@code 1.5s}); a bare 0 is zero.
     */
    static long durationMs(final String flag, final String value, final long defaultMs) {
        if (value == null) {
            return defaultMs;
        }
        final String text = value.trim();
        if ("0".equals(text)) {
            return 0;
        }
        final Matcher part = DURATION_PART.matcher(text);
        double ms = 0;
        int end = 0;
        while (part.find() && part.start() == end) {
            final double amount = Double.parseDouble(part.group(1));
            ms += switch (part.group(2)) {
                case "ms" -> amount;
                case "s" -> amount * 1_000;
                case "m" -> amount * 60_000;
                default -> amount * 3_600_000;
            };
            end = part.end();
        }
        if (end == 0 || end != text.length()) {
            throw new IllegalArgumentException("--" + flag + ": not a duration (like 30s, 5m, 1h30m): " + value);
        }
        return Math.round(ms);
    }

    private static String host(final String url) {
        final String hostPort = Topology.hostPort(url);
        return hostPort.substring(0, hostPort.lastIndexOf(':'));
    }

    /** A URL naming every interface: a place to listen, not one to connect to. */
    private static boolean wildcard(final String url) {
        final String host = host(url);
        return host.equals("0.0.0.0") || host.equals("[::]") || host.equals("::");
    }

    private static String first(final String urls) {
        return urls.split(",")[0].trim();
    }
}
