package io.cairn.transport.aeron;

import io.cairn.consensus.EntryType;
import io.cairn.consensus.keyspace.KeyspaceMember;
import io.cairn.consensus.loop.RaftListener;
import io.cairn.engine.mvcc.CommandEncoder;
import io.cairn.engine.mvcc.MvccReader;
import io.aeron.ExclusivePublication;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: three members replicate the keyspace over real Aeron UDP on loopback: they elect a leader, commit 100,000
 * puts (fsync on) while garbage frames are fired at a follower, lose their leader's loop and elect another without
 * losing anything acknowledged, and take the old leader back from its data directory. Method: three
 * {@link KeyspaceMember}s with durable WALs, LMDB and embedded media drivers in this JVM, their loops on their own
 * threads; proposals offered from the test thread; every wait bounded.
 */
@Timeout(180)
class AeronClusterTest {
    private static final int WRITES = 100_000;
    private static final long TICK_NS = TimeUnit.MILLISECONDS.toNanos(20);

    @TempDir
    Path dir;

    private final Map<Long, Long> outcomes = new ConcurrentHashMap<>();
    private final AtomicLong committed = new AtomicLong();
    private final CommandEncoder encoder = new CommandEncoder();
    private AeronMembers cluster;

    @AfterEach
    void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    private void startMember(final int id) throws IOException {
        cluster.start(id, KeyspaceMember.Settings.of(id, dir.resolve("node-" + id), 1, 2, 3)
            .with(true, TICK_NS, 20_000, 5_000), (correlationId, code, index, result) -> {
                outcomes.put(correlationId, code);
                if (code == RaftListener.COMMITTED) {
                    committed.incrementAndGet();
                }
            });
    }

    private static void await(final String what, final long seconds, final BooleanSupplier condition)
        throws InterruptedException {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "timed out waiting for " + what);
            Thread.sleep(5);
        }
    }

    /**
     * Proposes puts of keys {@code from..to} to the leader and waits for each outcome; a proposal refused for flow
     * control (the leader's uncommitted window full) is offered again, as a client would. Returns when all committed.
     */
    private void write(final int leader, final long from, final long to) throws InterruptedException {
        final byte[] value = new byte[64];
        long next = from;
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (true) {
            for (long i = next; i <= to; i++) {
                offer(leader, i, value);
            }
            next = to + 1;
            try {
                await("outcomes of keys up to " + to, 60, () -> outcomesFor(from, to) == to - from + 1);
            } catch (final AssertionError ex) {
                final StringBuilder state = new StringBuilder();
                for (int id = 1; id <= 3; id++) {
                    if (cluster.member(id) != null) {
                        state.append(" member ").append(id).append(" role ").append(cluster.role(id))
                            .append(" applied ")
                            .append(applied(id));
                    }
                }
                long firstMissing = -1;
                for (long i = from; i <= to && firstMissing < 0; i++) {
                    firstMissing = outcomes.containsKey(i) ? -1 : i;
                }
                throw new AssertionError(ex.getMessage() + ": " + (to - from + 1 - outcomesFor(from, to))
                    + " without an outcome, first " + firstMissing + ";" + state, ex);
            }
            boolean retried = false;
            for (long i = from; i <= to; i++) {
                final Long code = outcomes.get(i);
                if (code != RaftListener.COMMITTED) {
                    assertEquals(io.cairn.consensus.RaftResult.FULL, code, "only flow control refuses here");
                    outcomes.remove(i);
                    offer(leader, i, value);
                    retried = true;
                }
            }
            if (!retried) {
                return;
            }
            assertTrue(System.nanoTime() < deadline, "writes kept being refused");
        }
    }

    private void offer(final int leader, final long key, final byte[] value) throws InterruptedException {
        encoder.reset().put(("key/" + String.format("%07d", key)).getBytes(StandardCharsets.UTF_8), value, 0, 0);
        while (!cluster.member(leader).requests().offerProposal(key, EntryType.NORMAL, encoder.buffer(), 0,
            encoder.length())) {
            Thread.sleep(1);
        }
    }

    private long outcomesFor(final long from, final long to) {
        long seen = 0;
        for (long i = from; i <= to; i++) {
            seen += outcomes.containsKey(i) ? 1 : 0;
        }
        return seen;
    }

    private long keys(final int id) {
        final UnsafeBuffer all = new UnsafeBuffer(new byte[] {0});
        final CommandEncoder range = new CommandEncoder().range(all, 0, 1, all, 0, 1, 0, 0,
            io.cairn.engine.mvcc.MvccCommand.FLAG_COUNT_ONLY);
        try (MvccReader reader = cluster.member(id).store().newReader()) {
            reader.range(range.buffer(), 0, kv -> true);
            return reader.count();
        }
    }

    private long hash(final int id) {
        try (MvccReader reader = cluster.member(id).store().newReader()) {
            return reader.hashKv(0);
        }
    }

    /** The member's applied index as committed in its store (read through a reader: the store's fields belong to
     * its loop thread). */
    private long dropped(final int id) {
        return cluster.transport(id).droppedFrames();
    }

    private long applied(final int id) {
        try (MvccReader reader = cluster.member(id).store().newReader()) {
            return reader.appliedIndex();
        }
    }

    @Test
    void shouldReplicateOverAeronSurviveLeaderLossAndTakeItBack() throws Exception {
        cluster = new AeronMembers();
        for (int id = 1; id <= 3; id++) {
            startMember(id);
        }
        final int first = cluster.awaitLeader(30);
        final int victimOfGarbage = first % 3 + 1;
        // A rogue node of its own (its driver runs on the garbage thread, as a member's runs on its loop) sends raw
        // junk, not Cairn frames, straight into a follower's stream.
        final String rogueEndpoint = "127.0.0.1:" + AeronMembers.freePort();
        final AeronTransport rogueNode = AeronTransport.launch(AeronTransportConfig.of(99, rogueEndpoint,
            Map.of(victimOfGarbage, cluster.endpoint(victimOfGarbage))));
        final ExclusivePublication rogue = rogueNode.aeron().addExclusivePublication(
            AeronTransportConfig.channel(cluster.endpoint(victimOfGarbage), AeronTransportConfig.MTU_BYTES_DEFAULT),
            AeronTransportConfig.STREAM_ID_DEFAULT);
        final Thread garbage = new Thread(() -> {
            final Random random = new Random(5);
            final UnsafeBuffer junk = new UnsafeBuffer(ByteBuffer.allocateDirect(512));
            try {
                for (int i = 0; i < 2_000 && !Thread.currentThread().isInterrupted(); i++) {
                    for (int b = 0; b < 512; b++) {
                        junk.putByte(b, (byte)random.nextInt());
                    }
                    rogue.offer(junk, 0, 1 + random.nextInt(512));
                    rogueNode.invokeDriver();
                    Thread.onSpinWait();
                }
            } finally {
                rogueNode.close();
            }
        });
        garbage.start();
        final long startNs = System.nanoTime();
        write(first, 1, WRITES);
        final long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);
        garbage.join(10_000);
        final long acknowledged = committed.get();
        assertEquals(WRITES, acknowledged, "every proposal to a steady leader commits (after flow-control retries)");
        System.out.println("100,000 puts committed over Aeron (fsync on) in " + elapsedMs + " ms; "
            + dropped(victimOfGarbage) + " garbage frames dropped by member " + victimOfGarbage);
        assertTrue(dropped(victimOfGarbage) > 0, "garbage reached the follower and was dropped");
        await("followers to apply everything", 30, () -> applied(1) == applied(2) && applied(2) == applied(3));

        cluster.stop(first);
        await("a new leader", 30, () -> cluster.leader() != 0 && cluster.leader() != first);
        final int second = cluster.leader();
        write(second, WRITES + 1, WRITES + 1_000);
        final int survivor = 6 - first - second;
        await("the survivors to apply everything", 30, () -> applied(survivor) == applied(second));
        for (int id = 1; id <= 3; id++) {
            if (cluster.member(id) != null) {
                assertEquals(WRITES + 1_000, keys(id), "member " + id + " holds every acknowledged write");
            }
        }

        startMember(first);
        await("the old leader to catch up", 60, () -> applied(first) == applied(second));
        assertEquals(WRITES + 1_000, keys(first));
        assertEquals(hash(second), hash(first));
        assertNotEquals(0, cluster.leader());
    }
}
