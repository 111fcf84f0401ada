package io.cairn.bench.report;

import io.cairn.bench.JsonReader;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * One {@code sync-probe-*.json} ({@code io.cairn.bench.limits.SyncProbe}): per batch size, the latency of one
 * {@code write + fdatasync} of a plain file (the physical limit) and of one WAL append + sync of the same bytes; and,
 * in probes that measured it, memory copy bandwidth.
 *
 * @param source     where it was read, relative to the profile's folder.
 * @param entryBytes payload bytes per entry.
 * @param rows       one per kind and batch size, sorted by batch size then kind.
 * @param copies     memory copy bandwidth per copy size, largest first; empty in probes that predate it.
 */
record SyncProbeResult(String source, int entryBytes, List<Row> rows, List<Copy> copies) {
    /** The plain-file kind, the floor every other kind is compared with. */
    static final String RAW = "raw-fdatasync";
    /** The WAL's kind. */
    static final String WAL = "wal-sync";

    /**
     * One kind at one batch size. Latencies in µs.
     *
     * @param kind                     {@code raw-fdatasync} or {@code wal-sync}.
     * @param batchSize                entries per sync.
     * @param p50Us                    median.
     * @param p99Us                    99th percentile.
     * @param p999Us                   99.9th percentile.
     * @param maxUs                    maximum.
     * @param entriesPerSecond         entries made durable per second.
     * @param deviceBytesPerLoggedByte bytes the device wrote per byte logged.
     */
    record Row(String kind, int batchSize, double p50Us, double p99Us, double p999Us, double maxUs,
        double entriesPerSecond, double deviceBytesPerLoggedByte) {
    }

    /**
     * Memory copy bandwidth for one copy size, off-heap to off-heap, in GB/s (10^9 bytes copied per second).
     *
     * @param blockBytes bytes per copy.
     * @param rounds     rounds measured.
     * @param bestGBps   the best round.
     * @param medianGBps the median round.
     */
    record Copy(long blockBytes, int rounds, double bestGBps, double medianGBps) {
    }

    /**
     * @param json   the parsed file.
     * @param source where it was read.
     * @return the probe.
     */
    static SyncProbeResult parse(final Object json, final String source) {
        final Map<String, Object> object = JsonReader.object(json);
        final List<Row> rows = new ArrayList<>();
        for (final Object element : JsonReader.array(object.get("results"))) {
            final Map<String, Object> row = JsonReader.object(element);
            rows.add(new Row(JsonReader.string(row.get("kind")), (int)JsonReader.number(row.get("batchSize")),
                JsonReader.number(row.get("p50Us")), JsonReader.number(row.get("p99Us")),
                JsonReader.number(row.get("p999Us")), JsonReader.number(row.get("maxUs")),
                JsonReader.number(row.get("entriesPerSecond")),
                JsonReader.number(row.get("deviceBytesPerLoggedByte"))));
        }
        rows.sort(Comparator.comparingInt(Row::batchSize).thenComparing(Row::kind));
        final List<Copy> copies = new ArrayList<>();
        for (final Object element : JsonReader.array(object.get("memoryCopy"))) {
            final Map<String, Object> copy = JsonReader.object(element);
            copies.add(new Copy((long)JsonReader.number(copy.get("blockBytes")),
                (int)JsonReader.number(copy.get("rounds")), JsonReader.number(copy.get("bestGBps")),
                JsonReader.number(copy.get("medianGBps"))));
        }
        copies.sort(Comparator.comparingLong(Copy::blockBytes).reversed());
        return new SyncProbeResult(source, (int)JsonReader.number(object.get("entryBytes")), List.copyOf(rows),
            List.copyOf(copies));
    }

    /**
     * @param kind      a kind.
     * @param batchSize a batch size.
     * @return that row, or null when the probe did not measure it.
     */
    Row row(final String kind, final int batchSize) {
        for (final Row row : rows) {
            if (row.kind.equals(kind) && row.batchSize == batchSize) {
                return row;
            }
        }
        return null;
    }

    /**
     * @return the largest copy size's median bandwidth in bytes per second, the limit for work that streams bytes
     *     through memory (a snapshot taken or restored); NaN when the probe did not measure it.
     */
    double memoryCopyBytesPerSecond() {
        return copies.isEmpty() ? Double.NaN : copies.get(0).medianGBps() * 1e9;
    }
}
