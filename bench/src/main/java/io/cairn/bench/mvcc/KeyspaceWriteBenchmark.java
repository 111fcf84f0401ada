package io.cairn.bench.mvcc;

import io.cairn.engine.mvcc.MvccCommand;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * Applying commands the way the event loop does: {@code batchSize} commands per LMDB write transaction, random keys;
 * the {@code ops} counter gives commands/s.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
@Fork(1)
public class KeyspaceWriteBenchmark extends KeyspaceFixture {
    /** Commands per LMDB write transaction (the loop's apply batch). */
    @Param({"1", "64"})
    public int batchSize;

    /**
     * @return false: the writer works as the loop does, with no reader pinning old pages.
     */
    @Override
    protected boolean readsDuringTrial() {
        return false;
    }

    /**
     * Puts {@code batchSize} random keys in one write transaction.
     *
     * @param counter operations counter.
     * @return the revision, so the work is not dead code.
     */
    @Benchmark
    public long put(final Operations counter) {
        store.beginBatch();
        for (int i = 0; i < batchSize; i++) {
            randomKey();
            encoder.reset().put(key, 0, 16, value, 0, valueBytes, 0, 0);
            store.apply(encoder.buffer(), 0, encoder.length(), response, 0);
        }
        store.commit(++index, 1);
        counter.ops += batchSize;
        return store.revision();
    }

    /**
     * Applies {@code batchSize} txns (compare version, then put; else range) in one write transaction.
     *
     * @param counter operations counter.
     * @return the revision.
     */
    @Benchmark
    public long txn(final Operations counter) {
        store.beginBatch();
        for (int i = 0; i < batchSize; i++) {
            randomKey();
            encoder.reset().beginTxn()
                .compare(MvccCommand.COMPARE_GREATER, MvccCommand.COMPARE_VERSION, key, 0, 16, null, 0, 0, 0)
                .success().put(key, 0, 16, value, 0, valueBytes, 0, 0)
                .failure().range(key, 0, 16, null, 0, 0, 0, 0, 0).endTxn();
            store.apply(encoder.buffer(), 0, encoder.length(), response, 0);
        }
        store.commit(++index, 1);
        counter.ops += batchSize;
        return store.revision();
    }
}
