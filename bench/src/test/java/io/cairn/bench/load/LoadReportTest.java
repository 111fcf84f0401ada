package io.cairn.bench.load;

import io.cairn.bench.JsonReader;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: the JSON a run writes is well-formed and holds the schema's fields with the histograms' percentiles in µs,
 * corrected and uncorrected, per operation type; the text summary shows the same figures. Method: results built
 * from histograms with known contents (values below 2048 are exact at three significant digits), the JSON read
 * back with bench's strict reader ({@code JsonReader}: one value, no duplicate keys, no raw control characters),
 * fields compared with the expected values.
 */
class LoadReportTest {
    private static Histogram histogram(final long from, final long to) {
        final Histogram histogram = new Histogram(LatencyRecorder.SIGNIFICANT_DIGITS);
        for (long value = from; value <= to; value++) {
            histogram.recordValue(value);
        }
        return histogram;
    }

    private static LoadResult mixedResult() {
        final LoadConfig config = LoadConfig.parse("--endpoints", "127.0.0.1:2379,127.0.0.1:22379", "--workload",
            "mixed", "--read-ratio", "0.8", "--rate", "500", "--clients", "8", "--duration", "2s", "--warmup", "1s",
            "--label", "etcd \"3.4\"\tmixed");
        final Map<String, Long> putErrors = new LinkedHashMap<>();
        putErrors.put("UNAVAILABLE", 2L);
        putErrors.put("DEADLINE_EXCEEDED", 1L);
        final List<LoadResult.OpResult> ops = new ArrayList<>();
        ops.add(new LoadResult.OpResult(OpType.RANGE, histogram(1, 1000), histogram(1, 100), Map.of()));
        ops.add(new LoadResult.OpResult(OpType.PUT, new Histogram(3), new Histogram(3), putErrors));
        return new LoadResult(config, Instant.parse("2026-11-27T01:02:03Z"), 2_000_000_000L, ops, 7,
            List.of(new LoadResult.CpuUsage("pid 7", 7, 0.5), new LoadResult.CpuUsage("load generator", 9, 0.25)),
            "{\n  \"name\": \"test-box\"\n}");
    }

    @Test
    @SuppressWarnings("unchecked")
    void shouldWritePercentilesPerOpTypeWhenResultHasHistograms() {
        final Map<String, Object> json = (Map<String, Object>)JsonReader.parse(LoadReport.json(mixedResult()));
        assertEquals("etcd \"3.4\"\tmixed", json.get("label"));
        assertEquals(List.of("127.0.0.1:2379", "127.0.0.1:22379"), json.get("endpoints"));
        final Map<String, Object> workload = (Map<String, Object>)json.get("workload");
        assertEquals("mixed", workload.get("type"));
        assertEquals("fixed-rate", workload.get("mode"));
        assertEquals(500.0, workload.get("rateOpsPerSecond"));
        assertEquals(0.8, workload.get("readRatio"));
        assertEquals(8.0, workload.get("clients"));
        assertEquals(true, workload.get("prefill"));
        assertEquals(1.0, workload.get("warmupSeconds"));
        assertEquals("2026-11-27T01:02:03Z", json.get("startTime"));
        assertEquals(2.0, json.get("durationSeconds"));
        assertEquals(1000.0, json.get("ops"));
        assertEquals(3.0, json.get("errors"));
        assertEquals(Map.of("UNAVAILABLE", 2.0, "DEADLINE_EXCEEDED", 1.0), json.get("errorsByCode"));
        assertEquals(500.0, json.get("throughputOpsPerSecond"));
        assertEquals(7.0, json.get("unsentOps"));

        final Map<String, Object> latency = (Map<String, Object>)json.get("latencyUs");
        assertEquals(List.of("range", "put"), new ArrayList<>(latency.keySet()));
        final Map<String, Object> range = (Map<String, Object>)latency.get("range");
        assertEquals(1000.0, range.get("ops"));
        assertEquals(0.0, range.get("errors"));
        assertEquals(Map.of("p50", 500.0, "p90", 900.0, "p99", 990.0, "p999", 999.0, "max", 1000.0, "mean", 500.5),
            range.get("corrected"));
        assertEquals(Map.of("p50", 50.0, "p90", 90.0, "p99", 99.0, "p999", 100.0, "max", 100.0, "mean", 50.5),
            range.get("uncorrected"));
        final Map<String, Object> put = (Map<String, Object>)latency.get("put");
        assertEquals(0.0, put.get("ops"));
        assertEquals(3.0, put.get("errors"));
        assertEquals(Map.of("p50", 0.0, "p90", 0.0, "p99", 0.0, "p999", 0.0, "max", 0.0, "mean", 0.0),
            put.get("corrected"), "an op type with no answers has zeros, not NaN");

        final List<Object> cpu = (List<Object>)json.get("cpu");
        assertEquals(Map.of("name", "pid 7", "pid", 7.0, "seconds", 0.5, "usPerOp", 500.0), cpu.get(0));
        assertEquals(Map.of("name", "load generator", "pid", 9.0, "seconds", 0.25, "usPerOp", 250.0), cpu.get(1));
        assertEquals(Map.of("name", "test-box"), json.get("profile"));
    }

    @Test
    void shouldWriteValidJsonWhenNothingWasMeasured() {
        final LoadConfig config = LoadConfig.parse("--endpoints", "h:1");
        final LoadResult empty = new LoadResult(config, Instant.EPOCH, 1_000_000_000L, List.of(), 0, List.of(),
            "{}");
        final Object json = JsonReader.parse(LoadReport.json(empty));
        assertEquals(Map.of(), ((Map<?, ?>)json).get("latencyUs"));
        assertEquals(List.of(), ((Map<?, ?>)json).get("cpu"));
        assertEquals("closed-loop", ((Map<?, ?>)((Map<?, ?>)json).get("workload")).get("mode"));
    }

    @Test
    void shouldSummariseCorrectedAndUncorrectedWhenFixedRate() {
        final String text = LoadReport.text(mixedResult());
        assertTrue(text.contains("ops 1000, 500.0 ops/s; errors 3 (UNAVAILABLE 2, DEADLINE_EXCEEDED 1)"), text);
        assertTrue(text.contains("target 500 ops/s: 7 scheduled ops were never sent"), text);
        assertTrue(text.matches("(?s).*range corrected +1000 +500 +900 +990 +999 +1000 +500\\.5\n.*"), text);
        assertTrue(text.matches("(?s).*range uncorrected +100 +50 +90 +99 +100 +100 +50\\.5\n.*"), text);
        assertTrue(text.contains("put errors 3 (UNAVAILABLE 2, DEADLINE_EXCEEDED 1)"), text);
        assertTrue(text.contains("cpu: pid 7 0.500 s (500.0 us/op); load generator 0.250 s (250.0 us/op)\n"), text);
    }
}
