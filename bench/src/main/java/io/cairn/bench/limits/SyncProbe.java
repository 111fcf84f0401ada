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
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * The disk's physical limit beside the WAL, in one run: for each batch size, the latency of one
 * {@code write + fdatasync} of a plain file (the floor: what any log must pay) and of one WAL append + sync of the
 * same bytes, alternating in rounds so that a noisy neighbour hurts both alike; plus the bytes the device wrote per
 * byte logged, for both. HdrHistogram percentiles, printed as a table and written as JSON.
 *
 * <p>{@code java -jar bench/target/benchmarks.jar probe [--out DIR] [--seconds N] [--entry-bytes B]}
 */
public final class SyncProbe {
    private static final int[] BATCH_SIZES = {1, 16, 256};
    private static final int ROUNDS = 3;

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
        } finally {
            BenchDirectories.delete(directory);
        }
        final String table = table(profile, disk, entryBytes, results);
        System.out.print(table);
        if (out != null) {
            Files.createDirectories(out);
            final String stamp = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").withZone(ZoneOffset.UTC)
                .format(Instant.now());
            Files.writeString(out.resolve("sync-probe-" + stamp + ".json"), json(profile, entryBytes, results));
            Files.writeString(out.resolve("sync-probe-" + stamp + ".txt"), table);
            Files.writeString(out.resolve("profile.json"), profile.toJson() + "\n");
        }
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
            out.append(String.format(Locale.ROOT,
                "batch %4d: WAL/raw sync p50 %.2f, p99 %.2f; device bytes per logged byte WAL %.2f vs raw %.2f%n",
                raw.batchSize,
                (double)wal.latencyNs.getValueAtPercentile(50) / raw.latencyNs.getValueAtPercentile(50),
                (double)wal.latencyNs.getValueAtPercentile(99) / raw.latencyNs.getValueAtPercentile(99),
                wal.amplification(), raw.amplification()));
        }
        return out.toString();
    }

    private static String json(final HardwareProfile profile, final int entryBytes, final List<Result> results) {
        final StringBuilder out = new StringBuilder();
        out.append("{\n  \"probe\": \"sync\",\n  \"profile\": ").append(profile.toJson().replace("\n", "\n  "))
            .append(",\n  \"entryBytes\": ").append(entryBytes).append(",\n  \"results\": [\n");
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
