package io.cairn.server.cli;

import io.cairn.server.CairnMember;
import io.cairn.embedded.NodeConfig;
import io.cairn.embedded.cluster.Topology;
import io.cairn.server.auth.AuthConfig;
import io.cairn.server.tls.TlsConfig;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code cairn member}'s flags, named as etcd's, each also readable from the environment as {@code CAIRN_*} (flag
 * name upper-cased, dashes as underscores: {@code --data-dir} is {@code CAIRN_DATA_DIR}); a flag wins over its
 * variable. Defaults are etcd's: name {@code default}, data in {@code <name>.cairn}, clients on
 * {@code http://127.0.0.1:2379}, peers on {@code http://127.0.0.1:2380}, a one-member cluster of itself.
 */
final class MemberFlags {
    static final Set<String> KNOWN = Set.of("name", "data-dir", "listen-client-urls", "advertise-client-urls",
        "listen-peer-urls", "initial-advertise-peer-urls", "initial-cluster", "initial-cluster-clients",
        "initial-cluster-state", "initial-cluster-token", "unsafe-no-fsync", "listen-http-urls", "listen-metrics-urls",
        "snapshot-count",
        "disk-reserve-bytes", "experimental-corrupt-check-time", "cert-file", "key-file", "trusted-ca-file",
        "client-cert-auth", "client-crl-file", "auto-tls", "cipher-suites", "peer-cert-file", "peer-key-file",
        "peer-trusted-ca-file", "peer-client-cert-auth", "peer-crl-file", "peer-auto-tls", "auth-token",
        "bcrypt-cost", "auth-token-ttl", "logger", "log-level", "experimental-watch-progress-notify-interval");
    /** Flags that may stand alone ({@code --auto-tls}) or take {@code =true|false}, as Go's booleans. */
    static final Set<String> BOOLEAN = Set.of("unsafe-no-fsync", "client-cert-auth", "auto-tls",
        "peer-client-cert-auth", "peer-auto-tls");
    /** One number and unit of a Go duration. */
    private static final Pattern DURATION_PART = Pattern.compile("(\\d+(?:\\.\\d+)?)(ms|s|m|h)");
    static final String USAGE = """
        usage: ./cairn member [FLAGS]   (each flag also as CAIRN_<FLAG>, e.g. CAIRN_DATA_DIR)

          --name NAME                       this member's name in --initial-cluster (default: default)
          --data-dir DIR                    its files: wal/, kv/, snapshots/ (default: NAME.cairn)
          --listen-client-urls URL          etcd v3 gRPC for clients (default: http://127.0.0.1:2379)
          --advertise-client-urls URL       accepted for etcd compatibility (the listen URL is advertised)
          --listen-http-urls URL            etcd's JSON gateway, /health, /metrics on a port of their own too
                                            (they are always on the client port, beside gRPC, as etcd's)
          --listen-metrics-urls URL         /metrics and /health alone on another port (etcd's flag)
          --listen-peer-urls URL            Raft over Aeron UDP at this host:port (default: http://127.0.0.1:2380)
          --initial-advertise-peer-urls URL accepted for etcd compatibility
          --initial-cluster N=URL,...       every member's peer URL (a member's ID is a hash of its peer
                                            host:port) (default: NAME=<listen-peer-url>)
          --initial-cluster-clients N=URL,...
                                            every member's client URL at the first start, so followers can
                                            forward writes to the leader at once (Cairn's own flag; members
                                            also publish their client URLs through Raft, as etcd's do)
          --initial-cluster-state new|existing
                                            new: bootstrap a new cluster from --initial-cluster; existing: join
                                            a running cluster after `etcdctl member add` (with no data yet the
                                            member waits for the leader to send it the log or a snapshot)
          With a data directory that holds files, the configuration in it wins over both flags, as in etcd.
          --initial-cluster-token TOKEN     mixed into the cluster ID
          --snapshot-count N                applied entries between snapshots; the log keeps N/2 behind the
                                            latest for followers slightly behind (default: 100000, etcd's).
                                            A snapshot copies the keyspace: beyond 64 MiB it also waits until
                                            the log since the last one is as large as the keyspace
          --disk-reserve-bytes N            below N bytes free on the data directory's disk, raise the NOSPACE
                                            alarm (writes refused cluster-wide, reads go on) and disarm it at
                                            2N free; 0 turns the guard off (default: 134217728, 128 MiB)
          --experimental-corrupt-check-time DURATION
                                            how often each follower compares its keyspace hash with the
                                            leader's at the same revision; a mismatch raises the CORRUPT alarm
                                            (every write refused cluster-wide until `etcdctl alarm disarm`).
                                            Go's duration syntax: 30s, 5m, 1h30m; 0 turns it off (default: 5m;
                                            etcd's default is off)
          --experimental-watch-progress-notify-interval DURATION
                                            a watch that asked for progress notifications gets one after this
                                            long without a response (default: 10m, etcd's)
          --unsafe-no-fsync                 never sync the WAL (measuring only: loses data on power failure)
          --logger capnslog|zap             one text line per event (default), or zap's JSON lines (level, ts,
                                            caller, msg), on stderr; Cairn's, gRPC's, Chronicle's and Netty's
          --log-level debug|info|warn|error|panic|fatal
                                            the least severe level written (default: info)

        Client TLS (the gRPC port and the JSON gateway; https:// client URLs need a certificate):
          --cert-file FILE, --key-file FILE the certificate (PEM, leaf first) and its key (PKCS#8, PKCS#1 or
                                            EC); both are read again when they change
          --trusted-ca-file FILE            the CAs client certificates must chain to
          --client-cert-auth                clients must present a certificate from --trusted-ca-file's CAs
          --client-crl-file FILE            client certificates revoked (PEM CRLs), read again on change
          --auto-tls                        no certificate given: make a self-signed one in
                                            DATA_DIR/fixtures/client (clients then skip verification)
          --cipher-suites S1,S2             TLS 1.2 cipher suites allowed (IANA names); with it, TLS 1.2 only

        Peer TLS (https:// peer URLs need a certificate): members agree keys over mutual TLS on the peer
        host:port (TCP) and seal every Raft frame (AES-256-GCM); a frame nobody with the key made is dropped.
          --peer-cert-file FILE, --peer-key-file FILE
                                            this member's peer certificate (it must name the peer URL's host,
                                            IP or DNS, and serve for both TLS server and client) and its key
          --peer-trusted-ca-file FILE       the CAs other members' peer certificates must chain to
          --peer-client-cert-auth           accepted; always in force (keys are agreed over mutual TLS)
          --peer-crl-file FILE              peer certificates revoked (PEM CRLs), read again on change
          --peer-auto-tls                   no peer certificate given: make a self-signed one in
                                            DATA_DIR/fixtures/peer (encrypts, but any certificate is accepted)

        Authentication (etcdctl auth enable, user, role; off until enabled):
          --auth-token simple|jwt,pub-key=FILE,priv-key=FILE,sign-method=ALG[,ttl=5m]
                                            simple: opaque tokens valid on every member (default); jwt: signed
                                            tokens (RS*, PS*, ES* with PEM keys; HS* with priv-key's bytes)
          --bcrypt-cost N                   bcrypt cost of new passwords, 4..31 (default: 10)
          --auth-token-ttl SECONDS          a simple token lives this long after its last use (default: 300)
        """;

    private MemberFlags() {
    }

    /**
     * @param args flags ({@code --flag value}, {@code --flag=value}, or a bare boolean flag).
     * @param env  the environment.
     * @return the member's configuration.
     * @throws IllegalArgumentException for an unknown or malformed flag.
     */
    static CairnMember.Config parse(final String[] args, final Map<String, String> env) {
        final Map<String, String> flags = new HashMap<>();
        for (final String flag : KNOWN) {
            final String value = env.get("CAIRN_" + flag.toUpperCase(Locale.ROOT).replace('-', '_'));
            if (value != null) {
                flags.put(flag, value);
            }
        }
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument '" + args[i] + "'");
            }
            String name = args[i].substring(2);
            final String value;
            final int equals = name.indexOf('=');
            if (equals >= 0) {
                value = name.substring(equals + 1);
                name = name.substring(0, equals);
            } else if (BOOLEAN.contains(name)) {
                value = "true";
            } else if (i + 1 < args.length) {
                value = args[++i];
            } else {
                throw new IllegalArgumentException("--" + name + " needs a value");
            }
            if (!KNOWN.contains(name)) {
                throw new IllegalArgumentException("unknown flag --" + name);
            }
            flags.put(name, value);
        }
        final String name = flags.getOrDefault("name", "default");
        final String client = first(flags.getOrDefault("listen-client-urls", "http://127.0.0.1:2379"));
        final String peer = first(flags.getOrDefault("listen-peer-urls", "http://127.0.0.1:2380"));
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
        final TlsConfig peerTls = peerTls(flags, peer);
        final String token = flags.getOrDefault("initial-cluster-token", "");
        final Topology parsed = Topology.parse(cluster, clients);
        final Topology ordered = new Topology(parsed.members(), parsed.clusterId() ^ token.hashCode());
        final Topology.Member self = ordered.byName(name);
        if (self == null) {
            throw new IllegalArgumentException("--name " + name + " is not in --initial-cluster " + cluster);
        }
        if (!Topology.hostPort(self.peerUrl()).equals(Topology.hostPort(peer))) {
            throw new IllegalArgumentException("--initial-cluster gives " + name + " peer URL " + self.peerUrl()
                + " but --listen-peer-urls is " + peer);
        }
        return new CairnMember.Config(new NodeConfig(name, ordered,
            Path.of(flags.getOrDefault("data-dir", name + ".cairn")), client, "existing".equals(state),
            !bool(flags, "unsafe-no-fsync"),
            number("snapshot-count", flags.getOrDefault("snapshot-count",
                Long.toString(NodeConfig.SNAPSHOT_COUNT_DEFAULT))),
            number("disk-reserve-bytes", flags.getOrDefault("disk-reserve-bytes",
                Long.toString(NodeConfig.DISK_RESERVE_DEFAULT))), null,
            durationMs("experimental-corrupt-check-time", flags.get("experimental-corrupt-check-time"),
                NodeConfig.CORRUPT_CHECK_DEFAULT_MS), null,
            durationMs("experimental-watch-progress-notify-interval",
                flags.get("experimental-watch-progress-notify-interval"), NodeConfig.WATCH_PROGRESS_NOTIFY_DEFAULT_MS)),
            flags.containsKey("listen-http-urls") ? first(flags.get("listen-http-urls")) : null,
            flags.containsKey("listen-metrics-urls") ? first(flags.get("listen-metrics-urls")) : null, tls,
            peer.startsWith("https://") ? peerTls : TlsConfig.NONE, AuthConfig.parse(
                flags.getOrDefault("auth-token", "simple"), (int)number("bcrypt-cost",
                    flags.getOrDefault("bcrypt-cost", "10")), number("auth-token-ttl",
                    flags.getOrDefault("auth-token-ttl", "300")),
                ttl -> durationMs("auth-token", ttl, 0)));
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

    private static String first(final String urls) {
        return urls.split(",")[0].trim();
    }
}
