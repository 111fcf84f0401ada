package io.cairn.bench.mvcc;

import io.cairn.engine.mvcc.RangeVisitor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;

/**
 * Serving reads from a reader the way the server does: a point get or a 100-key prefix range handed over as views
 * into LMDB's map, and a point get copied into a response buffer (what the gRPC edge reads from).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
@Fork(1)
public class KeyspaceReadBenchmark extends KeyspaceFixture {
    private long sink;
    private final RangeVisitor visitor = kv -> {
        sink += kv.valueLength();
        return true;
    };

    /**
     * One point get, as a view (no copy).
     *
     * @return bytes seen.
     */
    @Benchmark
    public long pointGet() {
        randomKey();
        encoder.reset().range(key, 0, 16, null, 0, 0, 0, 0, 0);
        reader.range(encoder.buffer(), 0, visitor);
        return sink;
    }

    /**
     * One point get copied into a response buffer.
     *
     * @return bytes written.
     */
    @Benchmark
    public int pointGetIntoResponse() {
        randomKey();
        encoder.reset().range(key, 0, 16, null, 0, 0, 0, 0, 0);
        return reader.rangeInto(encoder.buffer(), 0, response, 0);
    }

    /**
     * One prefix range of 100 keys, as views.
     *
     * @param counter counts keys, so JMH reports keys/s too.
     * @return bytes seen.
     */
    @Benchmark
    public long prefixRange100(final Operations counter) {
        randomKey();
        end.putLong(0, key.getLong(0, ByteOrder.BIG_ENDIAN) + 1, ByteOrder.BIG_ENDIAN);
        encoder.reset().range(key, 0, 8, end, 0, 8, 0, 0, 0);
        reader.range(encoder.buffer(), 0, visitor);
        counter.ops += reader.count();
        return sink;
    }
}
