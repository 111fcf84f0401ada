package io.cairn.bench.limits;

import io.cairn.bench.BenchDirectories;
import io.cairn.bench.DiskStats;
import io.cairn.bench.HardwareProfile;
import io.cairn.engine.wal.ChronicleWal;
import io.cairn.engine.wal.WalBatch;
import io.cairn.engine.wal.WalConfig;
import io.cairn.engine.wal.WalRecord;
import org.HdrHistogram.Histogram;
import org.agrona.concurrent.UnsafeBuffer;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * The disk's physical limit beside the WAL, in one run: for each batch size, the latency of one
 * {@code write + fdatasync} of a plain file (the floor: what any log must pay) and of one WAL append + sync of the
 * same bytes, alternating in rounds so that a noisy neighbour hurts both alike; plus the bytes the device wrote per
 * byte logged, for both. HdrHistogram percentiles, printed as a table and written as JSON. Then the same raw
 * {@code write + fdatasync} of one entry from two and three threads at once, each on its own file: a cluster whose
 * members share the machine's disk pays that, not the lone figure, for a leader's and a follower's syncs together.
 *
 * <p>First, the memory's limit: copy bandwidth between two off-heap buffers ({@code Unsafe.copyMemory} through
 * {@link UnsafeBuffer#putBytes}), for 64 MiB copies (beyond any cache: the most a snapshot's bytes can move at) and
 * 4 KiB copies within a 32 KiB region (L1/L2). Bandwidth is bytes copied per second (each byte read once and written
 * once), in GB/s of 10^9 bytes, per round of 200 ms after a warm-up, rounds alternating between the sizes; JSON field
 * {@code memoryCopy}, best and median of the rounds.
 *
 * <p>{@code java -jar bench/target/benchmarks.jar probe [--out DIR] [--seconds N] [--entry-bytes B]}
 */
public final class SyncProbe {
    private static final int[] BATCH_SIZES = {1, 16, 256};
    /** Writers syncing at once, each its own file, one entry per sync: three members on one disk. */
    private static final int[] CONCURRENT_WRITERS = {2, 3};
    private static final int ROUNDS = 3;
    private static final int COPY_LARGE_BYTES = 64 << 20;
    private static final int COPY_SMALL_BYTES = 4 << 10;
    private static final int COPY_SMALL_REGION_BYTES = 32 << 10;
    private static final int COPY_ROUNDS = 9;
    private static final long COPY_ROUND_MS = 200;
    private static final long COPY_WARMUP_MS = 500;
    /** Small copies between clock reads, so that reading the clock costs little beside them. */
    private static final int COPY_SMALL_BATCH = 256;

    private SyncProbe() {
    }

    /** One measured configuration. */
    private static final class Result {
        final String kind;
        final int batchSize;
        final Histogram latencyNs = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
        long syncs;
        long loggedBytes;
        long deviceBytes;
        long elapsedNs;

        Result(final String kind, final int batchSize) {
            this.kind = kind;
            this.batchSize = batchSize;
        }

        double amplification() {
            return loggedBytes == 0 ? 0 : (double)deviceBytes / loggedBytes;
        }

        double entriesPerSecond() {
            return elapsedNs == 0 ? 0 : syncs * (double)batchSize * 1e9 / elapsedNs;
        }
    }

    /** Copy bandwidth for one copy size: one figure per round. */
    private static final class CopyResult {
        final int blockBytes;
        final double[] gigabytesPerSecond = new double[COPY_ROUNDS];
        long copiedBytes;

        CopyResult(final int blockBytes) {
            this.blockBytes = blockBytes;
        }

        double best() {
            double best = 0;
            for (final double value : gigabytesPerSecond) {
                best = Math.max(best, value);
            }
            return best;
        }

        double median() {
            final double[] sorted = gigabytesPerSecond.clone();
            Arrays.sort(sorted);
            final int middle = sorted.length / 2;
            return sorted.length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
        }
    }

    /**
     * @param args {@code --out DIR}, {@code --seconds N} (per round and kind), {@code --entry-bytes B}.
     * @throws IOException if the files cannot be written.
     */
    public static void main(final String[] args) throws IOException {
        Path out = null;
        double seconds = 2;
        int entryBytes = 256;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--out" -> out = Path.of(args[++i]);
                case "--seconds" -> seconds = Double.parseDouble(args[++i]);
                case "--entry-bytes" -> entryBytes = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        final Path directory = BenchDirectories.fresh("sync-probe");
        final HardwareProfile profile = HardwareProfile.probe(directory);
        final DiskStats disk = DiskStats.forPath(directory);
        final long roundNs = (long)(seconds * 1e9);
        // Before the disk rounds, so that no writeback the sync rounds leave behind competes for memory bandwidth.
        final List<CopyResult> copies = measureMemoryCopy();
        final List<Result> results = new ArrayList<>();
        try {
            for (final int batchSize : BATCH_SIZES) {
                final Result raw = new Result("raw-fdatasync", batchSize);
                final Result wal = new Result("wal-sync", batchSize);
                for (int round = 0; round < ROUNDS; round++) {
                    measureRaw(directory, raw, entryBytes, roundNs, disk);
                    measureWal(directory, wal, entryBytes, roundNs, disk);
                }
                results.add(raw);
                results.add(wal);
            }
            // Members of one machine share its disk: their syncs queue behind each other (a replicated commit waits
            // for the leader's sync and a follower's, both on this device).
            for (final int writers : CONCURRENT_WRITERS) {
                final Result concurrent = new Result("raw-fdatasync-" + writers + "-writers", 1);
                for (int round = 0; round < ROUNDS; round++) {
                    measureRawConcurrently(directory, concurrent, entryBytes, roundNs, writers);
                }
                results.add(concurrent);
            }
        } finally {
            BenchDirectories.delete(directory);
        }
        final String table = table(profile, disk, entryBytes, results) + copyTable(copies);
        System.out.print(table);
        if (out != null) {
            Files.createDirectories(out);
            final String stamp = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").withZone(ZoneOffset.UTC)
                .format(Instant.now());
            Files.writeString(out.resolve("sync-probe-" + stamp + ".json"), json(profile, entryBytes, results, copies));
            Files.writeString(out.resolve("sync-probe-" + stamp + ".txt"), table);
            Files.writeString(out.resolve("profile.json"), profile.toJson() + "\n");
        }
    }

    private static List<CopyResult> measureMemoryCopy() {
        final UnsafeBuffer source = new UnsafeBuffer(ByteBuffer.allocateDirect(COPY_LARGE_BYTES));
        final UnsafeBuffer target = new UnsafeBuffer(ByteBuffer.allocateDirect(COPY_LARGE_BYTES));
        final byte[] random = new byte[1 << 20];
        ThreadLocalRandom.current().nextBytes(random);
        for (int offset = 0; offset < COPY_LARGE_BYTES; offset += random.length) {
            source.putBytes(offset, random);
        }
        final CopyResult large = new CopyResult(COPY_LARGE_BYTES);
        final CopyResult small = new CopyResult(COPY_SMALL_BYTES);
        copyFor(source, target, large, TimeUnit.MILLISECONDS.toNanos(COPY_WARMUP_MS));
        copyFor(source, target, small, TimeUnit.MILLISECONDS.toNanos(COPY_WARMUP_MS));
        large.copiedBytes = 0;
        small.copiedBytes = 0;
        // Alternating rounds, as for the disk: a noisy neighbour hurts both sizes alike.
        for (int round = 0; round < COPY_ROUNDS; round++) {
            large.gigabytesPerSecond[round] = copyFor(source, target, large,
                TimeUnit.MILLISECONDS.toNanos(COPY_ROUND_MS));
            small.gigabytesPerSecond[round] = copyFor(source, target, small,
                TimeUnit.MILLISECONDS.toNanos(COPY_ROUND_MS));
        }
        // The copies must have happened: the target holds the source's bytes where the last large copy put them.
        if (source.getLong(COPY_LARGE_BYTES - Long.BYTES) != target.getLong(COPY_LARGE_BYTES - Long.BYTES)) {
            throw new IllegalStateException("memory copy probe: target differs from source");
        }
        return List.of(large, small);
    }

    /** Copies for about {@code durationNs} and returns GB/s (10^9 bytes copied per second). */
    private static double copyFor(
        final UnsafeBuffer source, final UnsafeBuffer target, final CopyResult result, final long durationNs) {
        final int blockBytes = result.blockBytes;
        final boolean small = blockBytes < COPY_SMALL_REGION_BYTES;
        final int batch = small ? COPY_SMALL_BATCH : 1;
        final int slots = small ? COPY_SMALL_REGION_BYTES / blockBytes : 1;
        long copiedBytes = 0;
        int slot = 0;
        final long start = System.nanoTime();
        final long end = start + durationNs;
        long now = start;
        while (now < end) {
            for (int i = 0; i < batch; i++) {
                // Small copies walk a region that stays in L1/L2, from one buffer's slot to the next slot of the other.
                final int offset = slot * blockBytes;
                slot = slot + 1 == slots ? 0 : slot + 1;
                target.putBytes(slot * blockBytes, source, offset, blockBytes);
            }
            copiedBytes += (long)batch * blockBytes;
            now = System.nanoTime();
        }
        result.copiedBytes += copiedBytes;
        return copiedBytes / (double)(now - start);
    }

    private static void measureRaw(
        final Path directory, final Result result, final int entryBytes, final long roundNs, final DiskStats disk)
        throws IOException {
        // The same bytes the WAL writes for the batch: our header, the payload and Chronicle's 4-byte header.
        final int bytesPerSync = result.batchSize * (entryBytes + WalRecord.HEADER_LENGTH + 4);
        final ByteBuffer block = ByteBuffer.allocateDirect(bytesPerSync);
        final byte[] random = new byte[bytesPerSync];
        ThreadLocalRandom.current().nextBytes(random);
        block.put(random).flip();
        final Path file = directory.resolve("raw.log");
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
            StandardOpenOption.APPEND)) {
            final long deviceBefore = disk == null ? 0 : disk.bytesWritten();
            final long start = System.nanoTime();
            final long end = start + roundNs;
            long now = start;
            while (now < end) {
                block.rewind();
                while (block.hasRemaining()) {
                    channel.write(block);
                }
                channel.force(false);
                final long after = System.nanoTime();
                result.latencyNs.recordValue(after - now);
                result.syncs++;
                result.loggedBytes += bytesPerSync;
                now = after;
            }
            result.elapsedNs += now - start;
            result.deviceBytes += disk == null ? 0 : disk.bytesWritten() - deviceBefore;
        }
        Files.delete(file);
    }

    /**
     * {@code writers} threads, each appending one entry and syncing its own file in a loop for the round; every
     * sync's latency goes into {@code result}, whose entries/s is then per writer.
     */
    private static void measureRawConcurrently(
        final Path directory, final Result result, final int entryBytes, final long roundNs, final int writers)
        throws IOException {
        final Result[] each = new Result[writers];
        final Thread[] threads = new Thread[writers];
        final IOException[] failure = new IOException[1];
        for (int w = 0; w < writers; w++) {
            final Result mine = new Result(result.kind, 1);
            final Path file = directory.resolve("writer-" + w);
            each[w] = mine;
            threads[w] = new Thread(() -> {
                try {
                    Files.createDirectories(file);
                    measureRaw(file, mine, entryBytes, roundNs, null);
                    Files.delete(file);
                } catch (final IOException ex) {
                    synchronized (failure) {
                        failure[0] = ex;
                    }
                }
            }, "sync-probe-writer-" + w);
            threads[w].start();
        }
        for (final Thread thread : threads) {
            try {
                thread.join();
            } catch (final InterruptedException ex) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while writers synced", ex);
            }
        }
        synchronized (failure) {
            if (failure[0] != null) {
                throw failure[0];
            }
        }
        for (final Result mine : each) {
            result.latencyNs.add(mine.latencyNs);
            result.syncs += mine.syncs;
            result.loggedBytes += mine.loggedBytes;
        }
        result.elapsedNs += roundNs * writers;
    }

    private static void measureWal(
        final Path directory, final Result result, final int entryBytes, final long roundNs, final DiskStats disk)
        throws IOException {
        final Path walDirectory = directory.resolve("wal");
        final UnsafeBuffer payload = new UnsafeBuffer(ByteBuffer.allocateDirect(entryBytes));
        final byte[] random = new byte[entryBytes];
        ThreadLocalRandom.current().nextBytes(random);
        payload.putBytes(0, random);
        final WalBatch batch = new WalBatch(result.batchSize * (entryBytes + 64));
        try (ChronicleWal wal = ChronicleWal.open(WalConfig.durable(walDirectory))) {
            // Chronicle pre-touches and writes file headers on open; start counting from the first batch.
            final long deviceBefore = disk == null ? 0 : disk.bytesWritten();
            final long start = System.nanoTime();
            final long end = start + roundNs;
            long now = start;
            long index = wal.lastIndex();
            while (now < end) {
                batch.reset();
                for (int i = 0; i < result.batchSize; i++) {
                    batch.add(++index, 1, (byte)0, payload, 0, entryBytes);
                }
                wal.append(batch);
                wal.sync();
                final long after = System.nanoTime();
                result.latencyNs.recordValue(after - now);
                result.syncs++;
                result.loggedBytes += (long)result.batchSize * (entryBytes + WalRecord.HEADER_LENGTH + 4);
                now = after;
            }
            result.elapsedNs += now - start;
            result.deviceBytes += disk == null ? 0 : disk.bytesWritten() - deviceBefore;
        }
        BenchDirectories.delete(walDirectory);
    }

    private static String table(
        final HardwareProfile profile, final DiskStats disk, final int entryBytes, final List<Result> results) {
        final StringBuilder out = new StringBuilder();
        out.append("Sync probe on ").append(profile.name()).append(" (").append(profile.filesystem())
            .append(", device ").append(disk == null ? "unknown" : disk.deviceName()).append("), entries of ")
            .append(entryBytes).append(" B\n");
        out.append(String.format(Locale.ROOT, "%-14s %6s %10s %10s %10s %10s %12s %14s%n", "kind", "batch",
            "p50 us", "p99 us", "p99.9 us", "max us", "entries/s", "device B/B"));
        for (final Result r : results) {
            out.append(String.format(Locale.ROOT, "%-14s %6d %10.1f %10.1f %10.1f %10.1f %12.0f %14.2f%n",
                r.kind, r.batchSize,
                r.latencyNs.getValueAtPercentile(50) / 1e3, r.latencyNs.getValueAtPercentile(99) / 1e3,
                r.latencyNs.getValueAtPercentile(99.9) / 1e3, r.latencyNs.getMaxValue() / 1e3,
                r.entriesPerSecond(), r.amplification()));
        }
        for (int i = 0; i + 1 < results.size(); i += 2) {
            final Result raw = results.get(i);
            final Result wal = results.get(i + 1);
            if (!"wal-sync".equals(wal.kind)) {
                break; // the concurrent writers come after the raw/WAL pairs
            }
            out.append(String.format(Locale.ROOT,
                "batch %4d: WAL/raw sync p50 %.2f, p99 %.2f; device bytes per logged byte WAL %.2f vs raw %.2f%n",
                raw.batchSize,
                (double)wal.latencyNs.getValueAtPercentile(50) / raw.latencyNs.getValueAtPercentile(50),
                (double)wal.latencyNs.getValueAtPercentile(99) / raw.latencyNs.getValueAtPercentile(99),
                wal.amplification(), raw.amplification()));
        }
        final Result alone = results.get(0);
        for (final Result r : results) {
            if (r.kind.endsWith("-writers")) {
                out.append(String.format(Locale.ROOT, "%s: sync p50 %.2f× one writer's%n", r.kind,
                    (double)r.latencyNs.getValueAtPercentile(50) / alone.latencyNs.getValueAtPercentile(50)));
            }
        }
        return out.toString();
    }

    private static String copyTable(final List<CopyResult> copies) {
        final StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "Memory copy, off-heap to off-heap, %d rounds of %d ms:%n", COPY_ROUNDS,
            COPY_ROUND_MS));
        out.append(String.format(Locale.ROOT, "%12s %12s %14s %14s%n", "block B", "rounds", "best GB/s",
            "median GB/s"));
        for (final CopyResult copy : copies) {
            out.append(String.format(Locale.ROOT, "%12d %12d %14.2f %14.2f%n", copy.blockBytes, COPY_ROUNDS,
                copy.best(), copy.median()));
        }
        return out.toString();
    }

    private static String json(final HardwareProfile profile, final int entryBytes, final List<Result> results,
        final List<CopyResult> copies) {
        final StringBuilder out = new StringBuilder();
        out.append("{\n  \"probe\": \"sync\",\n  \"profile\": ").append(profile.toJson().replace("\n", "\n  "))
            .append(",\n  \"entryBytes\": ").append(entryBytes).append(",\n  \"memoryCopy\": [\n");
        for (int i = 0; i < copies.size(); i++) {
            final CopyResult copy = copies.get(i);
            out.append(String.format(Locale.ROOT,
                "    {\"blockBytes\": %d, \"rounds\": %d, \"roundMs\": %d, \"copiedBytes\": %d,"
                    + " \"bestGBps\": %.3f, \"medianGBps\": %.3f}%s%n",
                copy.blockBytes, COPY_ROUNDS, COPY_ROUND_MS, copy.copiedBytes, copy.best(), copy.median(),
                i + 1 < copies.size() ? "," : ""));
        }
        out.append("  ],\n  \"results\": [\n");
        for (int i = 0; i < results.size(); i++) {
            final Result r = results.get(i);
            out.append(String.format(Locale.ROOT,
                "    {\"kind\": \"%s\", \"batchSize\": %d, \"syncs\": %d, \"p50Us\": %.1f, \"p99Us\": %.1f,"
                    + " \"p999Us\": %.1f, \"maxUs\": %.1f, \"entriesPerSecond\": %.0f, \"loggedBytes\": %d,"
                    + " \"deviceBytes\": %d, \"deviceBytesPerLoggedByte\": %.3f}%s%n",
                r.kind, r.batchSize, r.syncs,
                r.latencyNs.getValueAtPercentile(50) / 1e3, r.latencyNs.getValueAtPercentile(99) / 1e3,
                r.latencyNs.getValueAtPercentile(99.9) / 1e3, r.latencyNs.getMaxValue() / 1e3,
                r.entriesPerSecond(), r.loggedBytes, r.deviceBytes, r.amplification(),
                i + 1 < results.size() ? "," : ""));
        }
        return out.append("  ]\n}\n").toString();
    }
}
