package io.cairn.server.cli;

import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Every flag of etcd 3.4's {@code etcd --help}, under the same name, and Cairn's own few: where a member's settings
 * come from, as etcd reads them. The command line (parsed by picocli, as Go's flag package takes it: {@code --flag
 * value}, {@code --flag=value}, a bare boolean, one dash or two); each flag also as {@code ETCD_<FLAG>} in the
 * environment (upper case, dashes as underscores), and as {@code CAIRN_<FLAG>} (older name); a flag given on the
 * command line shadows its variable. Or {@code --config-file}: etcd's YAML configuration file, and then, as etcd,
 * every other flag and variable is ignored.
 *
 * <p>Each flag is one of: Cairn's (it does what etcd's does), ignored (it has no meaning for Cairn: given a value
 * other than its default, one warning line says why), or refused (it would change what the member is, and Cairn does
 * not do it: given a value other than its default, the member does not start, and says why).
 */
final class EtcdFlags {
    /** How Cairn takes a flag. */
    enum Use {
        /** Cairn does what etcd does with it. */
        CAIRN,
        /** No meaning for Cairn: accepted; a value other than the default gets one warning line. */
        IGNORED,
        /** Not done by Cairn, and it changes what the member is: a value other than the default stops the start. */
        REFUSED
    }

    /**
     * One flag.
     *
     * @param name     without dashes.
     * @param bool     a boolean: may stand alone ({@code --auto-tls}) or take {@code =true|false}.
     * @param value    the default, as {@code etcd --help} shows it ("" for none).
     * @param group    the heading it is listed under.
     * @param use      how Cairn takes it.
     * @param help     what it does (for Cairn), or why it is ignored or refused.
     */
    record Flag(String name, boolean bool, String value, String group, Use use, String help) {
        String env() {
            return name.toUpperCase(Locale.ROOT).replace('-', '_');
        }
    }

    private static final String MEMBER = "Member";
    private static final String CLUSTERING = "Clustering";
    private static final String SECURITY = "Security";
    private static final String AUTH = "Auth";
    private static final String LOGGING = "Logging and metrics";
    private static final String V2 = "v2 proxy (etcd's v2 API: not served by Cairn)";
    private static final String EXPERIMENTAL = "Experimental";
    private static final String CAIRN = "Cairn's own";
    private static final String NO_BBOLT = "Cairn's keyspace is LMDB, which commits each apply run: ";
    private static final String V2_PROXY_ONLY = "For the v2 proxy only.";
    private static final String NO_DISCOVERY = "Discovery is not supported.";
    private static final String V2_NOT_SERVED = "etcd's v2 API is not served by Cairn.";
    private static final String CERT_CHECK_MISSING = "Not supported yet: a member would accept %s certificates etcd"
        + " refuses.";

    static final List<Flag> FLAGS = List.of(
        flag("name", "default", MEMBER, Use.CAIRN, "Human-readable name for this member."),
        flag("data-dir", "${name}.cairn", MEMBER, Use.CAIRN,
            "Path to the data directory: wal/, kv/, snapshots/."),
        flag("wal-dir", "", MEMBER, Use.REFUSED,
            "A dedicated WAL directory: Cairn keeps its WAL in DATA_DIR/wal (link it elsewhere if you must)."),
        flag("snapshot-count", "100000", MEMBER, Use.CAIRN,
            "Applied entries between snapshots; the log keeps half of them behind the latest."),
        flag("heartbeat-interval", "100", MEMBER, Use.CAIRN, "Time (in milliseconds) of a heartbeat interval."),
        flag("election-timeout", "1000", MEMBER, Use.CAIRN,
            "Time (in milliseconds) for an election to timeout (at least 5 heartbeats, at most 50000)."),
        bool("initial-election-tick-advance", "true", MEMBER, Use.IGNORED,
            "Cairn's members pre-vote, so a fast first election needs no tick advance."),
        flag("listen-peer-urls", "http://127.0.0.1:2380", MEMBER, Use.CAIRN,
            "URL to listen on for peer traffic (Raft over Aeron UDP at its host:port, 0.0.0.0 for every interface; TCP"
                + " there too with peer TLS). Cairn binds the first."),
        flag("listen-client-urls", "http://127.0.0.1:2379", MEMBER, Use.CAIRN,
            "URL to listen on for client traffic: gRPC and the JSON gateway, /health, /metrics."),
        flag("max-snapshots", "5", MEMBER, Use.IGNORED,
            "Cairn keeps the snapshots it may still need (the latest, and one being sent) and deletes the rest."),
        flag("max-wals", "5", MEMBER, Use.IGNORED,
            "Cairn deletes WAL files as soon as a snapshot covers every entry in them."),
        flag("quota-backend-bytes", "0", MEMBER, Use.CAIRN,
            "Raise the NOSPACE alarm when the keyspace exceeds this size (0: 2 GiB, etcd's default)."),
        flag("backend-batch-interval", "", MEMBER, Use.IGNORED, NO_BBOLT + "there is no batch to bound."),
        flag("backend-batch-limit", "0", MEMBER, Use.IGNORED, NO_BBOLT + "there is no batch to bound."),
        flag("max-txn-ops", "128", MEMBER, Use.CAIRN, "Maximum number of operations permitted in a transaction."),
        flag("max-request-bytes", "1572864", MEMBER, Use.CAIRN,
            "Maximum client request size in bytes the server will accept (at most 10 MiB; entries, peer messages and"
                + " gRPC are sized from it)."),
        flag("max-concurrent-streams", "math.MaxUint32", MEMBER, Use.CAIRN,
            "Maximum concurrent streams that each client can open at a time."),
        flag("grpc-keepalive-min-time", "5s", MEMBER, Use.CAIRN,
            "Minimum duration interval that a client should wait before pinging server."),
        flag("grpc-keepalive-interval", "2h", MEMBER, Use.CAIRN,
            "Frequency duration of server-to-client ping to check if a connection is alive (0 to disable)."),
        flag("grpc-keepalive-timeout", "20s", MEMBER, Use.CAIRN,
            "Additional duration of wait before closing a non-responsive connection (0 to disable)."),
        flag("initial-advertise-peer-urls", "http://127.0.0.1:2380", CLUSTERING, Use.CAIRN,
            "This member's peer URL as the rest of the cluster knows it (checked against --initial-cluster; required"
                + " when --listen-peer-urls is 0.0.0.0)."),
        flag("initial-cluster", "default=http://127.0.0.1:2380", CLUSTERING, Use.CAIRN,
            "Initial cluster configuration for bootstrapping (NAME=PEER_URL,...)."),
        flag("initial-cluster-state", "new", CLUSTERING, Use.CAIRN, "Initial cluster state ('new' or 'existing')."),
        flag("initial-cluster-token", "etcd-cluster", CLUSTERING, Use.CAIRN,
            "Initial cluster token for the cluster during bootstrap (member and cluster IDs are computed from it and"
                + " the peer URLs, as etcd computes them)."),
        flag("advertise-client-urls", "http://127.0.0.1:2379", CLUSTERING, Use.CAIRN,
            "This member's client URL to advertise to the public (published through Raft)."),
        flag("discovery", "", CLUSTERING, Use.REFUSED, "Discovery bootstrap is not supported: give --initial-cluster."),
        flag("discovery-fallback", "proxy", CLUSTERING, Use.IGNORED, NO_DISCOVERY),
        flag("discovery-proxy", "", CLUSTERING, Use.IGNORED, NO_DISCOVERY),
        flag("discovery-srv", "", CLUSTERING, Use.REFUSED,
            "DNS SRV bootstrap is not supported: give --initial-cluster."),
        flag("discovery-srv-name", "", CLUSTERING, Use.IGNORED, NO_DISCOVERY),
        bool("strict-reconfig-check", "true", CLUSTERING, Use.IGNORED,
            "Cairn always refuses a reconfiguration that would lose quorum."),
        bool("pre-vote", "false", CLUSTERING, Use.IGNORED, "Cairn's members always pre-vote."),
        flag("auto-compaction-retention", "0", CLUSTERING, Use.CAIRN,
            "Auto compaction retention length. 0 means disable auto compaction."),
        flag("auto-compaction-mode", "periodic", CLUSTERING, Use.CAIRN,
            "Interpret 'auto-compaction-retention' one of: periodic|revision ('periodic': a duration, hours"
                + " without a unit; 'revision': a count of revisions)."),
        bool("enable-v2", "false", CLUSTERING, Use.REFUSED, V2_NOT_SERVED),
        flag("cert-file", "", SECURITY, Use.CAIRN, "Path to the client server TLS cert file (read again on change)."),
        flag("key-file", "", SECURITY, Use.CAIRN, "Path to the client server TLS key file (read again on change)."),
        bool("client-cert-auth", "false", SECURITY, Use.CAIRN, "Enable client cert authentication."),
        flag("client-crl-file", "", SECURITY, Use.CAIRN, "Path to the client certificate revocation list file."),
        flag("client-cert-allowed-hostname", "", SECURITY, Use.REFUSED,
            CERT_CHECK_MISSING.formatted("client")),
        flag("trusted-ca-file", "", SECURITY, Use.CAIRN, "Path to the client server TLS trusted CA cert file."),
        bool("auto-tls", "false", SECURITY, Use.CAIRN, "Client TLS using generated certificates."),
        flag("peer-cert-file", "", SECURITY, Use.CAIRN, "Path to the peer server TLS cert file."),
        flag("peer-key-file", "", SECURITY, Use.CAIRN, "Path to the peer server TLS key file."),
        bool("peer-client-cert-auth", "false", SECURITY, Use.CAIRN,
            "Enable peer client cert authentication (with peer TLS Cairn always requires it)."),
        flag("peer-trusted-ca-file", "", SECURITY, Use.CAIRN, "Path to the peer server TLS trusted CA file."),
        flag("peer-cert-allowed-cn", "", SECURITY, Use.REFUSED,
            CERT_CHECK_MISSING.formatted("peer")),
        flag("peer-cert-allowed-hostname", "", SECURITY, Use.REFUSED,
            CERT_CHECK_MISSING.formatted("peer")),
        bool("peer-auto-tls", "false", SECURITY, Use.CAIRN,
            "Peer TLS using self-generated certificates if --peer-key-file and --peer-cert-file are not provided."),
        flag("peer-crl-file", "", SECURITY, Use.CAIRN, "Path to the peer certificate revocation list file."),
        flag("cipher-suites", "", SECURITY, Use.CAIRN,
            "Comma-separated list of supported TLS cipher suites (IANA names; with it, TLS 1.2 only)."),
        flag("cors", "*", SECURITY, Use.IGNORED, "The JSON gateway sends no CORS headers (browsers' scripts are"
            + " refused cross-origin)."),
        flag("host-whitelist", "*", SECURITY, Use.REFUSED,
            "Not supported yet: the JSON gateway would answer hosts etcd refuses."),
        flag("auth-token", "simple", AUTH, Use.CAIRN,
            "'simple' or 'jwt,pub-key=FILE,priv-key=FILE,sign-method=ALG[,ttl=5m]'."),
        flag("bcrypt-cost", "10", AUTH, Use.CAIRN, "The bcrypt cost of passwords, 4 to 31."),
        flag("auth-token-ttl", "300", AUTH, Use.CAIRN, "Time (in seconds) of the auth-token-ttl."),
        bool("enable-pprof", "false", LOGGING, Use.IGNORED,
            "Go's profiler: profile a JVM with JFR instead (jcmd PID JFR.start)."),
        flag("metrics", "basic", LOGGING, Use.CAIRN,
            "'basic' or 'extensive' (Cairn always exports the histograms 'extensive' adds)."),
        flag("listen-metrics-urls", "", LOGGING, Use.CAIRN,
            "List of URLs to listen on for the metrics and health endpoints."),
        flag("logger", "capnslog", LOGGING, Use.CAIRN, "'zap' for JSON lines, or 'capnslog' for text lines."),
        flag("log-outputs", "default", LOGGING, Use.CAIRN, "'default' or 'stderr' (Cairn writes its logs there)."),
        flag("log-level", "info", LOGGING, Use.CAIRN, "debug, info, warn, error, panic, or fatal."),
        bool("debug", "false", LOGGING, Use.CAIRN, "Deprecated by etcd: the same as --log-level debug."),
        flag("log-package-levels", "", LOGGING, Use.IGNORED, "Deprecated by etcd: use --log-level."),
        flag("proxy", "off", V2, Use.REFUSED, "etcd's v2 proxy mode: use 'cairn grpc-proxy' once it exists."),
        flag("proxy-failure-wait", "5000", V2, Use.IGNORED, V2_PROXY_ONLY),
        flag("proxy-refresh-interval", "30000", V2, Use.IGNORED, V2_PROXY_ONLY),
        flag("proxy-dial-timeout", "1000", V2, Use.IGNORED, V2_PROXY_ONLY),
        flag("proxy-write-timeout", "5000", V2, Use.IGNORED, V2_PROXY_ONLY),
        flag("proxy-read-timeout", "0", V2, Use.IGNORED, V2_PROXY_ONLY),
        bool("experimental-initial-corrupt-check", "false", EXPERIMENTAL, Use.IGNORED,
            "Cairn checks every record of its WAL when it opens, and compares keyspace hashes once it runs."),
        flag("experimental-corrupt-check-time", "5m", EXPERIMENTAL, Use.CAIRN,
            "Duration of time between cluster corruption check passes (0: off; etcd's default is off)."),
        flag("experimental-enable-v2v3", "", EXPERIMENTAL, Use.REFUSED, V2_NOT_SERVED),
        flag("experimental-backend-bbolt-freelist-type", "array", EXPERIMENTAL, Use.IGNORED,
            "Cairn's keyspace is LMDB, not bbolt."),
        bool("experimental-enable-lease-checkpoint", "false", EXPERIMENTAL, Use.IGNORED,
            "Cairn's leases keep their time to live through leader changes as etcd's checkpoints do."),
        flag("experimental-compaction-batch-limit", "1000", EXPERIMENTAL, Use.IGNORED,
            "Cairn compacts in one keyspace transaction per apply run."),
        bool("experimental-peer-skip-client-san-verification", "false", EXPERIMENTAL, Use.IGNORED,
            "Cairn's peers check each other's certificates by CA only."),
        flag("experimental-watch-progress-notify-interval", "10m", EXPERIMENTAL, Use.CAIRN,
            "Duration of periodical watch progress notification."),
        flag("experimental-warning-apply-duration", "100ms", EXPERIMENTAL, Use.IGNORED,
            "Cairn warns of requests and apply runs over 100 ms."),
        bool("force-new-cluster", "false", EXPERIMENTAL, Use.REFUSED,
            "Not supported: restore a snapshot into a new cluster instead (cairn snapshot restore)."),
        flag("initial-cluster-clients", "", CAIRN, Use.CAIRN,
            "Every member's client URL at the first start (NAME=URL,...), so followers can forward writes at once."),
        flag("disk-reserve-bytes", "134217728", CAIRN, Use.CAIRN,
            "Below this many bytes free on the data directory's disk, raise NOSPACE (0: no guard)."),
        bool("unsafe-no-fsync", "false", CAIRN, Use.CAIRN, "Never sync the WAL (measuring only: loses data)."),
        flag("listen-http-urls", "", CAIRN, Use.CAIRN,
            "The JSON gateway, /health and /metrics on a port of their own too."));

    private EtcdFlags() {
    }

    private static Flag flag(final String name, final String value, final String group, final Use use,
        final String help) {
        return new Flag(name, false, value, group, use, help);
    }

    private static Flag bool(final String name, final String value, final String group, final Use use,
        final String help) {
        return new Flag(name, true, value, group, use, help);
    }

    private static Flag find(final String name) {
        for (final Flag flag : FLAGS) {
            if (flag.name().equals(name)) {
                return flag;
            }
        }
        return null;
    }

    /**
     * Reads a member's flags from the command line, the environment, or a configuration file.
     *
     * @param args     the command line.
     * @param env      the environment.
     * @param warnings receives one line per flag ignored, variable shadowed or unknown.
     * @return the flags given, by name (booleans as "true"/"false", lists comma-separated).
     * @throws IllegalArgumentException for an unknown flag, a malformed value or a refused flag.
     */
    static Map<String, String> read(final String[] args, final Map<String, String> env, final List<String> warnings) {
        final CommandSpec spec = CommandSpec.create();
        for (final Flag flag : FLAGS) {
            spec.addOption(OptionSpec.builder("--" + flag.name(), "-" + flag.name())
                .type(String.class).arity(flag.bool() ? "0..1" : "1").fallbackValue("true").build());
        }
        spec.addOption(OptionSpec.builder("--config-file", "-config-file").type(String.class).arity("1").build());
        spec.parser().overwrittenOptionsAllowed(true).unmatchedOptionsArePositionalParams(false);
        final CommandLine.ParseResult parsed;
        try {
            parsed = new CommandLine(spec).parseArgs(args);
        } catch (final CommandLine.ParameterException ex) {
            throw new IllegalArgumentException(ex.getMessage(), ex);
        }
        final Map<String, String> given = new LinkedHashMap<>();
        if (parsed.hasMatchedOption("--config-file")) {
            if (args.length > 2) {
                warnings.add("--config-file given: every other flag and environment variable is ignored, as etcd");
            }
            given.putAll(configFile(Path.of(parsed.<String>matchedOptionValue("--config-file", "")), warnings));
        } else {
            for (final Flag flag : FLAGS) {
                final String fromEnv = env.getOrDefault("ETCD_" + flag.env(), env.get("CAIRN_" + flag.env()));
                if (fromEnv != null) {
                    given.put(flag.name(), fromEnv);
                }
            }
            for (final Map.Entry<String, String> variable : env.entrySet()) {
                final String key = variable.getKey();
                if (key.startsWith("ETCD_") && !key.equals("ETCD_CONFIG_FILE") && !key.startsWith("ETCDCTL_")
                    && FLAGS.stream().noneMatch(flag -> key.equals("ETCD_" + flag.env()))) {
                    warnings.add("unrecognized environment variable " + key + "=" + variable.getValue());
                }
            }
            for (final Flag flag : FLAGS) {
                if (parsed.hasMatchedOption("--" + flag.name())) {
                    if (given.containsKey(flag.name())) {
                        warnings.add("recognized environment variable ETCD_" + flag.env() + ", but unused:"
                            + " shadowed by corresponding flag");
                    }
                    given.put(flag.name(), parsed.matchedOptionValue("--" + flag.name(), "true"));
                }
            }
        }
        for (final Map.Entry<String, String> entry : given.entrySet()) {
            final Flag flag = find(entry.getKey());
            final String value = entry.getValue().trim();
            if (flag.bool() && !"true".equals(value) && !"false".equals(value)) {
                throw new IllegalArgumentException("--" + flag.name() + ": true or false, not " + value);
            }
            if (flag.use() == Use.CAIRN || value.equals(flag.value()) || value.isEmpty()
                || flag.bool() && "false".equals(value) && !"true".equals(flag.value())) {
                continue;
            }
            if (flag.use() == Use.REFUSED) {
                throw new IllegalArgumentException("--" + flag.name() + "=" + value + " is not supported by Cairn: "
                    + flag.help());
            }
            warnings.add("--" + flag.name() + "=" + value + " is accepted and ignored: " + flag.help());
        }
        return given;
    }

    /**
     * etcd's YAML configuration file: the flags' names as keys, lists as YAML lists or comma-separated, and the two
     * TLS sections ({@code client-transport-security}, {@code peer-transport-security}).
     */
    static Map<String, String> configFile(final Path file, final List<String> warnings) {
        final Object document;
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            document = new Yaml(new SafeConstructor(new LoaderOptions())).load(reader);
        } catch (final IOException ex) {
            throw new IllegalArgumentException("--config-file " + file + ": " + ex.getMessage(), ex);
        } catch (final RuntimeException ex) {
            throw new IllegalArgumentException("--config-file " + file + ": not YAML: " + ex.getMessage(), ex);
        }
        if (!(document instanceof Map<?, ?> entries)) {
            throw new IllegalArgumentException("--config-file " + file + ": not a YAML mapping of etcd's settings");
        }
        final Map<String, String> flags = new LinkedHashMap<>();
        for (final Map.Entry<?, ?> entry : entries.entrySet()) {
            final String key = String.valueOf(entry.getKey());
            if (entry.getValue() == null) {
                continue;
            }
            if ("client-transport-security".equals(key) || "peer-transport-security".equals(key)) {
                final String prefix = key.startsWith("peer") ? "peer-" : "";
                if (!(entry.getValue() instanceof Map<?, ?> security)) {
                    throw new IllegalArgumentException("--config-file " + file + ": " + key + " is not a mapping");
                }
                for (final Map.Entry<?, ?> setting : security.entrySet()) {
                    final String name = String.valueOf(setting.getKey());
                    final String flag = switch (name) {
                        case "crl-file" -> prefix.isEmpty() ? "client-crl-file" : "peer-crl-file";
                        case "allowed-cn", "allowed-hostname" -> (prefix.isEmpty() ? "client-" : prefix) + "cert-"
                            + name;
                        default -> prefix + name;
                    };
                    put(flags, file, flag, setting.getValue(), warnings);
                }
                continue;
            }
            put(flags, file, key, entry.getValue(), warnings);
        }
        return flags;
    }

    private static void put(final Map<String, String> flags, final Path file, final String key, final Object value,
        final List<String> warnings) {
        if (value == null) {
            return;
        }
        if (find(key) == null) {
            warnings.add("--config-file " + file + ": unknown setting " + key + " ignored");
            return;
        }
        final String text;
        if (value instanceof List<?> list) {
            final List<String> items = new ArrayList<>();
            list.forEach(item -> items.add(String.valueOf(item)));
            text = String.join(",", items);
        } else {
            text = String.valueOf(value);
        }
        flags.put(key, text);
    }

    /**
     * @return {@code cairn member --help}: every flag by group, with its default, and what Cairn does with it.
     */
    static String usage() {
        final StringBuilder usage = new StringBuilder("""
            usage: ./cairn member [FLAGS]      (etcd's flags; each also as ETCD_<FLAG>, or CAIRN_<FLAG>)
                   ./cairn member --config-file FILE
                                               etcd's YAML configuration file; then, as etcd, every other flag and
                                               variable is ignored

            Flags marked (ignored) have no meaning for Cairn: given, they are accepted with one warning line.
            Flags marked (refused) are not done by Cairn: given a value, the member does not start.
            """);
        String group = "";
        for (final Flag flag : FLAGS) {
            if (!flag.group().equals(group)) {
                group = flag.group();
                usage.append('\n').append(group).append(":\n");
            }
            usage.append("  --").append(flag.name()).append(" '").append(flag.value()).append("'")
                .append(flag.use() == Use.IGNORED ? "  (ignored)" : flag.use() == Use.REFUSED ? "  (refused)" : "")
                .append('\n').append(wrap(flag.help()));
        }
        return usage.toString();
    }

    private static String wrap(final String text) {
        final StringBuilder out = new StringBuilder();
        StringBuilder line = new StringBuilder("     ");
        for (final String word : text.split(" ")) {
            if (line.length() + word.length() + 1 > 116) {
                out.append(line).append('\n');
                line = new StringBuilder("     ");
            }
            line.append(' ').append(word);
        }
        return out.append(line).append('\n').toString();
    }
}
