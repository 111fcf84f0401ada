package io.cairn.bench.report;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.ToDoubleFunction;

/**
 * The figures the tables, the charts and the headline numbers share: which JMH result is which, the physical limits
 * they are compared with, the compare runs reduced to one figure per workload and system, and the headline list.
 */
final class Figures {
    /** Benchmark classes with a section of their own. */
    static final String WAL = "WalAppendBenchmark";
    static final String KEYSPACE_WRITE = "KeyspaceWriteBenchmark";
    static final String KEYSPACE_READ = "KeyspaceReadBenchmark";
    static final String SNAPSHOT = "CompactionSnapshotBenchmark";
    static final String COMMIT = "ReplicatedCommitBenchmark";
    static final String ROUND_TRIP = "AeronRoundTripBenchmark";
    static final List<String> KNOWN = List.of(WAL, KEYSPACE_WRITE, KEYSPACE_READ, SNAPSHOT, COMMIT, ROUND_TRIP);
    /** The two systems {@code compare} runs. */
    static final String CAIRN = "cairn";
    static final String ETCD = "etcd";

    private Figures() {
    }

    /** The kind of a headline figure, which decides its chart. */
    enum Group {
        LATENCY_US, PER_SECOND, CAIRN_OVER_ETCD
    }

    /**
     * One headline figure, read the same way from every profile.
     *
     * @param label      what the table row says.
     * @param chartLabel the short category name on the chart.
     * @param group      its kind.
     * @param value      the figure from one profile; NaN when the profile lacks it.
     */
    record Headline(String label, String chartLabel, Group group, ToDoubleFunction<ProfileResults> value) {
    }

    /**
     * One system's figures for one workload, the median over rounds.
     *
     * @param load       how the load was offered.
     * @param rounds     how many rounds.
     * @param throughput operations per second.
     * @param latencyUs  the percentiles of {@link LoadRun#LATENCY_KEYS}.
     * @param cpuUsPerOp the servers' CPU µs per operation.
     * @param errors     failed operations, all rounds.
     */
    record Aggregate(String load, int rounds, double throughput, List<Double> latencyUs, double cpuUsPerOp,
        long errors) {

        double latency(final String key) {
            return latencyUs.get(LoadRun.LATENCY_KEYS.indexOf(key));
        }
    }

    /**
     * @param runs one compare run's results.
     * @return workload to system to its figures, sorted.
     */
    static SortedMap<String, SortedMap<String, Aggregate>> compare(final List<LoadRun> runs) {
        final SortedMap<String, SortedMap<String, List<LoadRun>>> grouped = new TreeMap<>();
        for (final LoadRun run : runs) {
            grouped.computeIfAbsent(run.workload(), workload -> new TreeMap<>())
                .computeIfAbsent(run.system(), system -> new ArrayList<>()).add(run);
        }
        final SortedMap<String, SortedMap<String, Aggregate>> result = new TreeMap<>();
        grouped.forEach((workload, systems) -> systems.forEach((system, list) -> {
            final List<Double> latency = new ArrayList<>();
            for (final String key : LoadRun.LATENCY_KEYS) {
                latency.add(median(list, run -> run.latency(key)));
            }
            long errors = 0;
            for (final LoadRun run : list) {
                errors += run.errors();
            }
            result.computeIfAbsent(workload, name -> new TreeMap<>()).put(system, new Aggregate(list.get(0).load(),
                list.size(), median(list, LoadRun::throughput), List.copyOf(latency),
                median(list, LoadRun::serverCpuUsPerOp), errors));
        }));
        return result;
    }

    private static double median(final List<LoadRun> runs, final ToDoubleFunction<LoadRun> figure) {
        final double[] values = new double[runs.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = figure.applyAsDouble(runs.get(i));
        }
        Arrays.sort(values);
        final int middle = values.length / 2;
        return values.length % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
    }

    /**
     * @param result a {@code WalAppendBenchmark} or {@code ReplicatedCommitBenchmark.throughput} result.
     * @return entries per second: the {@code entries} counter, else score × batch size.
     */
    static double entriesPerSecond(final JmhResult result) {
        final double entries = result.secondaryScore("entries");
        return Double.isFinite(entries) ? entries
            : result.primary().score() * Math.max(1, result.longParam("batchSize"));
    }

    /**
     * @param profile a profile.
     * @return the Aeron round trip with the lowest median, the network's floor; null when none was measured.
     */
    static JmhResult fastestRoundTrip(final ProfileResults profile) {
        JmhResult fastest = null;
        for (final JmhResult result : profile.jmh(ROUND_TRIP)) {
            if (Double.isFinite(result.percentile(50))
                && (fastest == null || result.percentile(50) < fastest.percentile(50))) {
                fastest = result;
            }
        }
        return fastest;
    }

    /**
     * @param profile   a profile.
     * @param className a benchmark class.
     * @param method    its method.
     * @param params    parameter values the result must have ({@code name, value, name, value ...}).
     * @return the first such result by configuration order, or null.
     */
    static JmhResult find(final ProfileResults profile, final String className, final String method,
        final String... params) {
        for (final JmhResult result : profile.jmh(className)) {
            boolean matches = result.method().equals(method);
            for (int i = 0; i + 1 < params.length && matches; i += 2) {
                matches = result.param(params[i]).equals(params[i + 1]);
            }
            if (matches) {
                return result;
            }
        }
        return null;
    }

    /**
     * @param results some results.
     * @return parameter names whose values differ between them (the table columns), sorted.
     */
    static SortedSet<String> varyingParams(final List<JmhResult> results) {
        final SortedSet<String> varying = new TreeSet<>();
        for (final JmhResult result : results) {
            for (final Map.Entry<String, String> param : result.params().entrySet()) {
                for (final JmhResult other : results) {
                    if (!param.getValue().equals(other.param(param.getKey()))) {
                        varying.add(param.getKey());
                    }
                }
            }
        }
        return varying;
    }

    /**
     * @param profiles every profile.
     * @return the headline figures: the limits (disk, network, memory copy), the WAL, the keyspace, replicated
     *     commit, and Cairn/etcd per workload compared in any profile.
     */
    static List<Headline> headlines(final List<ProfileResults> profiles) {
        final List<Headline> headlines = new ArrayList<>();
        headlines.add(new Headline("raw write + fdatasync p50, 1 entry (sync probe), µs", "fdatasync p50",
            Group.LATENCY_US, profile -> probe(profile, SyncProbeResult.RAW)));
        headlines.add(new Headline("WAL append + sync p50, 1 entry (sync probe), µs", "WAL sync p50",
            Group.LATENCY_US, profile -> probe(profile, SyncProbeResult.WAL)));
        headlines.add(new Headline("Aeron round trip p50, fastest measured, µs", "Aeron RTT p50", Group.LATENCY_US,
            profile -> fastestRoundTrip(profile) == null ? Double.NaN : fastestRoundTrip(profile).percentile(50)));
        headlines.add(new Headline("replicated commit p50, 1 write, fsync on, µs", "commit p50", Group.LATENCY_US,
            profile -> percentile(find(profile, COMMIT, "commit", "batchSize", "1", "sync", "true"), 50)));
        headlines.add(new Headline("memory copy GB/s, largest copies (64 MiB), median round (probe)",
            "memory copy GB/s", Group.PER_SECOND, Figures::memoryCopyGigabytesPerSecond));
        headlines.add(new Headline("WAL append entries/s, batch 1, fsync on", "WAL batch 1", Group.PER_SECOND,
            profile -> entries(find(profile, WAL, "appendBatch", "batchSize", "1", "sync", "true"))));
        headlines.add(new Headline("WAL append entries/s, batch 256, fsync on", "WAL batch 256", Group.PER_SECOND,
            profile -> entries(find(profile, WAL, "appendBatch", "batchSize", "256", "sync", "true"))));
        headlines.add(new Headline("keyspace puts/s, 64 per write transaction", "keyspace puts",
            Group.PER_SECOND, profile -> secondary(find(profile, KEYSPACE_WRITE, "put", "batchSize", "64"), "ops")));
        headlines.add(new Headline("replicated commit entries/s, fsync on, best batch size", "commit entries",
            Group.PER_SECOND, Figures::bestCommitEntries));
        final SortedSet<String> workloads = new TreeSet<>();
        for (final ProfileResults profile : profiles) {
            workloads.addAll(compare(profile.compare).keySet());
        }
        for (final String workload : workloads) {
            headlines.add(new Headline("Cairn/etcd throughput, " + workload, workload, Group.CAIRN_OVER_ETCD,
                profile -> cairnOverEtcdThroughput(profile, workload)));
        }
        return headlines;
    }

    private static double probe(final ProfileResults profile, final String kind) {
        final SyncProbeResult probe = profile.latestProbe();
        final SyncProbeResult.Row row = probe == null ? null : probe.row(kind, 1);
        return row == null ? Double.NaN : row.p50Us();
    }

    private static double memoryCopyGigabytesPerSecond(final ProfileResults profile) {
        final SyncProbeResult probe = profile.memoryProbeFor("");
        return probe == null ? Double.NaN : probe.copies().get(0).medianGBps();
    }

    private static double percentile(final JmhResult result, final double percentile) {
        return result == null ? Double.NaN : result.percentile(percentile);
    }

    private static double entries(final JmhResult result) {
        return result == null ? Double.NaN : entriesPerSecond(result);
    }

    private static double secondary(final JmhResult result, final String name) {
        return result == null ? Double.NaN : result.secondaryScore(name);
    }

    private static double bestCommitEntries(final ProfileResults profile) {
        double best = Double.NaN;
        for (final JmhResult result : profile.jmh(COMMIT)) {
            final double entries = entriesPerSecond(result);
            if ("throughput".equals(result.method()) && "true".equals(result.param("sync"))
                && Double.isFinite(entries) && (Double.isNaN(best) || entries > best)) {
                best = entries;
            }
        }
        return best;
    }

    private static double cairnOverEtcdThroughput(final ProfileResults profile, final String workload) {
        final Map<String, Aggregate> systems = compare(profile.compare).get(workload);
        if (systems == null || !systems.containsKey(CAIRN) || !systems.containsKey(ETCD)) {
            return Double.NaN;
        }
        return systems.get(CAIRN).throughput() / systems.get(ETCD).throughput();
    }
}
