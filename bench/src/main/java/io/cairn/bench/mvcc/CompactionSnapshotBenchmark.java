package io.cairn.bench.mvcc;

import io.cairn.bench.BenchDirectories;
import io.cairn.engine.mvcc.CommandEncoder;
import io.cairn.engine.mvcc.MvccConfig;
import io.cairn.engine.mvcc.MvccStore;
import io.cairn.engine.snapshot.SnapshotMeta;
import io.cairn.engine.snapshot.Snapshots;
import org.agrona.ExpandableDirectByteBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * Whole-store operations: taking a snapshot (LMDB's compacting copy + checksum + seal) and restoring one (copy +
 * verify), reported as bytes/s by the {@code bytes} counter; and compaction, reported as history records looked at
 * per second ({@code records}). The store holds {@code megabytes} MiB of values, each key written twice, so half the
 * history is superseded.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 1, time = 3)
@Measurement(iterations = 3, time = 5)
@Fork(1)
public class CompactionSnapshotBenchmark {
    /** MiB of values in the store. */
    @Param({"64"})
    public int megabytes;

    private Path directory;
    private MvccStore store;
    private Path snapshot;
    private long snapshotBytes;
    private int restores;
    private long index;
    private final CommandEncoder encoder = new CommandEncoder();
    private final ExpandableDirectByteBuffer response = new ExpandableDirectByteBuffer(4096);
    private final UnsafeBuffer key = new UnsafeBuffer(ByteBuffer.allocateDirect(16));
    private final UnsafeBuffer value = new UnsafeBuffer(ByteBuffer.allocateDirect(1024));

    /** Bytes and records processed, so JMH reports them per second. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Work {
        /** Snapshot bytes written or restored. */
        public long bytes;
        /** History records looked at by compaction. */
        public long records;
    }

    /**
     * Fills the store and takes one snapshot to restore from.
     *
     * @throws IOException if files cannot be made.
     */
    @Setup(Level.Trial)
    public void open() throws IOException {
        directory = BenchDirectories.fresh("snapshot");
        store = MvccStore.open(MvccConfig.defaults(directory.resolve("store")));
        final byte[] random = new byte[value.capacity()];
        ThreadLocalRandom.current().nextBytes(random);
        value.putBytes(0, random);
        final int keys = megabytes * 1024 / 2;
        for (int round = 0; round < 2; round++) {
            for (int loaded = 0; loaded < keys; loaded += 1000) {
                store.beginBatch();
                for (int i = loaded; i < Math.min(keys, loaded + 1000); i++) {
                    key.putLong(0, i, ByteOrder.BIG_ENDIAN);
                    key.putLong(8, round, ByteOrder.BIG_ENDIAN);
                    encoder.reset().put(key, 0, 8, value, 0, value.capacity(), 0, 0);
                    store.apply(encoder.buffer(), 0, encoder.length(), response, 0);
                }
                store.commit(++index, 1);
            }
        }
        snapshot = directory.resolve("base.snap");
        snapshotBytes = Snapshots.take(store, snapshot).fileBytes();
    }

    /**
     * Deletes everything.
     *
     * @throws IOException if it cannot be deleted.
     */
    @TearDown(Level.Trial)
    public void close() throws IOException {
        store.close();
        BenchDirectories.delete(directory);
    }

    /**
     * Takes one snapshot of the whole store.
     *
     * @param work counters.
     * @return what it holds.
     * @throws IOException if it cannot be written.
     */
    @Benchmark
    public SnapshotMeta take(final Work work) throws IOException {
        final SnapshotMeta meta = Snapshots.take(store, directory.resolve("taken.snap"));
        work.bytes += meta.fileBytes();
        return meta;
    }

    /**
     * Restores a data directory from the snapshot (copy, verify).
     *
     * @param work counters.
     * @return what it held.
     * @throws IOException if it cannot be written.
     */
    @Benchmark
    public SnapshotMeta restore(final Work work) throws IOException {
        final Path target = directory.resolve("restored-" + restores++);
        final SnapshotMeta meta = Snapshots.restore(snapshot, target);
        work.bytes += snapshotBytes;
        BenchDirectories.delete(target);
        return meta;
    }

    /**
     * Compacts a restored copy of the store to its current revision, all of it (half the history goes).
     *
     * @param work counters.
     * @return records deleted.
     * @throws IOException if the copy cannot be made.
     */
    @Benchmark
    public long compactAll(final Work work) throws IOException {
        final Path target = directory.resolve("compact-" + restores++);
        Snapshots.restore(snapshot, target);
        long deleted = 0;
        try (MvccStore copy = MvccStore.open(MvccConfig.defaults(target))) {
            copy.beginBatch();
            encoder.reset().compact(copy.revision());
            copy.apply(encoder.buffer(), 0, encoder.length(), response, 0);
            copy.commit(copy.appliedIndex() + 1, 1);
            while (copy.compactPending()) {
                deleted += copy.compactStep(10_000);
            }
            work.records += copy.revision();
        }
        BenchDirectories.delete(target);
        return deleted + (Files.exists(target) ? 1 : 0);
    }
}
