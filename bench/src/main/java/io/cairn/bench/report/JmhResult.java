package io.cairn.bench.report;

import io.cairn.bench.JsonReader;

import java.util.Comparator;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * One benchmark configuration from a JMH {@code -rf json} file: its primary score, the percentiles sample mode
 * records, and the secondary metrics (auxiliary counters such as {@code entries}, {@code -prof gc}'s
 * {@code gc.alloc.rate.norm}).
 *
 * @param benchmark   the fully qualified benchmark method.
 * @param mode        JMH's mode ({@code thrpt}, {@code sample}, ...).
 * @param params      the {@code @Param} values, by name.
 * @param primary     the primary metric.
 * @param percentiles sample mode's percentiles (50.0, 99.0, 100.0, ...) in the primary metric's unit.
 * @param secondary   the secondary metrics, by name.
 * @param source      where it was read, relative to the profile's folder ({@code 2026-11-26/jmh.json}).
 */
record JmhResult(
    String benchmark,
    String mode,
    SortedMap<String, String> params,
    Metric primary,
    SortedMap<Double, Double> percentiles,
    SortedMap<String, Metric> secondary,
    String source,
    double measuredSeconds) {

    /** The metric {@code -prof gc} adds: bytes allocated per operation, all threads. */
    static final String ALLOCATION_PER_OP = "gc.alloc.rate.norm";
    /** Benchmark, mode, then parameters by name, numbers compared as numbers (batch 64 before 1024). */
    static final Comparator<JmhResult> ORDER = Comparator.comparing(JmhResult::benchmark)
        .thenComparing(JmhResult::mode).thenComparing(JmhResult::compareParams);

    /**
     * A score, its 99.9% error (NaN where JMH has none) and its unit.
     *
     * @param score the score.
     * @param error the error.
     * @param unit  the unit ({@code ops/s}, {@code us/op}, {@code B/op}).
     */
    record Metric(double score, double error, String unit) {
    }

    /**
     * @param element one element of JMH's result array.
     * @param source  where it was read.
     * @return the result.
     */
    static JmhResult parse(final Object element, final String source) {
        final Map<String, Object> json = JsonReader.object(element);
        final SortedMap<String, String> params = new TreeMap<>();
        JsonReader.object(json.get("params")).forEach((name, value) -> params.put(name, JsonReader.string(value)));
        final Object threads = json.get("threads");
        if (threads != null && JsonReader.number(threads) > 1) {
            // Callers at once (-t): a configuration of its own, shown beside the parameters.
            params.put("threads", String.valueOf((long)JsonReader.number(threads)));
        }
        final Map<String, Object> primaryJson = JsonReader.object(json.get("primaryMetric"));
        final SortedMap<Double, Double> percentiles = new TreeMap<>();
        JsonReader.object(primaryJson.get("scorePercentiles"))
            .forEach((percentile, value) -> percentiles.put(Double.parseDouble(percentile), JsonReader.number(value)));
        final SortedMap<String, Metric> secondary = new TreeMap<>();
        JsonReader.object(json.get("secondaryMetrics")).forEach((name, value) -> secondary.put(name, metric(value)));
        return new JmhResult(JsonReader.string(json.get("benchmark")), JsonReader.string(json.get("mode")), params,
            metric(primaryJson), percentiles, secondary, source, measuredSeconds(json));
    }

    // Measurement iterations × their time ("10 s", "500 ms", "1 min"); 0 when JMH did not say.
    private static double measuredSeconds(final Map<String, Object> json) {
        final Object iterations = json.get("measurementIterations");
        final Object time = json.get("measurementTime");
        if (iterations == null || time == null) {
            return 0;
        }
        final String[] parts = JsonReader.string(time).trim().split(" ");
        try {
            final double amount = Double.parseDouble(parts[0]);
            final String unit = parts.length > 1 ? parts[1] : "s";
            final double seconds = switch (unit) {
                case "ms" -> amount / 1_000;
                case "us" -> amount / 1_000_000;
                case "min" -> amount * 60;
                default -> amount;
            };
            return JsonReader.number(iterations) * seconds;
        } catch (final NumberFormatException ex) {
            return 0;
        }
    }

    private static Metric metric(final Object value) {
        final Map<String, Object> json = JsonReader.object(value);
        return new Metric(JsonReader.number(json.get("score")), JsonReader.number(json.get("scoreError")),
            JsonReader.string(json.get("scoreUnit")));
    }

    private static int compareParams(final JmhResult left, final JmhResult right) {
        final TreeSet<String> names = new TreeSet<>(left.params.keySet());
        names.addAll(right.params.keySet());
        for (final String name : names) {
            final String a = left.param(name);
            final String b = right.param(name);
            int order;
            try {
                order = Double.compare(Double.parseDouble(a), Double.parseDouble(b));
            } catch (final NumberFormatException ex) {
                order = a.compareTo(b);
            }
            if (order != 0) {
                return order;
            }
        }
        return 0;
    }

    /**
     * @return the benchmark's class, without its package ({@code WalAppendBenchmark}).
     */
    String className() {
        final String owner = benchmark.substring(0, Math.max(0, benchmark.lastIndexOf('.')));
        return owner.substring(owner.lastIndexOf('.') + 1);
    }

    /**
     * @return the benchmark method ({@code appendBatch}).
     */
    String method() {
        return benchmark.substring(benchmark.lastIndexOf('.') + 1);
    }

    /**
     * @return what identifies the configuration across runs: benchmark, mode and parameters.
     */
    String key() {
        return benchmark + " " + mode + " " + params;
    }

    /**
     * @return whether {@code -prof gc} was on (it perturbs the score a little).
     */
    boolean gcProfiled() {
        return secondary.containsKey(ALLOCATION_PER_OP);
    }

    /**
     * @param name a parameter.
     * @return its value, or the empty string.
     */
    String param(final String name) {
        return params.getOrDefault(name, "");
    }

    /**
     * @param name a numeric parameter.
     * @return its value, or -1 when absent or not a number.
     */
    long longParam(final String name) {
        try {
            return Long.parseLong(param(name));
        } catch (final NumberFormatException ex) {
            return -1;
        }
    }

    /**
     * @param percentile 0 to 100.
     * @return the sample-mode percentile in the primary unit, or NaN.
     */
    double percentile(final double percentile) {
        return percentiles.getOrDefault(percentile, Double.NaN);
    }

    /**
     * @param name a secondary metric.
     * @return its score, or NaN.
     */
    double secondaryScore(final String name) {
        final Metric metric = secondary.get(name);
        return metric == null ? Double.NaN : metric.score();
    }

    /**
     * @return the parameters as {@code a=1, b=2}, or the empty string.
     */
    String paramsText() {
        final StringBuilder out = new StringBuilder();
        params.forEach((name, value) -> out.append(out.length() == 0 ? "" : ", ").append(name).append('=')
            .append(value));
        return out.toString();
    }

    /**
     * @return the date folder this was read from.
     */
    String date() {
        return source.substring(0, source.indexOf('/'));
    }
}
