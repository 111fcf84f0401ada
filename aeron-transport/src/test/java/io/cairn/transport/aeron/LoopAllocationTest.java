package io.cairn.transport.aeron;

import io.cairn.consensus.EntryType;
import io.cairn.consensus.Role;
import io.cairn.consensus.keyspace.KeyspaceMember;
import io.cairn.consensus.loop.RaftListener;
import io.cairn.engine.mvcc.CommandEncoder;
import org.agrona.concurrent.SystemNanoClock;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.DatagramSocket;
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
 * over many more puts, against the applied runs (LMDB write transactions) in that time; printed per put and per
 * transaction. One object per put would cost a run of tens of puts several times the bound.
 */
@Timeout(180)
class LoopAllocationTest {
    private static final int WARMUP = 40_000;
    private static final int MEASURED = 40_000;
    private static final int IN_FLIGHT = 128;
    private static final int KEYS = 1_000;
    /** Allowed per LMDB write transaction, as in the keyspace's own allocation test: lmdbjava's ~450 bytes. */
    private static final long BYTES_PER_TRANSACTION_MAX = 1024;

    @TempDir
    Path dir;

    private final Map<Integer, String> endpoints = new HashMap<>();
    private final AeronTransport[] transports = new AeronTransport[4];
    private final KeyspaceMember[] members = new KeyspaceMember[4];
    private final int[] roles = new int[4];
    private final long[] codes = new long[WARMUP + MEASURED + 1];
    private final AtomicLong completed = new AtomicLong();
    private final CommandEncoder encoder = new CommandEncoder();

    @AfterEach
    void stop() {
        for (int id = 1; id <= 3; id++) {
            if (members[id] != null) {
                members[id].close();
            }
            if (transports[id] != null) {
                transports[id].close();
            }
        }
    }

    @Test
    void shouldNotAllocateOnTheLoopsPerPut() throws Exception {
        for (int id = 1; id <= 3; id++) {
            try (DatagramSocket socket = new DatagramSocket(0)) {
                endpoints.put(id, "127.0.0.1:" + socket.getLocalPort());
            }
        }
        for (int id = 1; id <= 3; id++) {
            start(id);
        }
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (leader() == 0) {
            assertTrue(System.nanoTime() < deadline, "a leader within 30 s");
            Thread.sleep(10);
        }
        final int leader = leader();
        final int follower = leader % 3 + 1;
        write(leader, follower, 1, WARMUP);

        final com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();
        final Map<Thread, Long> before = new HashMap<>();
        for (final Thread thread : Thread.getAllStackTraces().keySet()) {
            if ("raft".equals(thread.getName())) {
                before.put(thread, threads.getThreadAllocatedBytes(thread.getId()));
            }
        }
        assertEquals(3, before.size(), "one loop thread per member");
        final long runsBefore = runs();
        write(leader, follower, WARMUP + 1, WARMUP + MEASURED);
        awaitApplied();
        final long transactions = runs() - runsBefore;
        final StringBuilder report = new StringBuilder();
        long allocated = 0;
        for (final Map.Entry<Thread, Long> loop : before.entrySet()) {
            final long bytes = threads.getThreadAllocatedBytes(loop.getKey().getId()) - loop.getValue();
            allocated += bytes;
            report.append(String.format(" %.2f", bytes / (double)MEASURED));
        }
        report.append(String.format("; %d bytes in %d LMDB write transactions, %.0f per transaction", allocated,
            transactions, allocated / (double)transactions));
        System.out.println("loop threads' allocation, bytes per put (the three members):" + report);
        assertTrue(allocated <= transactions * BYTES_PER_TRANSACTION_MAX, "the loops allocate per put:" + report);
    }

    /** Applied runs (each one LMDB write transaction) of all three members so far. */
    private long runs() {
        long runs = 0;
        for (int id = 1; id <= 3; id++) {
            runs += members[id].agent().runsApplied();
        }
        return runs;
    }

    private void awaitApplied() throws InterruptedException {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (members[1].agent().entriesApplied() != members[2].agent().entriesApplied()
            || members[2].agent().entriesApplied() != members[3].agent().entriesApplied()) {
            assertTrue(System.nanoTime() < deadline, "every member applies every put");
            Thread.sleep(5);
        }
    }

    private void start(final int id) throws IOException {
        final Map<Integer, String> peers = new HashMap<>(endpoints);
        final String own = peers.remove(id);
        transports[id] = AeronTransport.launch(AeronTransportConfig.of(id, own, peers));
        final RaftListener listener = new RaftListener() {
            @Override
            public void onProposalComplete(final long correlationId, final long code, final long index,
                final long result) {
                codes[(int)correlationId] = code;
                completed.incrementAndGet();
            }

            @Override
            public void onReadComplete(final long correlationId, final long code, final long readIndex) {
                // No reads here.
            }

            @Override
            public void onRoleChange(final int role, final long term, final int leaderId) {
                roles[id] = role;
            }
        };
        members[id] = new KeyspaceMember(
            KeyspaceMember.Settings.of(id, dir.resolve("node-" + id), 1, 2, 3)
                .with(true, TimeUnit.MILLISECONDS.toNanos(100), 10_000, 5_000),
            transports[id], listener, (correlation, code, lease, ttl) -> { }, revision -> { },
            SystemNanoClock.INSTANCE)
            .start(Throwable::printStackTrace);
    }

    private int leader() {
        for (int id = 1; id <= 3; id++) {
            if (roles[id] == Role.LEADER) {
                return id;
            }
        }
        return 0;
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
            while (!members[target].requests().offerProposal(i, EntryType.NORMAL, encoder.buffer(), 0,
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
