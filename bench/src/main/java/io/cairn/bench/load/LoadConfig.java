package io.cairn.bench.load;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One load run, parsed from the command line and validated: every limit is checked here, with a message naming the
 * option, so that a run never starts with a setting it cannot honour.
 */
public final class LoadConfig {
    /** {@link #ratePerSecond} of a closed loop: each client sends its next request when the last one is answered. */
    public static final long CLOSED_LOOP = 0;
    /** The key space is numbered; a key is its index in decimal, zero-padded to the key size. */
    static final int KEY_BYTES_MAX = 64 * 1024;
    /** etcd refuses requests over 1.5 MiB by default; leave room for the key and framing. */
    static final int VALUE_BYTES_MAX = 1536 * 1024;
    /** etcd's and Cairn's default limit on operations in one transaction branch. */
    static final int TXN_OPS_MAX = 128;
    static final int CONNECTIONS_MAX = 1024;
    static final int CLIENTS_MAX = 100_000;

    /** The text {@code load --help} prints. */
    public static final String USAGE = String.join("\n",
        "usage: java -jar bench/target/benchmarks.jar load --endpoints HOST:PORT[,HOST:PORT...] [options]",
        "  --workload put|range|txn|mixed  what to send (put)",
        "  --read-ratio R     mixed: share of point reads, the rest are puts (0.9)",
        "  --txn-ops N        txn: puts in the success branch, on consecutive keys (1)",
        "  --key-size B       key bytes (16); keys are zero-padded decimal indexes",
        "  --value-size B     value bytes (256)",
        "  --keys N           key space; each request picks a key uniformly (10000)",
        "  --connections N    gRPC channels, channel i to endpoint i mod endpoints; requests go round-robin",
        "                     over the channels (one per endpoint)",
        "  --clients N        requests in flight: closed-loop clients, or the in-flight bound with --rate (16)",
        "  --rate N           fixed rate, total ops/s (open loop, coordinated omission corrected); default closed loop",
        "  --duration T       measured time, e.g. 30s, 500ms, 2m (30s)",
        "  --warmup T         load before measuring, not recorded (5s)",
        "  --timeout T        deadline of each request (10s)",
        "  --serializable     ranges are serializable (served by any member) instead of linearizable",
        "  --no-prefill       range/mixed: skip writing every key once before the run",
        "  --pids P[,P...]    report the CPU seconds these processes used while measuring",
        "  --json FILE        also write the results as JSON",
        "  --label TEXT       names the run in the summary and the JSON (the workload)",
        "  --cacert FILE      TLS: trust the servers' certificates this CA signed (PEM); https:// endpoints need it",
        "  --cert FILE, --key FILE",
        "                     TLS: the client certificate and its PKCS#8 key (PEM), for --client-cert-auth servers",
        "  --user NAME:PASSWORD",
        "                     authenticate once (etcd's Authenticate) and send the token with every request",
        "");

    private static final Set<String> VALUED = Set.of("--endpoints", "--workload", "--read-ratio", "--txn-ops",
        "--key-size", "--value-size", "--keys", "--connections", "--clients", "--rate", "--duration", "--warmup",
        "--timeout", "--pids", "--json", "--label", "--cacert", "--cert", "--key", "--user");
    private static final Set<String> FLAGS = Set.of("--serializable", "--no-prefill");
    private static final Pattern DURATION = Pattern.compile("(\\d+(?:\\.\\d+)?)(ns|us|ms|s|m|h)?");
    private static final Pattern HOST_PORT = Pattern.compile("(\\[[0-9a-fA-F:.]+]|[^:\\[\\]/]+):(\\d{1,5})");

    /** host:port of each member, as given (any {@code http://} stripped). */
    public final List<String> endpoints;
    public final Workload workload;
    /** Share of ranges in {@link Workload#MIXED}, in [0, 1]. */
    public final double readRatio;
    /** Puts per transaction, 1 to {@link #TXN_OPS_MAX}. */
    public final int txnOpCount;
    public final int keyBytes;
    public final int valueBytes;
    /** Keys are indexes 0 to keyCount - 1; invariant: keyBytes holds keyCount - 1 in decimal. */
    public final long keyCount;
    public final int connectionCount;
    /** Closed loop: concurrent clients; fixed rate: the most requests in flight. */
    public final int clientCount;
    /** Total ops/s of the fixed-rate schedule, or {@link #CLOSED_LOOP}. */
    public final long ratePerSecond;
    public final long durationNs;
    public final long warmupNs;
    public final long timeoutNs;
    public final boolean serializable;
    public final boolean prefill;
    /** Processes whose CPU time is reported; empty for none. */
    public final List<Long> pids;
    /** Where the JSON goes, or null for none. */
    public final Path jsonPath;
    public final String label;
    /** TLS: the CA that signed the servers' certificates, or null for plaintext. */
    public final Path caCert;
    /** TLS: the client certificate and key, or null. */
    public final Path clientCert;
    public final Path clientKey;
    /** Authentication: the user name and password, or null. */
    public final String[] user;

    private LoadConfig(final Map<String, String> values) {
        if (!values.containsKey("--endpoints")) {
            throw new IllegalArgumentException("--endpoints is required (e.g. --endpoints 127.0.0.1:2379)");
        }
        caCert = values.containsKey("--cacert") ? Path.of(values.get("--cacert")) : null;
        clientCert = values.containsKey("--cert") ? Path.of(values.get("--cert")) : null;
        clientKey = values.containsKey("--key") ? Path.of(values.get("--key")) : null;
        final String userFlag = values.get("--user");
        if (userFlag != null && userFlag.indexOf(':') <= 0) {
            throw new IllegalArgumentException("--user: NAME:PASSWORD, not '" + userFlag + "'");
        }
        user = userFlag == null ? null : userFlag.split(":", 2);
        if ((clientCert == null) != (clientKey == null) || clientCert != null && caCert == null) {
            throw new IllegalArgumentException("--cert and --key go together, and with --cacert");
        }
        endpoints = parseEndpoints(values.get("--endpoints"), caCert != null);
        workload = Workload.parse(values.getOrDefault("--workload", "put"));
        if (values.containsKey("--read-ratio") && workload != Workload.MIXED) {
            throw new IllegalArgumentException("--read-ratio applies only to --workload mixed");
        }
        readRatio = parseRatio("--read-ratio", values.getOrDefault("--read-ratio", "0.9"));
        if (values.containsKey("--txn-ops") && workload != Workload.TXN) {
            throw new IllegalArgumentException("--txn-ops applies only to --workload txn");
        }
        txnOpCount = (int)parseCount("--txn-ops", values.getOrDefault("--txn-ops", "1"), 1, TXN_OPS_MAX);
        keyBytes = (int)parseCount("--key-size", values.getOrDefault("--key-size", "16"), 1, KEY_BYTES_MAX);
        valueBytes = (int)parseCount("--value-size", values.getOrDefault("--value-size", "256"), 0, VALUE_BYTES_MAX);
        keyCount = parseCount("--keys", values.getOrDefault("--keys", "10000"), 1, Long.MAX_VALUE);
        final int digits = Long.toString(keyCount - 1).length();
        if (digits > keyBytes) {
            throw new IllegalArgumentException("--key-size " + keyBytes + " cannot hold " + keyCount
                + " distinct keys: they need " + digits + " bytes");
        }
        if (txnOpCount > keyCount) {
            throw new IllegalArgumentException("--txn-ops " + txnOpCount + " needs at least as many --keys, got "
                + keyCount);
        }
        // One channel per endpoint unless told otherwise: with fewer, some endpoints would get no requests.
        connectionCount = (int)parseCount("--connections",
            values.getOrDefault("--connections", Integer.toString(endpoints.size())), 1, CONNECTIONS_MAX);
        clientCount = (int)parseCount("--clients", values.getOrDefault("--clients", "16"), 1, CLIENTS_MAX);
        ratePerSecond = values.containsKey("--rate")
            ? parseCount("--rate", values.get("--rate"), 1, 100_000_000) : CLOSED_LOOP;
        durationNs = parseDurationNs("--duration", values.getOrDefault("--duration", "30s"));
        warmupNs = parseDurationNs("--warmup", values.getOrDefault("--warmup", "5s"));
        timeoutNs = parseDurationNs("--timeout", values.getOrDefault("--timeout", "10s"));
        if (durationNs == 0) {
            throw new IllegalArgumentException("--duration must be more than 0");
        }
        if (timeoutNs == 0) {
            throw new IllegalArgumentException("--timeout must be more than 0");
        }
        serializable = values.containsKey("--serializable");
        prefill = workload.reads() && !values.containsKey("--no-prefill");
        pids = values.containsKey("--pids") ? parsePids(values.get("--pids")) : List.of();
        jsonPath = values.containsKey("--json") ? Path.of(values.get("--json")) : null;
        label = values.getOrDefault("--label", workload.label());
    }

    /**
     * @param args the arguments after {@code load}: {@code --option value} or {@code --option=value}, flags alone.
     * @return the validated run.
     * @throws IllegalArgumentException with a message naming the option if anything is missing, unknown or out of
     *     range.
     */
    public static LoadConfig parse(final String... args) {
        final Map<String, String> values = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            final String arg = args[i];
            final int equals = arg.indexOf('=');
            final String name = arg.startsWith("--") && equals > 0 ? arg.substring(0, equals) : arg;
            final String value;
            if (FLAGS.contains(name)) {
                if (!name.equals(arg)) {
                    throw new IllegalArgumentException(name + " takes no value");
                }
                value = "";
            } else if (VALUED.contains(name)) {
                if (!name.equals(arg)) {
                    value = arg.substring(equals + 1);
                } else if (i + 1 < args.length) {
                    value = args[++i];
                } else {
                    throw new IllegalArgumentException(name + " needs a value");
                }
            } else if (arg.startsWith("-")) {
                throw new IllegalArgumentException("unknown option '" + arg + "' (see load --help)");
            } else {
                throw new IllegalArgumentException("unexpected argument '" + arg + "' (see load --help)");
            }
            if (values.put(name, value) != null) {
                throw new IllegalArgumentException(name + " is given twice");
            }
        }
        return new LoadConfig(values);
    }

    /**
     * @return whether requests follow a fixed-rate schedule rather than a closed loop.
     */
    public boolean fixedRate() {
        return ratePerSecond != CLOSED_LOOP;
    }

    /**
     * @param option the option's name, for the message.
     * @param text e.g. {@code 30s}, {@code 500ms}, {@code 1.5s}, {@code 2m}; a bare number is seconds.
     * @return the duration in nanoseconds.
     * @throws IllegalArgumentException naming the option and the accepted form.
     */
    static long parseDurationNs(final String option, final String text) {
        final Matcher matcher = DURATION.matcher(text.trim());
        if (!matcher.matches()) {
            throw new IllegalArgumentException(option + ": expected a duration such as 30s, 500ms or 2m, got '"
                + text + "'");
        }
        final double amount = Double.parseDouble(matcher.group(1));
        final String unit = matcher.group(2) == null ? "s" : matcher.group(2);
        final double unitNs = switch (unit) {
            case "ns" -> 1;
            case "us" -> 1e3;
            case "ms" -> 1e6;
            case "s" -> 1e9;
            case "m" -> 60e9;
            default -> 3600e9;
        };
        final double ns = amount * unitNs;
        if (ns > TimeUnit.DAYS.toNanos(1)) {
            throw new IllegalArgumentException(option + ": at most a day, got '" + text + "'");
        }
        return (long)ns;
    }

    private static long parseCount(final String option, final String text, final long min, final long max) {
        final long value;
        try {
            value = Long.parseLong(text.trim().replace("_", ""));
        } catch (final NumberFormatException e) {
            throw new IllegalArgumentException(option + ": expected a whole number, got '" + text + "'", e);
        }
        if (value < min || value > max) {
            throw new IllegalArgumentException(option + ": expected " + min + " to " + max + ", got " + value);
        }
        return value;
    }

    private static double parseRatio(final String option, final String text) {
        final double value;
        try {
            value = Double.parseDouble(text.trim());
        } catch (final NumberFormatException e) {
            throw new IllegalArgumentException(option + ": expected a number from 0 to 1, got '" + text + "'", e);
        }
        if (!(value >= 0 && value <= 1)) {
            throw new IllegalArgumentException(option + ": expected a number from 0 to 1, got " + text);
        }
        return value;
    }

    private static List<String> parseEndpoints(final String text, final boolean tls) {
        final List<String> parsed = new ArrayList<>();
        for (final String raw : text.split(",", -1)) {
            String endpoint = raw.trim();
            if (endpoint.startsWith("https://")) {
                if (!tls) {
                    throw new IllegalArgumentException("--endpoints: https:// needs --cacert, got '" + endpoint + "'");
                }
                endpoint = endpoint.substring("https://".length());
            } else if (endpoint.startsWith("http://")) {
                if (tls) {
                    throw new IllegalArgumentException("--endpoints: --cacert given, but '" + endpoint
                        + "' is http://");
                }
                endpoint = endpoint.substring("http://".length());
            }
            final Matcher matcher = HOST_PORT.matcher(endpoint);
            if (!matcher.matches() || Integer.parseInt(matcher.group(2)) < 1
                || Integer.parseInt(matcher.group(2)) > 65535) {
                throw new IllegalArgumentException("--endpoints: expected host:port, got '" + raw + "'");
            }
            parsed.add(endpoint);
        }
        return Collections.unmodifiableList(parsed);
    }

    private static List<Long> parsePids(final String text) {
        final List<Long> parsed = new ArrayList<>();
        for (final String raw : text.split(",", -1)) {
            parsed.add(parseCount("--pids", raw, 1, Integer.MAX_VALUE));
        }
        return Collections.unmodifiableList(parsed);
    }

    /**
     * @return the run's settings in one line, for the summary.
     */
    public String describe() {
        return label + ": " + workload.label()
            + (workload == Workload.MIXED ? " (read ratio " + readRatio + ")" : "")
            + (workload == Workload.TXN ? " (" + txnOpCount + " put" + (txnOpCount == 1 ? "" : "s") + ")" : "")
            + ", " + (fixedRate() ? "fixed rate " + ratePerSecond + " ops/s, at most " + clientCount + " in flight"
                : "closed loop, " + clientCount + " clients")
            + ", " + connectionCount + " connection" + (connectionCount == 1 ? "" : "s") + " to "
            + String.join(",", endpoints)
            + "; " + keyCount + " keys of " + keyBytes + " B, values of " + valueBytes + " B"
            + (workload.reads() ? (serializable ? ", serializable reads" : ", linearizable reads") : "");
    }
}
