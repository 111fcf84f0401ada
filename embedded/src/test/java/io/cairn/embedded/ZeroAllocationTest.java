package io.cairn.embedded;

import io.cairn.consensus.Role;
import io.cairn.engine.mvcc.KeyValueView;
import io.cairn.engine.mvcc.MvccError;
import io.cairn.engine.mvcc.RangeVisitor;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: the embedded API's zero-allocation path allocates nothing per put on the caller's thread and on the nodes'
 * loop threads (leader and followers, with puts made on the leader and on a follower), and nothing per serializable
 * get on the caller's thread. What the loops are allowed is lmdbjava's objects per LMDB write transaction (one per
 * applied run, not per put; see {@code LoopAllocationTest}); the caller's thread is allowed the watchdog's sweep
 * scheduling (one small task per 250 ms while writes are in flight), far below one object per put. Method: three
 * nodes in this JVM; one {@link WriteHandler} instance serves every put; after a warm-up (keys filled, JIT settled)
 * count {@code ThreadMXBean#getThreadAllocatedBytes} over windows of puts and of gets; the best of three windows counts
 * (the JIT may still compile in the first on two shared cores; an object per put shows in every window).
 */
@Timeout(240)
class ZeroAllocationTest {
    private static final int WARMUP = 40_000;
    private static final int MEASURED = 30_000;
    private static final int WINDOWS = 3;
    private static final int IN_FLIGHT = 128;
    private static final int KEYS = 1_000;
    /** lmdbjava's objects per write transaction and the keys cursor it opens (as {@code LoopAllocationTest}). */
    private static final long LOOP_BYTES_PER_TRANSACTION_MAX = 1536;
    /** On the caller: below one 16-byte object every eight puts. */
    private static final double CALLER_BYTES_PER_PUT_MAX = 2;

    @TempDir
    Path dataDir;

    private final List<CairnNode> nodes = new ArrayList<>();
    private final AtomicLong completed = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private final WriteHandler handler = (context, error, response, offset, length) -> {
        if (error != null) {
            failed.incrementAndGet();
        }
        completed.incrementAndGet();
    };
    private final RangeVisitor counter = this::count;
    private long found;

    @AfterEach
    void stop() {
        nodes.forEach(CairnNode::close);
    }

    private boolean count(final KeyValueView kv) {
        found += kv.valueLength();
        return true;
    }

    @Test
    void shouldNotAllocatePerPutOrGet() throws Exception {
        final String cluster = "a=http://127.0.0.1:" + freePort() + ",b=http://127.0.0.1:" + freePort()
            + ",c=http://127.0.0.1:" + freePort();
        for (final String name : List.of("a", "b", "c")) {
            // No snapshot while measuring: one is taken every 100,000 entries by default, allocates by design (once
            // per snapshot, not per put), and landed inside the last window (puts 100,000-130,000) in one CI run.
            nodes.add(CairnNode.start(NodeConfig.of(name, cluster, dataDir.resolve(name))
                .withSnapshotCount(10L * (WARMUP + WINDOWS * MEASURED))));
        }
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (nodes.stream().noneMatch(node -> node.role() == Role.LEADER)) {
            assertTrue(System.nanoTime() < deadline, "a leader");
            Thread.sleep(20);
        }
        final CairnNode leader = nodes.stream().filter(node -> node.role() == Role.LEADER).findFirst().orElseThrow();
        final CairnNode follower = nodes.stream().filter(node -> node != leader).findFirst().orElseThrow();
        final UnsafeBuffer key = new UnsafeBuffer(ByteBuffer.allocateDirect(16));
        final UnsafeBuffer value = new UnsafeBuffer(ByteBuffer.allocateDirect(256));
        put(leader, follower, key, value, 0, WARMUP);
        get(follower, key, WARMUP);
        assertEquals(0, failed.get(), "every warm-up put applied");

        final com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();
        final long self = Thread.currentThread().getId();
        final StringBuilder windows = new StringBuilder();
        boolean steady = false;
        for (int window = 0; window < WINDOWS && !steady; window++) {
            final Map<Thread, Long> before = new HashMap<>();
            for (final Thread thread : Thread.getAllStackTraces().keySet()) {
                if ("raft".equals(thread.getName())) {
                    before.put(thread, threads.getThreadAllocatedBytes(thread.getId()));
                }
            }
            assertEquals(3, before.size(), "one loop thread per node");
            final long runsBefore = runs();
            final long callerBefore = threads.getThreadAllocatedBytes(self);
            put(leader, follower, key, value, WARMUP + window * MEASURED, MEASURED);
            final long callerPuts = threads.getThreadAllocatedBytes(self) - callerBefore;
            final long getsBefore = threads.getThreadAllocatedBytes(self);
            get(follower, key, MEASURED);
            final long callerGets = threads.getThreadAllocatedBytes(self) - getsBefore;
            awaitApplied();
            final long transactions = runs() - runsBefore;
            long loops = 0;
            for (final Map.Entry<Thread, Long> loop : before.entrySet()) {
                loops += threads.getThreadAllocatedBytes(loop.getKey().getId()) - loop.getValue();
            }
            windows.append(String.format("%n  window %d: caller %.3f bytes per put, %.3f per get; loops %d bytes in %d"
                + " LMDB write transactions (%.0f per transaction, %.3f per put)", window + 1,
                callerPuts / (double)MEASURED, callerGets / (double)MEASURED, loops, transactions,
                loops / (double)transactions, loops / (double)MEASURED));
            steady = callerPuts <= CALLER_BYTES_PER_PUT_MAX * MEASURED && callerGets == 0
                && loops <= transactions * LOOP_BYTES_PER_TRANSACTION_MAX;
        }
        System.out.println("zero-allocation path:" + windows);
        assertEquals(0, failed.get(), "every put applied");
        assertTrue(found > 0, "the gets found the keys");
        assertTrue(steady, "the zero-allocation path allocates per operation:" + windows);
    }

    /** Puts {@code count} keys from {@code first} (modulo {@link #KEYS}), every fourth through the follower. */
    private void put(final CairnNode leader, final CairnNode follower, final UnsafeBuffer key,
        final UnsafeBuffer value, final int first, final int count) {
        final long target = completed.get() + count;
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        long sent = completed.get();
        for (int i = first; i < first + count; i++) {
            while (sent - completed.get() >= IN_FLIGHT) {
                assertTrue(System.nanoTime() < deadline, "puts complete");
                LockSupport.parkNanos(20_000);
            }
            key.putLong(0, i % KEYS);
            value.putLong(0, i);
            ((i & 3) == 3 ? follower : leader).kv().put(key, 0, 16, value, 0, 256, 0, handler, i);
            sent++;
        }
        while (completed.get() < target) {
            assertTrue(System.nanoTime() < deadline, "puts complete");
            LockSupport.parkNanos(20_000);
        }
    }

    private void get(final CairnNode node, final DirectBuffer key, final int count) {
        final UnsafeBuffer mutable = (UnsafeBuffer)key;
        for (int i = 0; i < count; i++) {
            mutable.putLong(0, i % KEYS);
            assertEquals(MvccError.OK, node.kv().getSerializable(key, 0, 16, counter));
        }
    }

    private long runs() {
        long runs = 0;
        for (final CairnNode node : nodes) {
            runs += node.loop().runsApplied();
        }
        return runs;
    }

    private void awaitApplied() throws InterruptedException {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (nodes.get(0).loop().entriesApplied() != nodes.get(1).loop().entriesApplied()
            || nodes.get(1).loop().entriesApplied() != nodes.get(2).loop().entriesApplied()) {
            assertTrue(System.nanoTime() < deadline, "every node applies every put");
            Thread.sleep(5);
        }
    }

    private static int freePort() throws IOException {
        return FreePorts.udp();
    }
}
