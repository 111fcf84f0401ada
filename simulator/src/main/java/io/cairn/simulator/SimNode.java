package io.cairn.simulator;

import io.cairn.consensus.EntryType;
import io.cairn.consensus.Membership;
import io.cairn.consensus.Outbox;
import io.cairn.consensus.RaftConfig;
import io.cairn.consensus.RaftContext;
import io.cairn.consensus.RaftCore;
import io.cairn.consensus.RaftCounters;
import io.cairn.consensus.RaftResult;
import io.cairn.consensus.Ready;
import io.cairn.consensus.Role;
import io.cairn.consensus.SnapshotSource;
import io.cairn.consensus.loop.ProposalTracker;
import io.cairn.consensus.loop.RaftListener;
import io.cairn.consensus.memory.MemoryWal;
import io.cairn.engine.wal.WalEntryHandler;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Goal: one simulated member: a {@link RaftCore} over a {@link MemoryWal}, a {@link SimApplication} (the small register
 * map, or the real keyspace) with its durable snapshots, and the driver that connects them the way {@code RaftAgent}
 * does in production, with the disk's sync latency made visible: while a sync is in flight the member is busy and
 * takes no input. Method: {@link #drive(long)} after every input sends the Ready's messages, applies committed
 * entries as one run, answers reads, takes
 * snapshots and, if needed, starts a sync whose completion ({@link #onSyncDone(long)}) calls
 * {@link RaftCore#onPersisted()}. A crash drops the core, the application's volatile state and unsynced writes; a
 * restart rebuilds them from the WAL, the application's files and the latest snapshot, exactly as a real restart
 * would. What each writer is told comes from production's own {@link ProposalTracker} (as {@code RaftAgent} uses it:
 * appended and forwarded proposals, answers, snapshots, runs, timeouts), so the history the checkers judge holds the
 * answers a real member would give: COMMITTED is an acknowledged write, LOST and refusals are failed writes (which
 * must never take effect), UNKNOWN is an open one.
 */
final class SimNode {
    private static final int TRACKED_MAX = 4096;
    private static final long NS_PER_MS = TimeUnit.MILLISECONDS.toNanos(1);

    private record WaitingRead(long index, History.Op op) {
    }

    private final int id;
    private final Simulator sim;
    private final Membership bootstrap;
    private final MemoryWal wal = new MemoryWal();
    private final RaftCounters counters = new RaftCounters(); // one per member: its cores count on across restarts
    private final SimApplication app;
    private final Membership scratch = new Membership();
    private final WalEntryHandler applier = this::applyEntry;
    // Writes submitted here whose callers have not been told, by op id (the tracker's correlation id).
    private final Map<Long, History.Op> writes = new HashMap<>();
    private final ProposalTracker proposals = new ProposalTracker(TRACKED_MAX, TRACKED_MAX, this::onOutcome);
    private final Map<Long, History.Op> pendingReads = new HashMap<>();
    private final List<WaitingRead> waitingReads = new ArrayList<>();
    private RaftCore core;
    private boolean up;
    private boolean syncing;
    private long syncDoneAtMs;
    private long nextTickAtMs;
    private int tickPeriodMs;
    private long commitSeen;
    private long leaderTermSeen;
    private long snapshotsTaken;
    private long snapshotsLoaded;

    SimNode(final int id, final Simulator sim, final Membership bootstrap, final SimApplication app) {
        this.id = id;
        this.sim = sim;
        this.bootstrap = bootstrap;
        this.app = app;
    }

    int id() {
        return id;
    }

    RaftCore core() {
        return core;
    }

    MemoryWal wal() {
        return wal;
    }

    SimApplication app() {
        return app;
    }

    boolean up() {
        return up;
    }

    boolean busy() {
        return syncing;
    }

    long syncDoneAtMs() {
        return syncDoneAtMs;
    }

    long commitSeen() {
        return commitSeen;
    }

    void commitSeen(final long index) {
        commitSeen = index;
    }

    long leaderTermSeen() {
        return leaderTermSeen;
    }

    void leaderTermSeen(final long term) {
        leaderTermSeen = term;
    }

    long snapshotsTaken() {
        return snapshotsTaken;
    }

    long snapshotsLoaded() {
        return snapshotsLoaded;
    }

    long nextTickAtMs() {
        return nextTickAtMs;
    }

    void start(final long nowMs) {
        final SimOptions options = sim.options();
        final RaftConfig config = RaftConfig.builder(id)
            .electionTimeoutTicks(options.electionTicks())
            .heartbeatIntervalTicks(options.heartbeatTicks())
            .preVote(options.preVote())
            .checkQuorum(options.checkQuorum())
            .inflight(options.inflightMessagesMax(), 64 * 1024)
            .appendLimits(options.appendBytesMax(), options.appendEntriesMax())
            .entryBytesMax(options.keyspace() ? 256 : 64)
            .uncommittedEntriesMax(256)
            .readRequestsMax(256)
            .snapshotChunkBytesMax(options.keyspace() ? options.keyspaceChunkBytes() : 256)
            .outbox(256 * 1024, 1024)
            .build();
        app.open();
        final SnapshotSource snapshots = app.snapshotSource();
        final boolean fromSnapshot = snapshots.index() != SnapshotSource.NULL_INDEX;
        core = new RaftCore(new RaftContext()
            .config(config)
            .wal(wal)
            .random(sim.random()::nextInt)
            .snapshotSource(snapshots)
            .snapshotSink(app.snapshotSink())
            .snapshot(snapshots.index(), fromSnapshot ? snapshots.term() : 0,
                fromSnapshot ? snapshots.membership() : bootstrap)
            .appliedIndex(app.appliedIndex())
            .counters(counters));
        sim.checker().observeState(this, app.appliedIndex(), app.fingerprint());
        up = true;
        syncing = false;
        tickPeriodMs = options.tickMs() - 1 + sim.random().nextInt(3);
        nextTickAtMs = nowMs + 1 + sim.random().nextInt(options.tickMs());
        commitSeen = Math.max(commitSeen, core.commitIndex());
        drive(nowMs);
    }

    /**
     * @param damageDisk also lose synced entries at the end of the log (above what the state machine applied).
     * @return true if synced entries were lost.
     */
    boolean crash(final boolean damageDisk) {
        up = false;
        syncing = false;
        core = null;
        final long applied = app.appliedIndex(); // at least what the state machine restarts with
        wal.crash(sim.random());
        app.crash(sim.random());
        final boolean damaged = damageDisk && wal.loseSyncedTail(sim.random(), applied);
        proposals.abandonAll();
        for (final History.Op op : pendingReads.values()) {
            sim.history().abandon(op);
        }
        for (final WaitingRead read : waitingReads) {
            sim.history().abandon(read.op());
        }
        pendingReads.clear();
        waitingReads.clear();
        return damaged;
    }

    boolean tickDue(final long nowMs) {
        return nowMs >= nextTickAtMs;
    }

    void tick(final long nowMs) {
        nextTickAtMs = nowMs + tickPeriodMs;
        core.tick();
        // RaftAgent's timeouts, with the client's patience as the proposal timeout.
        final long timeoutNs = sim.options().clientTimeoutMs() * NS_PER_MS;
        proposals.expireForwarded(nowMs * NS_PER_MS, timeoutNs);
        if (core.role() != Role.LEADER) {
            proposals.expirePending(nowMs * NS_PER_MS, timeoutNs);
        }
        drive(nowMs);
    }

    void receive(final byte[] bytes, final long nowMs) {
        core.onMessage(new UnsafeBuffer(bytes), 0, bytes.length);
        drive(nowMs);
    }

    void onSyncDone(final long nowMs) {
        syncing = false;
        wal.sync();
        core.onPersisted();
        drive(nowMs);
    }

    /**
     * @return the outcome of submitting a write: true if the core accepted it (it will complete later).
     */
    boolean submitWrite(final History.Op op, final long nowMs) {
        if (proposals.isFull()) {
            return false; // RaftAgent answers FULL
        }
        final int length = app.encodeWrite(op);
        // Op ids only grow, across this node's restarts too: the leader's duplicate check relies on that.
        final long index = core.proposeOrForward(op.id, EntryType.NORMAL, app.command(), 0, length);
        if (index == RaftResult.ACCEPTED) {
            writes.put((long)op.id, op);
            // The leader's answer comes in a later Ready.
            proposals.forwarded(op.id, op.id, core.leaderId(), nowMs * NS_PER_MS);
            drive(nowMs);
            return true;
        }
        if (index < 0) {
            return false;
        }
        op.index = index;
        op.term = core.term();
        writes.put((long)op.id, op);
        proposals.appended(index, core.term(), op.id, nowMs * NS_PER_MS);
        drive(nowMs);
        return true;
    }

    /** What the tracker tells a writer, into the history as a client would take it. */
    private void onOutcome(final long correlationId, final long code, final long index, final long result) {
        final History.Op op = writes.remove(correlationId);
        if (op == null) {
            return;
        }
        if (code == RaftListener.COMMITTED) {
            op.index = index;
            if (sim.history().ok(op, app.writeOutput(op, result))) {
                sim.onAcknowledged(op);
            }
        } else if (code == RaftListener.UNKNOWN) {
            sim.history().abandon(op);
        } else {
            sim.history().fail(op); // LOST or refused: production tells the client it never took effect
        }
    }

    boolean submitRead(final History.Op op, final long nowMs) {
        if (core.readIndex(op.id) != RaftResult.ACCEPTED) {
            return false;
        }
        pendingReads.put((long)op.id, op);
        drive(nowMs);
        return true;
    }

    void drive(final long nowMs) {
        core.checkInvariants(); // every input reaches the core through a caller of this method, just before
        final Ready ready = core.ready();
        final Outbox messages = ready.messages();
        for (int i = 0; i < messages.count(); i++) {
            sim.network().send(id, messages.destination(i), messages.buffer(), messages.offset(i), messages.length(i),
                nowMs);
        }
        final boolean persist = ready.persistNeeded();
        for (int i = 0; i < ready.forwardStateCount(); i++) {
            final History.Op op = writes.get(ready.forwardRequestId(i));
            if (op != null && ready.forwardResult(i) > 0) {
                op.index = ready.forwardResult(i); // for the report only
                op.term = ready.forwardTerm(i);
            }
            proposals.onForwardAnswer(ready.forwardRequestId(i), ready.forwardResult(i), ready.forwardTerm(i),
                core.appliedIndex(), nowMs * NS_PER_MS);
        }
        if (ready.softStateChanged()) {
            proposals.leaderChanged(ready.leaderId()); // as RaftAgent
        }
        if (ready.snapshotIndex() != Ready.NO_SNAPSHOT) {
            loadSnapshot(ready.snapshotIndex(), ready.snapshotTerm());
        }
        applyTo(ready.applyIndex());
        for (int i = 0; i < ready.readStateCount(); i++) {
            onReadState(ready.readRequestId(i), ready.readIndex(i));
        }
        core.advance();
        core.checkInvariants();
        releaseReads();
        sim.checker().observe(this);
        maybeSnapshot();
        core.checkInvariants();
        if (persist) {
            final int latency = sim.options().syncLatencyMaxMs() == 0 ? 0
                : sim.random().nextInt(sim.options().syncLatencyMaxMs() + 1);
            if (latency == 0) {
                onSyncDone(nowMs);
            } else {
                syncing = true;
                syncDoneAtMs = nowMs + latency;
            }
        }
    }

    private void loadSnapshot(final long index, final long term) {
        app.installSnapshot(index, term);
        if (app.appliedIndex() != index) {
            throw new IllegalStateException("node " + id + " installed snapshot " + index + " but its application is"
                + " at " + app.appliedIndex());
        }
        sim.checker().observeState(this, index, app.fingerprint());
        sim.checker().observeContent(this, index, app.contentHash());
        snapshotsLoaded++;
        proposals.snapshotInstalled(index);
    }

    private void applyTo(final long applyIndex) {
        final long from = core.appliedIndex() + 1;
        if (applyIndex < from) {
            return;
        }
        app.beginRun(from);
        final int read = wal.readRange(from, applyIndex, Integer.MAX_VALUE, Long.MAX_VALUE, applier);
        if (read != applyIndex - from + 1) {
            throw new IllegalStateException("node " + id + " could not read entries " + from + ".." + applyIndex);
        }
        app.endRun(applyIndex, wal.term(applyIndex));
        core.onApplied(applyIndex);
        sim.checker().observeState(this, applyIndex, app.fingerprint());
        proposals.endRun(); // writers hear once the run has ended, as RaftAgent's do
    }

    private void applyEntry(final long index, final long term, final byte type, final DirectBuffer buffer,
        final int offset, final int length) {
        final byte[] payload = new byte[length];
        buffer.getBytes(offset, payload);
        sim.checker().observeApply(this, index, term, SafetyChecker.contentHash(type, payload));
        final long result = app.apply(index, term, type, buffer, offset, length);
        proposals.applied(index, term, result);
    }

    private void onReadState(final long requestId, final long index) {
        final History.Op op = pendingReads.remove(requestId);
        if (op == null) {
            return;
        }
        if (index == Ready.READ_FAILED) {
            sim.history().fail(op);
        } else {
            waitingReads.add(new WaitingRead(index, op));
        }
    }

    private void releaseReads() {
        final long applied = core.appliedIndex();
        final Iterator<WaitingRead> it = waitingReads.iterator();
        while (it.hasNext()) {
            final WaitingRead read = it.next();
            if (read.index() <= applied) {
                sim.history().ok(read.op(), app.read(read.op(), read.index()));
                it.remove();
            }
        }
    }

    private void maybeSnapshot() {
        final long applied = core.appliedIndex();
        if (applied - Math.max(app.snapshotSource().index(), wal.baseIndex()) < sim.options().snapshotInterval()) {
            return;
        }
        core.membershipAt(applied, scratch);
        if (!app.takeSnapshot(applied, wal.term(applied), scratch)) {
            return;
        }
        sim.checker().observeContent(this, applied, app.contentHash());
        snapshotsTaken++;
        final long compactTo = applied - sim.options().snapshotKeep();
        if (compactTo > wal.baseIndex()) {
            core.compact(compactTo);
        }
    }

    @Override
    public String toString() {
        return "node " + id + (up ? (syncing ? " syncing " : " ") + core + " " + app : " down");
    }
}
