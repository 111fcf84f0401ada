package io.cairn.bench.mvcc;

import io.cairn.bench.BenchDirectories;
import io.cairn.engine.mvcc.CommandEncoder;
import io.cairn.engine.mvcc.MvccConfig;
import io.cairn.engine.mvcc.MvccReader;
import io.cairn.engine.mvcc.MvccStore;
import org.agrona.ExpandableDirectByteBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A keyspace loaded with {@code keys} keys of 16 bytes ({@code valueBytes}-byte values, 100 keys per 8-byte prefix),
 * shared by the keyspace benchmarks. LMDB does not sync here: the WAL is what makes writes durable, and its cost is
 * measured by {@code WalAppendBenchmark}.
 */
@State(Scope.Thread)
public abstract class KeyspaceFixture {
    /** Keys loaded before measuring. */
    @Param({"100000"})
    public int keys;

    /** Value bytes per key. */
    @Param({"256"})
    public int valueBytes;

    protected Path directory;
    protected MvccStore store;
    protected MvccReader reader;
    protected final CommandEncoder encoder = new CommandEncoder();
    protected final ExpandableDirectByteBuffer response = new ExpandableDirectByteBuffer(1 << 16);
    protected final UnsafeBuffer key = new UnsafeBuffer(ByteBuffer.allocateDirect(16));
    protected final UnsafeBuffer end = new UnsafeBuffer(ByteBuffer.allocateDirect(16));
    protected UnsafeBuffer value;
    protected long index;

    /** Counts operations so JMH reports operations/s beside invocations/s. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Operations {
        /** Operations applied or served. */
        public long ops;
    }

    /**
     * Loads the keys.
     *
     * @throws IOException if the store cannot be made.
     */
    @Setup(Level.Trial)
    public void open() throws IOException {
        directory = BenchDirectories.fresh("keyspace");
        store = MvccStore.open(MvccConfig.defaults(directory));
        value = new UnsafeBuffer(ByteBuffer.allocateDirect(valueBytes));
        final byte[] random = new byte[valueBytes];
        ThreadLocalRandom.current().nextBytes(random);
        value.putBytes(0, random);
        for (int loaded = 0; loaded < keys; loaded += 1000) {
            store.beginBatch();
            for (int i = loaded; i < Math.min(keys, loaded + 1000); i++) {
                keyOf(i);
                encoder.reset().put(key, 0, 16, value, 0, valueBytes, 0, 0);
                store.apply(encoder.buffer(), 0, encoder.length(), response, 0);
            }
            store.commit(++index, 1);
        }
        reader = readsDuringTrial() ? store.newReader() : null;
    }

    /**
     * @return whether the benchmark reads through {@link #reader}. An open reader is an LMDB read transaction: it pins
     *     the pages of its snapshot, so a write benchmark that kept one would grow the file instead of reusing pages
     *     and under-report what the event loop (which holds no reader) does.
     */
    protected boolean readsDuringTrial() {
        return true;
    }

    /**
     * Closes and deletes the store.
     *
     * @throws IOException if it cannot be deleted.
     */
    @TearDown(Level.Trial)
    public void close() throws IOException {
        if (reader != null) {
            reader.close();
        }
        store.close();
        BenchDirectories.delete(directory);
    }

    protected void keyOf(final int i) {
        key.putLong(0, 0x6b65792f00000000L | (i / 100), ByteOrder.BIG_ENDIAN);
        key.putLong(8, i, ByteOrder.BIG_ENDIAN);
    }

    protected void randomKey() {
        keyOf(ThreadLocalRandom.current().nextInt(keys));
    }
}
