package io.cairn.consensus.loop;

import io.cairn.consensus.EntryType;
import io.cairn.consensus.Membership;
import io.cairn.consensus.RaftConfig;
import io.cairn.consensus.RaftContext;
import io.cairn.consensus.RaftResult;
import io.cairn.consensus.Role;
import io.cairn.consensus.StateMachine;
import io.cairn.consensus.memory.MemorySnapshotStore;
import io.cairn.consensus.memory.MemoryWal;
import io.cairn.engine.wal.ChronicleWal;
import io.cairn.engine.wal.WalConfig;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.NanoClock;
import org.agrona.concurrent.SystemNanoClock;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: the event loop does its job around the core: ticks from its clock, proposals drained from the ring in
 * bursts and appended with one sync per cycle, messages through the transport, committed entries applied in runs,
 * callers completed (committed, refused, lost), reads released once applied reaches their index, snapshots taken
 * and compaction done, a lagging follower brought back by a snapshot. Method: first three agents driven by hand on
 * one thread with a manual clock (deterministic), then three agents on their own threads with the system clock,
 * fed by two producer threads, over real ChronicleWals.
 */
class RaftAgentTest {
    @TempDir
    Path dir;

    /** A state machine that sums the first long of every application entry; snapshots hold the sum. */
    static final class SumStateMachine implements StateMachine {
        final MemorySnapshotStore store = new MemorySnapshotStore(8);
        volatile long appliedIndex;
        volatile long sum;
        volatile int runs;
        volatile int installs;
        volatile int snapshots;
        /** What a snapshot would copy, as the state machine tells the loop. */
        long costBytes;

        @Override
        public long appliedIndex() {
            return appliedIndex;
        }

        @Override
        public void beginRun(final long firstIndex) {
            assertEquals(appliedIndex + 1, firstIndex);
        }

        @Override
        public long apply(final long index, final long term, final byte type, final DirectBuffer buffer,
            final int offset, final int length) {
            assertEquals(appliedIndex + 1, index);
            appliedIndex = index;
            if (type == EntryType.NORMAL) {
                sum += buffer.getLong(offset, ByteOrder.LITTLE_ENDIAN);
            }
            return sum;
        }

        @Override
        public void endRun(final long lastIndex, final long lastTerm) {
            assertEquals(appliedIndex, lastIndex);
            runs++;
        }

        @Override
        public boolean takeSnapshot(final long index, final long term, final Membership membership) {
            final byte[] data = new byte[8];
            new UnsafeBuffer(data).putLong(0, sum, ByteOrder.LITTLE_ENDIAN);
            store.save(index, term, membership, data);
            snapshots++;
            return true;
        }

        @Override
        public long snapshotCostBytes() {
            return costBytes;
        }

        @Override
        public void installSnapshot(final long index, final long term) {
            sum = new UnsafeBuffer(store.data()).getLong(0, ByteOrder.LITTLE_ENDIAN);
            appliedIndex = index;
            installs++;
        }
    }

    /** Records completions; safe to read from the test thread. */
    static final class Recorder implements RaftListener {
        final Map<Long, Long> codes = new ConcurrentHashMap<>();
        final Map<Long, Long> results = new ConcurrentHashMap<>();
        final Map<Long, Long> reads = new ConcurrentHashMap<>();
        final AtomicInteger committed = new AtomicInteger();
        volatile int role;
        CountDownLatch allDone = new CountDownLatch(0);

        @Override
        public void onProposalComplete(final long correlationId, final long code, final long index,
            final long result) {
            codes.put(correlationId, code);
            results.put(correlationId, result);
            if (code == COMMITTED) {
                committed.incrementAndGet();
            }
            allDone.countDown();
        }

        @Override
        public void onReadComplete(final long correlationId, final long code, final long readIndex) {
            reads.put(correlationId, code == COMMITTED ? readIndex : code);
        }

        @Override
        public void onRoleChange(final int role, final long term, final int leaderId) {
            this.role = role;
        }
    }

    static final class ManualClock implements NanoClock {
        long nowNs;

        @Override
        public long nanoTime() {
            return nowNs;
        }
    }

    /** Parks like the default strategy and records the bound the loop gave for the next sleep. */
    static final class BoundRecorder implements WakeableIdleStrategy {
        final ParkingIdleStrategy parking = IdleDefaults.parking();
        volatile long bound = -1;

        @Override
        public void sleepAtMost(final long nanos) {
            bound = nanos;
        }

        @Override
        public void idle() {
            parking.idle();
        }

        @Override
        public void reset() {
            parking.reset();
        }

        @Override
        public void wake() {
            parking.wake();
        }
    }

    private final SumStateMachine[] machines = new SumStateMachine[4];
    private final BoundRecorder[] idles = new BoundRecorder[4];
    private final Recorder[] recorders = new Recorder[4];
    private final RaftRequests[] requests = new RaftRequests[4];
    private final RaftAgent[] agents = new RaftAgent[4];
    private final ManualClock clock = new ManualClock();
    private final UnsafeBuffer command = new UnsafeBuffer(new byte[8]);
    private InMemoryNetwork network;
    private long snapshotCostBytes;
    private long snapshotCopyFreeBytes = RaftAgentContext.SNAPSHOT_COPY_FREE_BYTES_DEFAULT;

    private void build(final NanoClock agentClock, final long tickNs, final long snapshotEvery,
        final RaftAgentContext.WalOpener[] wals, final boolean start) {
        network = new InMemoryNetwork(3, 1 << 20);
        for (int id = 1; id <= 3; id++) {
            final int node = id;
            machines[id] = new SumStateMachine();
            machines[id].costBytes = snapshotCostBytes;
            recorders[id] = new Recorder();
            idles[id] = new BoundRecorder();
            requests[id] = new RaftRequests(new UnsafeBuffer(ByteBuffer.allocateDirect(
                RaftRequests.bufferLength(1 << 20))));
            agents[id] = new RaftAgent(new RaftAgentContext()
                .raftContext(new RaftContext()
                    .config(RaftConfig.builder(id).outbox(4 << 20, 4096).snapshotChunkBytesMax(64 << 10).build())
                    .random(bound -> (node * 3) % bound)
                    .snapshotSource(machines[id].store)
                    .snapshotSink(new MemorySnapshotStore.Sink(machines[id].store, bytes -> bytes.length == 8))
                    .snapshot(0, 0, Membership.ofVoters(1, 2, 3)))
                .walOpener(wals[id])
                .transport(network.transport(id))
                .stateMachine(machines[id])
                .requests(requests[id])
                .listener(recorders[id])
                .clock(agentClock)
                .idleStrategy(idles[id])
                .tickIntervalNs(tickNs)
                .snapshotPolicy(snapshotEvery, 0)
                .snapshotCopyFreeBytes(snapshotCopyFreeBytes));
            if (start) {
                agents[id].onStart();
            }
        }
    }

    private void buildManual(final long snapshotEvery) {
        final RaftAgentContext.WalOpener opener = MemoryWal::new;
        build(clock, TimeUnit.MILLISECONDS.toNanos(10), snapshotEvery,
            new RaftAgentContext.WalOpener[] {null, opener, opener, opener}, true);
    }

    private void cycles(final int count) {
        for (int i = 0; i < count; i++) {
            clock.nowNs += TimeUnit.MILLISECONDS.toNanos(1);
            for (int id = 1; id <= 3; id++) {
                agents[id].doWork();
            }
        }
    }

    private int leader() {
        for (int id = 1; id <= 3; id++) {
            if (agents[id].core().role() == Role.LEADER) {
                return id;
            }
        }
        return 0;
    }

    private int electLeader() {
        for (int i = 0; i < 2_000 && leader() == 0; i++) {
            cycles(1);
        }
        final int leader = leader();
        assertTrue(leader != 0, "a leader within two seconds of simulated time");
        cycles(50);
        return leader;
    }

    private boolean propose(final int id, final long correlationId, final long value) {
        command.putLong(0, value, ByteOrder.LITTLE_ENDIAN);
        return requests[id].offerProposal(correlationId, EntryType.NORMAL, command, 0, 8);
    }

    @Test
    void shouldSleepShortWhileBusyAndUntilTheNextTickWhenQuiet() {
        final long tickNs = TimeUnit.MILLISECONDS.toNanos(100);
        final long stepNs = TimeUnit.MILLISECONDS.toNanos(1);
        final RaftAgentContext.WalOpener opener = MemoryWal::new;
        build(clock, tickNs, 0, new RaftAgentContext.WalOpener[] {null, opener, opener, opener}, true);
        for (int i = 0; i < 10_000 && leader() == 0; i++) {
            cycles(1);
        }
        final int leader = leader();
        assertTrue(leader != 0, "a leader within ten seconds of simulated time");
        cycles(300); // the election's entry applied everywhere, and then some quiet
        assertTrue(propose(leader, 1, 5));
        long busyBound = -1;
        for (int i = 0; i < 50 && busyBound < 0; i++) {
            clock.nowNs += stepNs;
            idles[leader].bound = -1;
            for (int id = 1; id <= 3; id++) {
                agents[id].doWork();
            }
            if (recorders[leader].committed.get() == 1) {
                busyBound = idles[leader].bound; // the first cycle after the commit that found nothing to do
            }
        }
        assertEquals(IdleDefaults.WAIT_MAX_NS, busyBound, "a loop that just committed sleeps at most the short bound");
        cycles((int)(IdleDefaults.BUSY_WINDOW_NS / stepNs)); // nothing moves for a busy window
        final int follower = leader % 3 + 1;
        long longest = 0;
        for (int i = 0; i < 300; i++) {
            clock.nowNs += stepNs;
            idles[follower].bound = -1;
            for (int id = 1; id <= 3; id++) {
                agents[id].doWork();
            }
            final long bound = idles[follower].bound;
            if (bound >= 0) {
                assertTrue(bound <= tickNs && bound <= IdleDefaults.QUIET_MAX_NS, "until the next tick: " + bound);
                longest = Math.max(longest, bound);
            }
        }
        assertTrue(longest >= tickNs - 2 * stepNs, "a quiet loop sleeps until its next tick, not 10 ms: " + longest);
    }

    @Test
    void shouldCommitBurstOfProposalsWithOneSyncWhenDrivenByClock() {
        buildManual(0);
        final int leader = electLeader();
        final long syncsBefore = agents[leader].syncs();
        for (long i = 1; i <= 100; i++) {
            assertTrue(propose(leader, i, i));
        }
        cycles(30);
        assertEquals(100, recorders[leader].committed.get());
        assertEquals(5050L, recorders[leader].results.get(100L), "results come from the state machine");
        assertTrue(agents[leader].syncs() - syncsBefore <= 3, "the burst went to the WAL in one append and sync");
        for (int id = 1; id <= 3; id++) {
            assertEquals(5050, machines[id].sum, "node " + id);
            assertEquals(machines[leader].appliedIndex, machines[id].appliedIndex);
        }
    }

    @Test
    void shouldForwardProposalOnFollowerToLeaderAndAnswerFromOwnApply() {
        buildManual(0);
        final int leader = electLeader();
        final int follower = leader % 3 + 1;
        assertTrue(propose(follower, 7, 11));
        assertTrue(propose(follower, 8, 31));
        cycles(20);
        assertEquals(RaftListener.COMMITTED, recorders[follower].codes.get(7L));
        assertEquals(RaftListener.COMMITTED, recorders[follower].codes.get(8L));
        assertEquals(11L, recorders[follower].results.get(7L), "answered from the follower's own state machine");
        assertEquals(42L, recorders[follower].results.get(8L));
        assertEquals(null, recorders[leader].codes.get(7L), "the leader's callers are not told of it");
        for (int id = 1; id <= 3; id++) {
            assertEquals(42, machines[id].sum, "node " + id);
        }
    }

    @Test
    void shouldRefuseProposalWithNotLeaderWhenNoLeaderIsKnown() {
        buildManual(0);
        assertTrue(propose(2, 7, 1));
        cycles(1);
        assertEquals(RaftResult.NOT_LEADER, recorders[2].codes.get(7L));
    }

    @Test
    void shouldHandLeadershipToTheTargetAndRefuseItOnAFollower() {
        buildManual(0);
        final int leader = electLeader();
        final int target = leader % 3 + 1;
        assertTrue(propose(leader, 1, 5));
        cycles(10);
        assertTrue(requests[target].offerTransfer(70, leader));
        assertTrue(requests[leader].offerTransfer(71, target));
        cycles(30);
        assertEquals(RaftResult.NOT_LEADER, recorders[target].codes.get(70L), "only a leader can hand over");
        assertEquals(RaftListener.COMMITTED, recorders[leader].codes.get(71L));
        assertEquals(target, leader(), "the target leads");
    }

    @Test
    void shouldReleaseFollowerReadOnceAppliedReachesReadIndex() {
        buildManual(0);
        final int leader = electLeader();
        final int follower = leader % 3 + 1;
        assertTrue(propose(leader, 1, 40));
        cycles(5);
        assertTrue(requests[follower].offerRead(99));
        cycles(20);
        final long readIndex = recorders[follower].reads.get(99L);
        assertTrue(readIndex >= 2, "covers the committed write");
        assertTrue(machines[follower].appliedIndex >= readIndex);
        assertEquals(40, machines[follower].sum);
    }

    @Test
    void shouldReportLostWhenDeposedLeadersEntryIsReplaced() {
        buildManual(0);
        final int leader = electLeader();
        network.isolate(leader);
        assertTrue(propose(leader, 1, 5));
        cycles(1_000);
        final int newLeader = leader();
        assertTrue(newLeader != 0 && newLeader != leader);
        assertTrue(propose(newLeader, 2, 6));
        cycles(50);
        network.heal();
        cycles(500);
        assertEquals(RaftListener.LOST, recorders[leader].codes.get(1L));
        assertEquals(RaftListener.COMMITTED, recorders[newLeader].codes.get(2L));
        assertEquals(6, machines[leader].sum);
    }

    @Test
    void shouldCompleteAsUnknownWhenDeposedLeadersProposalNeverApplies() {
        buildManual(0);
        final int leader = electLeader();
        network.isolate(leader);
        for (long i = 1; i <= 3; i++) {
            assertTrue(propose(leader, i, 5));
        }
        cycles(1_000);
        network.heal();
        cycles(1_000);
        assertTrue(agents[leader].core().role() != Role.LEADER, "deposed");
        assertEquals(RaftListener.LOST, recorders[leader].codes.get(1L), "the new leader's first entry took its index");
        assertEquals(null, recorders[leader].codes.get(3L), "nothing proposed since: its index never applies");
        cycles(7_000);
        assertEquals(RaftListener.UNKNOWN, recorders[leader].codes.get(3L), "the caller hears after the timeout");
    }

    @Test
    void shouldSnapshotCompactAndBringLaggingFollowerBackWithSnapshot() {
        buildManual(20);
        final int leader = electLeader();
        final int lagging = leader % 3 + 1;
        network.isolate(lagging);
        for (long i = 1; i <= 100; i++) {
            assertTrue(propose(leader, i, 1));
            cycles(1);
        }
        cycles(20);
        assertTrue(machines[leader].snapshots >= 4);
        network.heal();
        cycles(500);
        assertEquals(1, machines[lagging].installs, "the log it needed was compacted away");
        assertEquals(100, machines[lagging].sum);
        assertEquals(machines[leader].appliedIndex, machines[lagging].appliedIndex);
    }

    @Test
    void shouldWaitWithASnapshotDueByCountUntilTheLogOutweighsTheCopy() {
        snapshotCostBytes = 60 * Long.BYTES; // a copy costs what 60 proposals logged
        snapshotCopyFreeBytes = 0;
        buildManual(20);
        final int leader = electLeader();
        for (long i = 1; i <= 100; i++) {
            assertTrue(propose(leader, i, 1));
            cycles(1);
        }
        cycles(20);
        // By count alone there would be five (one per 20 entries, as in the test above); weighed, the first waits for
        // 60 proposals' bytes and the second would need 120.
        for (int id = 1; id <= 3; id++) {
            assertEquals(100, machines[id].sum);
            assertEquals(1, machines[id].snapshots, "member " + id);
        }
    }

    @Test
    void shouldReplicateProposalsFromManyThreadsWhenAgentsRunOnThreads() throws Exception {
        final RaftAgentContext.WalOpener[] wals = new RaftAgentContext.WalOpener[4];
        for (int id = 1; id <= 3; id++) {
            final Path walDir = dir.resolve("node-" + id);
            wals[id] = () -> {
                try {
                    return ChronicleWal.open(WalConfig.durable(walDir).withDurable(false));
                } catch (final IOException ex) {
                    throw new UncheckedIOException(ex);
                }
            };
        }
        build(SystemNanoClock.INSTANCE, TimeUnit.MILLISECONDS.toNanos(10), 500, wals, false);
        final AgentRunner[] runners = new AgentRunner[4];
        final AtomicLong errors = new AtomicLong();
        try {
            for (int id = 1; id <= 3; id++) {
                runners[id] = agents[id].startOnThread(throwable -> {
                    if (errors.incrementAndGet() < 3) {
                        throwable.printStackTrace();
                    }
                });
            }
            int leader = 0;
            for (long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20); leader == 0
                && System.nanoTime() < deadline; ) {
                Thread.sleep(10);
                for (int id = 1; id <= 3; id++) {
                    leader = recorders[id].role == Role.LEADER ? id : leader;
                }
            }
            assertTrue(leader != 0, "elected");
            final int perThread = 2_000;
            recorders[leader].allDone = new CountDownLatch(2 * perThread);
            final Thread[] producers = new Thread[2];
            for (int p = 0; p < 2; p++) {
                final int first = p * perThread;
                final RaftRequests ring = requests[leader];
                producers[p] = new Thread(() -> {
                    final UnsafeBuffer payload = new UnsafeBuffer(new byte[8]);
                    for (int i = 0; i < perThread; i++) {
                        payload.putLong(0, 1, ByteOrder.LITTLE_ENDIAN);
                        while (!ring.offerProposal(first + i, EntryType.NORMAL, payload, 0, 8)) {
                            Thread.onSpinWait();
                        }
                    }
                });
                producers[p].start();
            }
            for (final Thread producer : producers) {
                producer.join();
            }
            assertTrue(recorders[leader].allDone.await(30, TimeUnit.SECONDS), "every proposal completed");
            final Map<Long, Integer> hist = new java.util.TreeMap<>();
            recorders[leader].codes.values().forEach(c -> hist.merge(c, 1, Integer::sum));
            assertEquals(2 * perThread, recorders[leader].committed.get(), "codes " + hist);
            final long target = machines[leader].appliedIndex;
            for (long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10); System.nanoTime() < deadline
                && (machines[1].appliedIndex < target || machines[2].appliedIndex < target
                || machines[3].appliedIndex < target); ) {
                Thread.sleep(5);
            }
        } finally {
            for (int id = 1; id <= 3; id++) {
                if (runners[id] != null) {
                    runners[id].close();
                }
            }
        }
        assertEquals(0, errors.get());
        for (int id = 1; id <= 3; id++) {
            assertEquals(4_000, machines[id].sum, "node " + id);
        }
    }

    @Test
    void shouldCompleteProposalsWithCodesWhenRingIsUsedBeforeAnyLeader() {
        buildManual(0);
        assertTrue(propose(1, 1, 1));
        assertTrue(requests[2].offerRead(2));
        cycles(1);
        assertEquals(RaftResult.NOT_LEADER, recorders[1].codes.get(1L));
        assertEquals(RaftResult.NOT_LEADER, recorders[2].reads.get(2L));
    }
}
