package io.cairn.bench.embedded;

import io.cairn.bench.BenchDirectories;
import io.cairn.consensus.Role;
import io.cairn.embedded.CairnError;
import io.cairn.embedded.CairnNode;
import io.cairn.embedded.NodeConfig;
import io.cairn.embedded.Watch;
import io.cairn.embedded.WatchSink;
import io.cairn.embedded.WriteHandler;
import io.cairn.embedded.kv.RangeQuery;
import io.cairn.embedded.kv.WatchOptions;
import io.cairn.engine.mvcc.KeyValueView;
import io.cairn.engine.mvcc.MvccResponse;
import io.cairn.engine.mvcc.RangeVisitor;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
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
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

import java.io.IOException;
import java.net.DatagramSocket;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The embedded API as a service calls it: three {@link CairnNode}s in this JVM (each its own loop, WAL under
 * {@code target/bench} and Aeron driver, over loopback UDP) and callers that wait for each answer. {@code put}: one
 * caller, a put through the leader's {@code kv()} until its future completes (commit p50/p99 in sample mode);
 * {@code putManyCallers}: 16 callers at once (throughput); {@code putViaFollower}: forwarded inside Raft;
 * {@code getLinearizable} and {@code getSerializable}: a get on a follower, with and without the ReadIndex round;
 * {@code putZeroAllocation} and {@code getSerializableZeroAllocation}: the same through the zero-allocation path
 * (caller-owned buffers, a reused handler and visitor; run with {@code -prof gc} to see bytes per operation);
 * {@code watchDelivery}: a put until a follower's watch has it.
 * Compare with the replicated commit ({@code ReplicatedCommitBenchmark}, no API on top), the Aeron round trip and the
 * raw fdatasync ({@code probe}) of the same run.
 */
@State(Scope.Benchmark)
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 3, time = 3)
@Fork(1)
public class EmbeddedNodeBenchmark {
    private static final int KEYS = 1_000;

    /** Sync the WAL (false: measuring only). */
    @Param({"true"})
    public boolean sync;

    /** Bytes per value. */
    @Param({"100"})
    public int valueBytes;

    /** Entries between snapshots (etcd's {@code --snapshot-count}); lower it to see what snapshots cost a loop. */
    @Param({"100000"})
    public long snapshotCount;

    private Path directory;
    private final List<CairnNode> nodes = new ArrayList<>();
    private CairnNode leader;
    private CairnNode follower;
    private byte[][] keys;
    private byte[] value;
    private final Watched watched = new Watched();
    private Watch watch;

    /**
     * Starts the three nodes, waits for a leader and writes the keys the gets read.
     *
     * @throws Exception if they cannot start.
     */
    @Setup(Level.Trial)
    public void start() throws Exception {
        directory = BenchDirectories.fresh("embedded");
        final String cluster = "a=http://127.0.0.1:" + freePort() + ",b=http://127.0.0.1:" + freePort()
            + ",c=http://127.0.0.1:" + freePort();
        for (final String name : List.of("a", "b", "c")) {
            nodes.add(CairnNode.start(NodeConfig.of(name, cluster, directory.resolve(name)).withDurable(sync)
                .withSnapshotCount(snapshotCount)));
        }
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (nodes.stream().noneMatch(node -> node.role() == Role.LEADER)) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("no leader in 10 s");
            }
            Thread.sleep(20);
        }
        leader = nodes.stream().filter(node -> node.role() == Role.LEADER).findFirst().orElseThrow();
        follower = nodes.stream().filter(node -> node != leader).findFirst().orElseThrow();
        value = new byte[valueBytes];
        keys = new byte[KEYS][];
        for (int i = 0; i < KEYS; i++) {
            keys[i] = new byte[16]; // as the zero-allocation callers write them: the index, little-endian
            new UnsafeBuffer(keys[i]).putLong(0, i);
            leader.kv().put(keys[i], value).get(10, TimeUnit.SECONDS);
        }
        watch = follower.watch(WatchOptions.prefix(new byte[0]), watched);
    }

    /**
     * Stops the nodes and deletes their files.
     *
     * @throws IOException if the files cannot be deleted.
     */
    @TearDown(Level.Trial)
    public void stop() throws IOException {
        watch.cancel();
        nodes.forEach(CairnNode::close);
        BenchDirectories.delete(directory);
    }

    // One put of a random key through the node's typed API, waited for (bounded).
    private long putThrough(final CairnNode node) throws Exception {
        return node.kv().put(anyKey(), value).get(10, TimeUnit.SECONDS).revision();
    }

    private byte[] anyKey() {
        return keys[ThreadLocalRandom.current().nextInt(KEYS)];
    }

    /**
     * @return the revision written.
     * @throws Exception if the put fails.
     */
    @Benchmark
    @BenchmarkMode({Mode.SampleTime})
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public long put() throws Exception {
        return putThrough(leader);
    }

    /**
     * @return the revision written.
     * @throws Exception if the put fails.
     */
    @Benchmark
    @BenchmarkMode({Mode.Throughput})
    @OutputTimeUnit(TimeUnit.SECONDS)
    @Threads(16)
    public long putManyCallers() throws Exception {
        return putThrough(leader);
    }

    /**
     * @return the revision written.
     * @throws Exception if the put fails.
     */
    @Benchmark
    @BenchmarkMode({Mode.SampleTime})
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public long putViaFollower() throws Exception {
        return putThrough(follower);
    }

    /**
     * @return the count read.
     * @throws Exception if the read fails.
     */
    @Benchmark
    @BenchmarkMode({Mode.SampleTime})
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public long getLinearizable() throws Exception {
        return follower.kv().range(RangeQuery.key(anyKey())).get(10, TimeUnit.SECONDS).count();
    }

    /**
     * @return the count read.
     * @throws Exception if the read fails.
     */
    @Benchmark
    @BenchmarkMode({Mode.SampleTime})
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public long getSerializable() throws Exception {
        return follower.kv().range(RangeQuery.key(anyKey()).asSerializable()).get(10, TimeUnit.SECONDS).count();
    }

    /**
     * A put on the zero-allocation path ({@code WriteHandler}, caller-owned buffers): the handler unparks the caller,
     * which parks until its own put is answered.
     *
     * @param caller the caller's buffers and handler.
     * @return the revision written.
     */
    @Benchmark
    @BenchmarkMode({Mode.SampleTime})
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public long putZeroAllocation(final Caller caller) {
        caller.key.putLong(0, ThreadLocalRandom.current().nextInt(KEYS));
        caller.done = false;
        caller.waiter = Thread.currentThread();
        leader.kv().put(caller.key, 0, caller.key.capacity(), caller.value, 0, caller.value.capacity(), 0, caller, 0);
        while (!caller.done) {
            LockSupport.park(this);
        }
        if (caller.error != null) {
            throw new IllegalStateException(caller.error.message());
        }
        return caller.revision;
    }

    /**
     * A serializable get on the zero-allocation path: a view of the value, on the caller's thread, on a follower.
     *
     * @param caller the caller's buffers and visitor.
     * @return bytes seen.
     */
    @Benchmark
    @BenchmarkMode({Mode.SampleTime})
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public long getSerializableZeroAllocation(final Caller caller) {
        caller.key.putLong(0, ThreadLocalRandom.current().nextInt(KEYS));
        caller.seen = 0;
        follower.kv().getSerializable(caller.key, 0, caller.key.capacity(), caller);
        return caller.seen;
    }

    /**
     * Watch delivery: a put through the leader, timed until a watch on a follower (a {@code WatchSink}, views on the
     * follower's watch thread) has received it. Beside {@code putZeroAllocation}: what the watch adds to the commit.
     *
     * @param caller the caller's buffers and handler.
     * @return the revision delivered.
     */
    @Benchmark
    @BenchmarkMode({Mode.SampleTime})
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public long watchDelivery(final Caller caller) {
        caller.key.putLong(0, ThreadLocalRandom.current().nextInt(KEYS));
        caller.done = false;
        caller.waiter = Thread.currentThread();
        final long seenBefore = watched.seen;
        watched.waiter = Thread.currentThread();
        leader.kv().put(caller.key, 0, caller.key.capacity(), caller.value, 0, caller.value.capacity(), 0, caller, 0);
        while (watched.seen == seenBefore) {
            LockSupport.park(this);
        }
        return watched.revision;
    }

    /** The follower's watch of every key the benchmark writes: counts what it is handed, wakes the caller. */
    static final class Watched implements WatchSink {
        volatile Thread waiter;
        volatile long seen;
        volatile long revision;

        @Override
        public void onEvent(final KeyValueView change, final KeyValueView previous) {
            revision = change.modRevision();
        }

        @Override
        public void onBatchEnd(final long current) {
            seen++;
            LockSupport.unpark(waiter);
        }

        @Override
        public void onCompacted(final long compactRevision, final long current) {
            // The benchmark never compacts.
        }
    }

    /** One caller's buffers, handler and visitor, reused for every call. */
    @State(Scope.Thread)
    public static class Caller implements WriteHandler, RangeVisitor {
        final UnsafeBuffer key = new UnsafeBuffer(ByteBuffer.allocateDirect(16));
        final UnsafeBuffer value = new UnsafeBuffer(ByteBuffer.allocateDirect(100));
        volatile Thread waiter;
        volatile boolean done;
        CairnError error;
        long revision;
        long seen;

        @Override
        public void onWritten(final long context, final CairnError failure, final DirectBuffer response,
            final int offset, final int length) {
            error = failure;
            revision = failure == null ? MvccResponse.revision(response, offset) : 0;
            done = true;
            LockSupport.unpark(waiter);
        }

        @Override
        public boolean onKeyValue(final KeyValueView kv) {
            seen += kv.valueLength();
            return true;
        }
    }

    private static int freePort() throws IOException {
        try (DatagramSocket socket = new DatagramSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
