package io.cairn.transport.aeron;

import io.cairn.consensus.EntryType;
import io.cairn.consensus.keyspace.KeyspaceMember;
import io.cairn.consensus.loop.RaftListener;
import io.cairn.engine.mvcc.CommandEncoder;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: the steady put path allocates nothing per put on the members' loop threads — the leader's and the
 * followers', with proposals made on the leader and forwarded by a follower: the loop runs the Raft core, the WAL, the
 * embedded Aeron driver and client, and the keyspace's LMDB transactions. What is left is lmdbjava's own objects per
 * write transaction (its {@code Txn}, key/value holders and their native-memory handles: one transaction per applied
 * run, not per put; its API has no way to reuse them). Method: three {@link KeyspaceMember}s over Aeron UDP on
 * loopback in this JVM (durable WALs, snapshots and compaction as in production), a listener that records into
 * arrays; after a warm-up that fills the key range (the LMDB tree stops growing), lets the WAL's index reach its
 * size and the JIT settle, count the loop threads' allocated bytes ({@code ThreadMXBean#getThreadAllocatedBytes})
 * over windows of 30,000 more puts, against the applied runs (LMDB write transactions) in each; printed per put and
 * per transaction. The first window within the bound passes (at most three: a clean build's first fork may still be
 * compiling); one object per put would cost a run of tens of puts several times the bound in every window.
 */
@Timeout(180)
class LoopAllocationTest {
    private static final int WARMUP = 40_000;
    private static final int MEASURED = 30_000;
    /** Measured windows at most; the best counts. */
    private static final int WINDOWS = 3;
    private static final int IN_FLIGHT = 128;
    private static final int KEYS = 1_000;
    /**
     * Allowed per LMDB write transaction: lmdbjava's objects for the transaction (~450 bytes, as in the keyspace's own
     * allocation test) and for the keys cursor a batch of puts opens in it (~340 bytes; lmdbjava cannot renew a write
     * transaction's cursor). One 16-byte object per put would add ~900 bytes per transaction at this test's ~58 puts
     * per transaction.
     */
    private static final long BYTES_PER_TRANSACTION_MAX = 1536;

    @TempDir
    Path dir;

    private final long[] codes = new long[WARMUP + WINDOWS * MEASURED + 1];
    private final AtomicLong completed = new AtomicLong();
    private final CommandEncoder encoder = new CommandEncoder();
    private AeronMembers cluster;

    @AfterEach
    void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void shouldNotAllocateOnTheLoopsPerPut() throws Exception {
        cluster = new AeronMembers();
        for (int id = 1; id <= AeronMembers.COUNT; id++) {
            final KeyspaceMember.Settings settings = KeyspaceMember.Settings.of(id, dir.resolve("node-" + id), 1, 2, 3)
                .with(true, TimeUnit.MILLISECONDS.toNanos(100), 10_000, 5_000);
            cluster.start(id, settings, (correlationId, code, index, result) -> {
                codes[(int)correlationId] = code;
                completed.incrementAndGet();
            });
        }
        final int leader = cluster.awaitLeader(30);
        final int follower = leader % 3 + 1;
        write(leader, follower, 1, WARMUP);

        final com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();
        final StringBuilder windows = new StringBuilder();
        boolean steady = false;
        // A window can still hold the JIT's last compilations on two shared cores (code not yet compiled allocates
        // what escape analysis later removes): the best of WINDOWS counts. An allocation per put shows in every one.
        for (int window = 0; window < WINDOWS && !steady; window++) {
            final int from = WARMUP + window * MEASURED + 1;
            final Map<Thread, Long> before = new HashMap<>();
            for (final Thread thread : Thread.getAllStackTraces().keySet()) {
                if ("raft".equals(thread.getName())) {
                    before.put(thread, threads.getThreadAllocatedBytes(thread.getId()));
                }
            }
            assertEquals(3, before.size(), "one loop thread per member");
            final long runsBefore = runs();
            write(leader, follower, from, from + MEASURED - 1);
            awaitApplied();
            final long transactions = runs() - runsBefore;
            long allocated = 0;
            windows.append("\n  window ").append(window + 1).append(", bytes per put:");
            for (final Map.Entry<Thread, Long> loop : before.entrySet()) {
                final long bytes = threads.getThreadAllocatedBytes(loop.getKey().getId()) - loop.getValue();
                allocated += bytes;
                windows.append(String.format(" %.2f", bytes / (double)MEASURED));
            }
            windows.append(String.format("; %d bytes in %d LMDB write transactions, %.0f per transaction", allocated,
                transactions, allocated / (double)transactions));
            steady = allocated <= transactions * BYTES_PER_TRANSACTION_MAX;
        }
        System.out.println("loop threads' allocation (the three members):" + windows);
        assertTrue(steady, "the loops allocate per put:" + windows);
    }

    /** Applied runs (each one LMDB write transaction) of all three members so far. */
    private long runs() {
        long runs = 0;
        for (int id = 1; id <= 3; id++) {
            runs += cluster.member(id).agent().runsApplied();
        }
        return runs;
    }

    private void awaitApplied() throws InterruptedException {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (cluster.member(1).agent().entriesApplied() != cluster.member(2).agent().entriesApplied()
            || cluster.member(2).agent().entriesApplied() != cluster.member(3).agent().entriesApplied()) {
            assertTrue(System.nanoTime() < deadline, "every member applies every put");
            Thread.sleep(5);
        }
    }

    /** Puts keys {@code from..to} (modulo {@link #KEYS}), every fourth through the follower, a window in flight. */
    private void write(final int leader, final int follower, final int from, final int to) throws Exception {
        final UnsafeBuffer key = new UnsafeBuffer(ByteBuffer.allocateDirect(16));
        final UnsafeBuffer value = new UnsafeBuffer(ByteBuffer.allocateDirect(256));
        final long completedBefore = completed.get();
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        for (int i = from; i <= to; i++) {
            while (i - from - (completed.get() - completedBefore) >= IN_FLIGHT) {
                assertTrue(System.nanoTime() < deadline, "puts completing");
                Thread.onSpinWait();
            }
            key.putLong(0, i % KEYS);
            key.putLong(8, 42);
            encoder.reset().put(key, 0, 16, value, 0, 256, 0, 0);
            final int target = i % 4 == 0 ? follower : leader;
            while (!cluster.member(target).requests().offerProposal(i, EntryType.NORMAL, encoder.buffer(), 0,
                encoder.length())) {
                Thread.onSpinWait();
            }
        }
        while (completed.get() - completedBefore < to - from + 1) {
            assertTrue(System.nanoTime() < deadline, "puts completing");
            Thread.sleep(1);
        }
        for (int i = from; i <= to; i++) {
            assertEquals(RaftListener.COMMITTED, codes[i], "put " + i);
        }
    }
}
