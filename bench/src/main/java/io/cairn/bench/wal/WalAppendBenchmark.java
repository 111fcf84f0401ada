package io.cairn.bench.wal;

import io.cairn.bench.BenchDirectories;
import io.cairn.engine.wal.ChronicleWal;
import io.cairn.engine.wal.WalBatch;
import io.cairn.engine.wal.WalConfig;
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
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * WAL append throughput by batch size: one operation is one batch appended and (with {@code sync=true}) made durable
 * with one sync, Cairn's group commit. The {@code entries} counter gives entries per second. {@code sync=false} is
 * labelled as such: nothing is flushed, it measures the copy into the mapped file and the index upkeep only.
 *
 * <p>The WAL lives under {@code cairn.bench.dir} (default: the working directory's {@code target/bench-wal}), so it
 * measures the disk you point it at; {@code /tmp} may be tmpfs, where sync is free.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
@Fork(1)
public class WalAppendBenchmark {
    /** Entries per batch (one sync per batch). */
    @Param({"1", "16", "256", "4096"})
    public int batchSize;

    /** True: every batch waits for the device. False: no sync at all (measuring only). */
    @Param({"true", "false"})
    public boolean sync;

    /** Payload bytes per entry. */
    @Param({"256"})
    public int entryBytes;

    private ChronicleWal wal;
    private WalBatch batch;
    private UnsafeBuffer payload;
    private Path directory;

    /** Counts entries so JMH reports entries/s beside batches/s. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Entries {
        /** Entries appended. */
        public long entries;
    }

    /**
     * Opens a fresh WAL.
     *
     * @throws IOException if the directory cannot be used.
     */
    @Setup(Level.Trial)
    public void open() throws IOException {
        directory = BenchDirectories.fresh("wal-append");
        wal = ChronicleWal.open(WalConfig.durable(directory).withDurable(sync));
        batch = new WalBatch(batchSize * (entryBytes + 64));
        payload = new UnsafeBuffer(ByteBuffer.allocateDirect(entryBytes));
        final byte[] random = new byte[entryBytes];
        ThreadLocalRandom.current().nextBytes(random);
        payload.putBytes(0, random);
    }

    /**
     * Closes and deletes the WAL.
     *
     * @throws IOException if it cannot be deleted.
     */
    @TearDown(Level.Trial)
    public void close() throws IOException {
        wal.close();
        BenchDirectories.delete(directory);
    }

    /**
     * Appends one batch and syncs it.
     *
     * @param counter entries counter.
     * @return the last index, so the work is not dead code.
     */
    @Benchmark
    public long appendBatch(final Entries counter) {
        batch.reset();
        long index = wal.lastIndex();
        for (int i = 0; i < batchSize; i++) {
            batch.add(++index, 1, (byte)0, payload, 0, entryBytes);
        }
        wal.append(batch);
        wal.sync();
        counter.entries += batchSize;
        return index;
    }
}
