package io.cairn.consensus.keyspace;

import io.cairn.consensus.Role;
import io.cairn.consensus.loop.InMemoryNetwork;
import io.cairn.consensus.loop.RaftListener;
import io.cairn.engine.mvcc.CommandEncoder;
import io.cairn.engine.mvcc.MvccError;
import io.cairn.engine.mvcc.MvccReader;
import io.cairn.engine.mvcc.MvccResponse;
import org.agrona.concurrent.NanoClock;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: the keyspace replicated by Raft behaves as one etcd keyspace: puts commit with their responses, every member
 * applies the same history (same hash), linearizable reads on a follower see committed writes, leases expire on the
 * leader (their keys deleted everywhere) unless kept alive and are given their whole TTL again by a new leader, a
 * lagging follower is brought back by a real snapshot file while a reader thread reads it, and a member restarted
 * from its directories catches up. Method: three {@link KeyspaceMember}s with real ChronicleWals, LMDB stores and
 * snapshot files, driven by hand on one thread over an in-memory network with a manual clock (deterministic).
 */
class KeyspaceClusterTest {
    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);

    @TempDir
    Path dir;

    private final InMemoryNetwork network = new InMemoryNetwork(3, 8 << 20);
    private final KeyspaceMember[] members = new KeyspaceMember[4];
    private final Recorder[] recorders = new Recorder[4];
    private final long[] revisions = new long[4];
    private final ManualClock clock = new ManualClock();
    private final CommandEncoder encoder = new CommandEncoder();
    private final Map<Long, long[]> leaseAnswers = new HashMap<>();
    private long snapshotEvery = 0;

    static final class ManualClock implements NanoClock {
        long nowNs = 1;

        @Override
        public long nanoTime() {
            return nowNs;
        }
    }

    /** Completions, with each committed response's status and revision read at once (loop thread). */
    final class Recorder implements RaftListener {
        final int id;
        final Map<Long, Long> codes = new HashMap<>();
        final Map<Long, int[]> statuses = new HashMap<>();
        final Map<Long, Long> responseRevisions = new HashMap<>();
        final Map<Long, Long> reads = new HashMap<>();

        Recorder(final int id) {
            this.id = id;
        }

        @Override
        public void onProposalComplete(final long correlationId, final long code, final long index,
            final long result) {
            codes.put(correlationId, code);
            if (code == COMMITTED) {
                final int at = KeyspaceStateMachine.responseOffset(result);
                statuses.put(correlationId, new int[] {
                    MvccResponse.status(members[id].stateMachine().responses(), at)});
                responseRevisions.put(correlationId,
                    MvccResponse.revision(members[id].stateMachine().responses(), at));
            }
        }

        @Override
        public void onReadComplete(final long correlationId, final long code, final long readIndex) {
            reads.put(correlationId, code == COMMITTED ? readIndex : code);
        }

        @Override
        public void onRoleChange(final int role, final long term, final int leaderId) {
            // Roles are read from the cores directly.
        }
    }

    @AfterEach
    void close() {
        for (int id = 1; id <= 3; id++) {
            if (members[id] != null) {
                members[id].close();
            }
        }
    }

    private void start(final int id) throws IOException {
        recorders[id] = new Recorder(id);
        final int node = id;
        members[id] = new KeyspaceMember(
            KeyspaceMember.Settings.of(id, dir.resolve("node-" + id), 1, 2, 3)
                .with(false, 10 * MS, snapshotEvery, 0),
            network.transport(id), recorders[id],
            (correlation, code, lease, ttl) -> leaseAnswers.put(correlation, new long[] {code, ttl}),
            revision -> revisions[node] = revision, clock);
        members[id].agent().onStart();
    }

    private void startAll() throws IOException {
        for (int id = 1; id <= 3; id++) {
            start(id);
        }
    }

    private void cycles(final int count) {
        for (int i = 0; i < count; i++) {
            clock.nowNs += MS;
            for (int id = 1; id <= 3; id++) {
                if (members[id] != null) {
                    members[id].agent().doWork();
                }
            }
        }
    }

    private int leader() {
        for (int id = 1; id <= 3; id++) {
            if (members[id] != null && members[id].agent().core().role() == Role.LEADER) {
                return id;
            }
        }
        return 0;
    }

    private int electLeader() {
        for (int i = 0; i < 5_000 && leader() == 0; i++) {
            cycles(1);
        }
        assertNotEquals(0, leader(), "a leader");
        cycles(50);
        return leader();
    }

    private void propose(final int id, final long correlationId) {
        assertTrue(members[id].requests().offerProposal(correlationId, io.cairn.consensus.EntryType.NORMAL,
            encoder.buffer(), 0, encoder.length()));
    }

    private void put(final int id, final long correlationId, final String key, final String value, final long lease) {
        encoder.reset().put(key.getBytes(StandardCharsets.UTF_8), value.getBytes(StandardCharsets.UTF_8), lease, 0);
        propose(id, correlationId);
    }

    private long hash(final int id) {
        try (MvccReader reader = members[id].store().newReader()) {
            return reader.hashKv(0);
        }
    }

    private long count(final int id) {
        final UnsafeBuffer all = new UnsafeBuffer(new byte[] {0});
        final CommandEncoder range = new CommandEncoder().range(all, 0, 1, all, 0, 1, 0, 0, 0);
        try (MvccReader reader = members[id].store().newReader()) {
            assertEquals(MvccError.OK, reader.range(range.buffer(), 0, kv -> true));
            return reader.count();
        }
    }

    private long[] askLease(final int id, final byte type, final long lease, final long correlationId) {
        final UnsafeBuffer payload = new UnsafeBuffer(new byte[8]);
        payload.putLong(0, lease, ByteOrder.LITTLE_ENDIAN);
        assertTrue(members[id].requests().offerLocal(correlationId, type, payload, 0, 8));
        cycles(6); // a follower's question goes to the leader and back inside Raft
        return leaseAnswers.get(correlationId);
    }

    @Test
    void shouldReplicatePutsWithResponsesAndServeLinearizableReadsOnFollower() throws IOException {
        startAll();
        final int leader = electLeader();
        for (long i = 1; i <= 200; i++) {
            put(leader, i, "key/" + i, "value-" + i, 0);
        }
        cycles(50);
        for (long i = 1; i <= 200; i++) {
            assertEquals(RaftListener.COMMITTED, recorders[leader].codes.get(i), "proposal " + i);
            assertEquals(MvccError.OK, recorders[leader].statuses.get(i)[0]);
            assertEquals(1 + i, recorders[leader].responseRevisions.get(i), "revision of put " + i);
        }
        for (int id = 1; id <= 3; id++) {
            assertEquals(hash(leader), hash(id), "member " + id + " applied the same history");
            assertEquals(201, revisions[id], "watchers of member " + id + " were told the revision");
        }
        final int follower = leader % 3 + 1;
        put(leader, 1000, "late", "write", 0);
        cycles(3);
        assertTrue(members[follower].requests().offerRead(77));
        cycles(20);
        final long readIndex = recorders[follower].reads.get(77L);
        assertTrue(readIndex > 0);
        try (MvccReader reader = members[follower].store().newReader()) {
            assertTrue(reader.appliedIndex() >= readIndex, "a released read finds its index applied");
        }
        assertEquals(201, count(follower));
    }

    @Test
    void shouldExpireLeaseOnLeaderUnlessKeptAliveAndRefreshItOnNewLeader() throws IOException {
        startAll();
        int leader = electLeader();
        encoder.reset().leaseGrant(7, 2);
        propose(leader, 1);
        cycles(5);
        put(leader, 2, "held", "by-lease", 7);
        put(leader, 3, "free", "no-lease", 0);
        cycles(5);
        assertEquals(1, members[leader].leases().leasesTimed());
        for (int second = 0; second < 4; second++) {
            cycles(1_000);
            assertEquals(LeaseKeeper.OK, askLease(leader, LeaseKeeper.KEEP_ALIVE, 7, 100 + second)[0]);
        }
        assertEquals(2, count(leader), "kept alive for four seconds of a two-second TTL");
        // A follower relays keep-alives and TTL questions to the leader inside Raft and answers with its answer.
        final int follower = leader % 3 + 1;
        final long[] relayed = askLease(follower, LeaseKeeper.KEEP_ALIVE, 7, 200);
        assertEquals(LeaseKeeper.OK, relayed[0]);
        assertEquals(2, relayed[1], "the granted TTL");
        assertEquals(LeaseKeeper.NOT_FOUND, askLease(follower, LeaseKeeper.TIME_TO_LIVE, 8, 201)[0]);
        assertEquals(2, members[follower].leases().relayed());

        // A new leader gives the lease its whole TTL again.
        cycles(1_500);
        network.isolate(leader);
        final int old = leader;
        for (int i = 0; i < 5_000 && (leader() == 0 || leader() == old); i++) {
            cycles(1);
        }
        leader = leader();
        assertNotEquals(old, leader);
        assertTrue(askLease(leader, LeaseKeeper.TIME_TO_LIVE, 7, 300)[1] >= 1);
        cycles(3_000);
        network.heal();
        cycles(200);
        assertEquals(LeaseKeeper.NOT_FOUND, askLease(leader, LeaseKeeper.TIME_TO_LIVE, 7, 400)[0]);
        assertTrue(members[leader].leases().revokesProposed() >= 1);
        for (int id = 1; id <= 3; id++) {
            assertEquals(1, count(id), "member " + id + ": the leased key went with the lease");
            try (MvccReader reader = members[id].store().newReader()) {
                assertEquals(-1, reader.leaseTtl(7));
            }
        }
    }

    @Test
    void shouldBringLaggingFollowerBackWithSnapshotFileWhileItsReaderReads() throws Exception {
        snapshotEvery = 50;
        startAll();
        final int leader = electLeader();
        final int lagging = leader % 3 + 1;
        network.isolate(lagging);
        for (long i = 1; i <= 400; i++) {
            put(leader, i, "k/" + (i % 97), "v" + i, 0);
            cycles(1);
        }
        cycles(20);
        final AtomicBoolean stop = new AtomicBoolean();
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        final Thread reading = new Thread(() -> {
            try (MvccReader reader = members[lagging].store().newReader()) {
                while (!stop.get()) {
                    reader.refresh();
                    reader.hashKv(0);
                }
            } catch (final Throwable ex) {
                failure.set(ex);
            }
        });
        reading.start();
        network.heal();
        cycles(2_000);
        stop.set(true);
        reading.join(10_000);
        assertNull(failure.get());
        assertEquals(hash(leader), hash(lagging));
        assertEquals(members[leader].store().appliedIndex(), members[lagging].store().appliedIndex());
        assertTrue(members[lagging].agent().core().snapshotsInstalledCount() >= 1, "caught up by a snapshot");
    }

    @Test
    void shouldCatchUpMemberRestartedFromItsDirectories() throws IOException {
        startAll();
        final int leader = electLeader();
        final int restarted = leader % 3 + 1;
        for (long i = 1; i <= 100; i++) {
            put(leader, i, "a/" + i, "1", 0);
        }
        cycles(30);
        members[restarted].close();
        members[restarted] = null;
        for (long i = 101; i <= 200; i++) {
            put(leader, i, "b/" + i, "2", 0);
        }
        cycles(30);
        start(restarted);
        cycles(500);
        assertEquals(200, count(restarted));
        assertEquals(hash(leader), hash(restarted));
    }
}
