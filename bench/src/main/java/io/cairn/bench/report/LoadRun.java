package io.cairn.bench.report;

import io.cairn.bench.JsonReader;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One load-generator run of {@code compare} ({@code <workload>-<system>-r<round>.json}, the schema in
 * {@code io.cairn.bench.load.LoadReport}): throughput, the main operation's corrected latency percentiles and the
 * server processes' CPU per operation.
 *
 * @param workload           the workload's name ({@code put-1-client}).
 * @param system             {@code cairn} or {@code etcd}.
 * @param round              the round, from 1.
 * @param load               how the load was offered ({@code closed loop, 1 client}).
 * @param throughput         successful operations per second.
 * @param latencyUs          corrected latency at {@link #LATENCY_KEYS}, µs.
 * @param serverCpuUsPerOp   the server processes' CPU µs per successful operation (the generator's own excluded).
 * @param errors             failed operations.
 * @param source             where it was read, relative to the profile's folder.
 */
record LoadRun(String workload, String system, int round, String load, double throughput, List<Double> latencyUs,
    double serverCpuUsPerOp, long errors, String source) {

    /** The percentiles every run's JSON holds, in order. */
    static final List<String> LATENCY_KEYS = List.of("p50", "p90", "p99", "p999", "max");
    /** How they read. */
    static final List<String> LATENCY_LABELS = List.of("p50", "p90", "p99", "p99.9", "max");
    /** The name {@code LoadMain} gives its own CPU line. */
    private static final String GENERATOR = "load generator";
    private static final Pattern NAME = Pattern.compile("(.+)-([a-z0-9]+)-r([0-9]+)\\.json");

    /**
     * @param fileName a file in a {@code compare/} folder.
     * @return whether it is one run's JSON.
     */
    static boolean isRunFile(final String fileName) {
        return NAME.matcher(fileName).matches();
    }

    /**
     * @param fileName its name, {@code <workload>-<system>-r<round>.json}.
     * @param json     the parsed file.
     * @param source   where it was read.
     * @return the run.
     */
    static LoadRun parse(final String fileName, final Object json, final String source) {
        final Matcher name = NAME.matcher(fileName);
        if (!name.matches()) {
            throw new IllegalArgumentException("not a compare run: " + fileName);
        }
        final Map<String, Object> object = JsonReader.object(json);
        final Map<String, Object> workload = JsonReader.object(object.get("workload"));
        final double rate = JsonReader.number(workload.get("rateOpsPerSecond"));
        final long clients = (long)JsonReader.number(workload.get("clients"));
        final String load = rate > 0
            ? String.format(Locale.ROOT, "fixed %,d/s, up to %d in flight", (long)rate, clients)
            : "closed loop, " + clients + (clients == 1 ? " client" : " clients");
        // The main operation: the one with the most operations (put for put workloads, range for range).
        Map<String, Object> main = Map.of();
        double mostOps = -1;
        for (final Map.Entry<String, Object> op : JsonReader.object(object.get("latencyUs")).entrySet()) {
            final double ops = JsonReader.number(JsonReader.object(op.getValue()).get("ops"));
            if (ops > mostOps) {
                mostOps = ops;
                main = JsonReader.object(JsonReader.object(op.getValue()).get("corrected"));
            }
        }
        final Double[] latency = new Double[LATENCY_KEYS.size()];
        for (int i = 0; i < latency.length; i++) {
            latency[i] = JsonReader.number(main.get(LATENCY_KEYS.get(i)));
        }
        double cpu = 0;
        for (final Object element : JsonReader.array(object.get("cpu"))) {
            final Map<String, Object> usage = JsonReader.object(element);
            if (!GENERATOR.equals(JsonReader.string(usage.get("name")))) {
                cpu += JsonReader.number(usage.get("usPerOp"));
            }
        }
        return new LoadRun(name.group(1), name.group(2), Integer.parseInt(name.group(3)), load,
            JsonReader.number(object.get("throughputOpsPerSecond")), List.of(latency), cpu,
            (long)JsonReader.number(object.get("errors")), source);
    }

    /**
     * @param key one of {@link #LATENCY_KEYS}.
     * @return that percentile, µs.
     */
    double latency(final String key) {
        return latencyUs.get(LATENCY_KEYS.indexOf(key));
    }
}
