package io.cairn.bench.load;

import io.cairn.bench.Json;
import org.HdrHistogram.Histogram;

import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A run's results as the text summary and as JSON. Latencies are microseconds throughout.
 *
 * <pre>
 * {
 *   "label": "put", "endpoints": ["127.0.0.1:2379"],
 *   "workload": {"type": "put", "mode": "closed-loop", "rateOpsPerSecond": 0, "clients": 16, ...},
 *   "startTime": "2026-11-27T01:00:00Z", "durationSeconds": 30.0,
 *   "ops": 300000, "errors": 2, "errorsByCode": {"DEADLINE_EXCEEDED": 2},
 *   "throughputOpsPerSecond": 10000.0, "unsentOps": 0,
 *   "latencyUs": {"put": {"ops": 300000, "errors": 2, "errorsByCode": {...},
 *                         "corrected": {"p50": 900, "p90": 1500, "p99": 4000, "p999": 9000, "max": 20000,
 *                                       "mean": 1000.5},
 *                         "uncorrected": {...}}},
 *   "cpu": [{"name": "pid 123", "pid": 123, "seconds": 12.5, "usPerOp": 41.7}, ...],
 *   "profile": {...}
 * }
 * </pre>
 */
final class LoadReport {
    private static final double[] PERCENTILES = {50, 90, 99, 99.9};
    private static final String[] PERCENTILE_KEYS = {"p50", "p90", "p99", "p999"};

    private LoadReport() {
    }

    /**
     * @param result a finished run.
     * @return the summary printed at the end of the run.
     */
    static String text(final LoadResult result) {
        final LoadConfig config = result.config;
        final StringBuilder out = new StringBuilder();
        out.append(config.describe()).append('\n');
        out.append(String.format(Locale.ROOT, "measured %.1f s after %.1f s warmup, started %s%n",
            result.measuredSeconds(), config.warmupNs / 1e9, result.startTime));
        out.append(String.format(Locale.ROOT, "ops %d, %.1f ops/s; errors %d", result.ops(), result.throughput(),
            result.errors()));
        appendCodes(out, result.errorsByCode());
        out.append('\n');
        if (config.fixedRate()) {
            out.append(String.format(Locale.ROOT, "target %d ops/s: %s%n", config.ratePerSecond,
                result.unsentOps == 0 ? "every scheduled op was sent"
                    : result.unsentOps + " scheduled ops were never sent (the target rate was not reached)"));
        }
        out.append(String.format(Locale.ROOT, "%-18s %10s %9s %9s %9s %9s %9s %9s%n", "latency (us)", "ops",
            "p50", "p90", "p99", "p99.9", "max", "mean"));
        for (final LoadResult.OpResult op : result.opResults) {
            if (config.fixedRate()) {
                appendRow(out, op.type.label() + " corrected", op.corrected);
                appendRow(out, op.type.label() + " uncorrected", op.uncorrected);
            } else {
                // A closed loop sends each op when it is due: the two histograms are the same.
                appendRow(out, op.type.label(), op.uncorrected);
            }
            if (op.errors() > 0 && result.opResults.size() > 1) {
                out.append("  ").append(op.type.label()).append(" errors ").append(op.errors());
                appendCodes(out, op.errorsByCode);
                out.append('\n');
            }
        }
        if (!result.cpu.isEmpty()) {
            out.append("cpu:");
            for (final LoadResult.CpuUsage usage : result.cpu) {
                out.append(String.format(Locale.ROOT, " %s %.3f s", usage.name, usage.cpuSeconds));
                if (result.ops() > 0) {
                    out.append(String.format(Locale.ROOT, " (%.1f us/op)", result.cpuMicrosPerOp(usage)));
                }
                out.append(';');
            }
            out.setLength(out.length() - 1);
            out.append('\n');
        }
        return out.toString();
    }

    private static void appendRow(final StringBuilder out, final String name, final Histogram histogram) {
        out.append(String.format(Locale.ROOT, "%-18s %10d %9d %9d %9d %9d %9d %9.1f%n", name,
            histogram.getTotalCount(), histogram.getValueAtPercentile(PERCENTILES[0]),
            histogram.getValueAtPercentile(PERCENTILES[1]), histogram.getValueAtPercentile(PERCENTILES[2]),
            histogram.getValueAtPercentile(PERCENTILES[3]), histogram.getMaxValue(), histogram.getMean()));
    }

    private static void appendCodes(final StringBuilder out, final Map<String, Long> byCode) {
        if (byCode.isEmpty()) {
            return;
        }
        out.append(" (");
        final Iterator<Map.Entry<String, Long>> entries = byCode.entrySet().iterator();
        while (entries.hasNext()) {
            final Map.Entry<String, Long> entry = entries.next();
            out.append(entry.getKey()).append(' ').append(entry.getValue()).append(entries.hasNext() ? ", " : "");
        }
        out.append(')');
    }

    /**
     * @param result a finished run.
     * @return it as one JSON object (layout in the class comment), ending in a newline.
     */
    static String json(final LoadResult result) {
        final LoadConfig config = result.config;
        final StringBuilder out = new StringBuilder(2048);
        out.append("{\n");
        out.append("  \"label\": ").append(Json.quote(config.label)).append(",\n");
        out.append("  \"endpoints\": ").append(stringArray(config.endpoints)).append(",\n");
        out.append("  \"workload\": {\"type\": ").append(Json.quote(config.workload.label()))
            .append(", \"mode\": ").append(Json.quote(config.fixedRate() ? "fixed-rate" : "closed-loop"))
            .append(", \"rateOpsPerSecond\": ").append(config.ratePerSecond)
            .append(", \"clients\": ").append(config.clientCount)
            .append(", \"connections\": ").append(config.connectionCount)
            .append(", \"keySize\": ").append(config.keyBytes)
            .append(", \"valueSize\": ").append(config.valueBytes)
            .append(", \"keys\": ").append(config.keyCount)
            .append(", \"readRatio\": ").append(number(config.workload == Workload.MIXED ? config.readRatio
                : config.workload == Workload.RANGE ? 1 : 0))
            .append(", \"txnOps\": ").append(config.txnOpCount)
            .append(", \"serializable\": ").append(config.serializable)
            .append(", \"prefill\": ").append(config.prefill)
            .append(", \"warmupSeconds\": ").append(number(config.warmupNs / 1e9))
            .append(", \"timeoutSeconds\": ").append(number(config.timeoutNs / 1e9)).append("},\n");
        out.append("  \"startTime\": ").append(Json.quote(result.startTime.toString())).append(",\n");
        out.append("  \"durationSeconds\": ").append(number(result.measuredSeconds())).append(",\n");
        out.append("  \"ops\": ").append(result.ops()).append(",\n");
        out.append("  \"errors\": ").append(result.errors()).append(",\n");
        out.append("  \"errorsByCode\": ").append(codes(result.errorsByCode())).append(",\n");
        out.append("  \"throughputOpsPerSecond\": ").append(number(result.throughput())).append(",\n");
        out.append("  \"unsentOps\": ").append(result.unsentOps).append(",\n");
        out.append("  \"latencyUs\": {");
        for (int i = 0; i < result.opResults.size(); i++) {
            final LoadResult.OpResult op = result.opResults.get(i);
            out.append(i == 0 ? "\n" : ",\n").append("    ").append(Json.quote(op.type.label()))
                .append(": {\"ops\": ").append(op.ops())
                .append(", \"errors\": ").append(op.errors())
                .append(", \"errorsByCode\": ").append(codes(op.errorsByCode))
                .append(",\n      \"corrected\": ").append(percentiles(op.corrected))
                .append(",\n      \"uncorrected\": ").append(percentiles(op.uncorrected)).append('}');
        }
        out.append(result.opResults.isEmpty() ? "},\n" : "\n  },\n");
        out.append("  \"cpu\": [");
        for (int i = 0; i < result.cpu.size(); i++) {
            final LoadResult.CpuUsage usage = result.cpu.get(i);
            out.append(i == 0 ? "" : ", ").append("{\"name\": ").append(Json.quote(usage.name))
                .append(", \"pid\": ").append(usage.pid)
                .append(", \"seconds\": ").append(number(usage.cpuSeconds))
                .append(", \"usPerOp\": ").append(number(result.cpuMicrosPerOp(usage))).append('}');
        }
        out.append("],\n");
        out.append("  \"profile\": ").append(result.profileJson.replace("\n", "\n  ")).append('\n');
        return out.append("}\n").toString();
    }

    /**
     * @param histogram latencies in µs.
     * @return {@code {"p50": .., "p90": .., "p99": .., "p999": .., "max": .., "mean": ..}}; zeros when empty.
     */
    static String percentiles(final Histogram histogram) {
        final StringBuilder out = new StringBuilder("{");
        for (int i = 0; i < PERCENTILES.length; i++) {
            out.append(Json.quote(PERCENTILE_KEYS[i])).append(": ")
                .append(histogram.getValueAtPercentile(PERCENTILES[i])).append(", ");
        }
        return out.append("\"max\": ").append(histogram.getMaxValue())
            .append(", \"mean\": ").append(number(histogram.getTotalCount() == 0 ? 0 : histogram.getMean()))
            .append('}').toString();
    }

    private static String codes(final Map<String, Long> byCode) {
        final StringBuilder out = new StringBuilder("{");
        for (final Map.Entry<String, Long> entry : byCode.entrySet()) {
            out.append(out.length() == 1 ? "" : ", ").append(Json.quote(entry.getKey())).append(": ")
                .append(entry.getValue());
        }
        return out.append('}').toString();
    }

    private static String stringArray(final List<String> values) {
        final StringBuilder out = new StringBuilder("[");
        for (int i = 0; i < values.size(); i++) {
            out.append(i == 0 ? "" : ", ").append(Json.quote(values.get(i)));
        }
        return out.append(']').toString();
    }

    /** JSON has no NaN or infinity; three decimals are more than any of these figures carry. */
    private static String number(final double value) {
        if (!Double.isFinite(value)) {
            return "0";
        }
        return String.format(Locale.ROOT, "%.3f", value);
    }
}
