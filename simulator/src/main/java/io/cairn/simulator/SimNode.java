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
import io.cairn.consensus.SnapshotSource;
import io.cairn.consensus.memory.MemoryWal;
import io.cairn.engine.wal.WalEntryHandler;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Goal: one simulated member: a {@link RaftCore} over a {@link MemoryWal}, a {@link SimApplication} (the small register
 * map, or the real keyspace) with its durable snapshots, and the driver that connects them the way {@code RaftAgent}
 * does in production, with the disk's sync latency made visible: while a sync is in flight the member is busy and
 * takes no input. Method: {@link #drive(long)} after every input sends the Ready's messages, applies committed
 * entries as one run (completing its writes once the run has ended, as {@code RaftAgent} does), answers reads, takes
 * snapshots and, if needed, starts a sync whose completion ({@link #onSyncDone(long)}) calls
 * {@link RaftCore#onPersisted()}. A crash drops the core, the application's volatile state and unsynced writes; a
 * restart rebuilds them from the WAL, the application's files and the latest snapshot, exactly as a real restart
 * would.
 */
final class SimNode {
    private record PendingWrite(long term, History.Op op) {
    }

    private record WaitingRead(long index, History.Op op) {
    }

    private record Completion(History.Op op, long output) {
    }

    private final int id;
    private final Simulator sim;
    private final Membership bootstrap;
    private final MemoryWal wal = new MemoryWal();
    private final RaftCounters counters = new RaftCounters(); // one per member: its cores count on across restarts
    private final SimApplication app;
    private final Membership scratch = new Membership();
    private final WalEntryHandler applier = this::applyEntry;
    private final TreeMap<Long, PendingWrite> pendingWrites = new TreeMap<>();
    private final Map<Long, History.Op> forwardedWrites = new HashMap<>();
    private final Map<Long, History.Op> pendingReads = new HashMap<>();
    private final List<WaitingRead> waitingReads = new ArrayList<>();
    // Writes whose entries the run in progress applied: told only once the run has ended (RaftAgent's rule).
    private final List<Completion> completions = new ArrayList<>();
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

    void crash() {
        up = false;
        syncing = false;
        core = null;
        wal.crash(sim.random());
        app.crash(sim.random());
        for (final PendingWrite pending : pendingWrites.values()) {
            sim.history().abandon(pending.op());
        }
        for (final History.Op op : pendingReads.values()) {
            sim.history().abandon(op);
        }
        for (final WaitingRead read : waitingReads) {
            sim.history().abandon(read.op());
        }
        for (final History.Op op : forwardedWrites.values()) {
            sim.history().abandon(op);
        }
        forwardedWrites.clear();
        pendingWrites.clear();
        pendingReads.clear();
        waitingReads.clear();
    }

    boolean tickDue(final long nowMs) {
        return nowMs >= nextTickAtMs;
    }

    void tick(final long nowMs) {
        nextTickAtMs = nowMs + tickPeriodMs;
        core.tick();
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
        final int length = app.encodeWrite(op);
        // Op ids only grow, across this node's restarts too: the leader's duplicate check relies on that.
        final long index = core.proposeOrForward(op.id, EntryType.NORMAL, app.command(), 0, length);
        if (index == RaftResult.ACCEPTED) {
            forwardedWrites.put((long)op.id, op); // the leader's answer comes in a later Ready
            drive(nowMs);
            return true;
        }
        if (index < 0) {
            return false;
        }
        addPendingWrite(index, core.term(), op);
        drive(nowMs);
        return true;
    }

    private void addPendingWrite(final long index, final long term, final History.Op op) {
        op.index = index;
        op.term = term;
        final PendingWrite replaced = pendingWrites.put(index, new PendingWrite(term, op));
        if (replaced != null) {
            // This index was proposed before in an older term and that entry was replaced in this log; another
            // member may still hold it and commit it (figure 8), so its outcome is unknown, not failed.
            sim.history().abandon(replaced.op());
        }
    }

    // The leader answered a forwarded write (before this Ready's entries are applied).
    private void onForwardState(final long requestId, final long result, final long term) {
        final History.Op op = forwardedWrites.remove(requestId);
        if (op == null) {
            return;
        }
        if (result > core.appliedIndex()) {
            addPendingWrite(result, term, op);
        } else if (result > 0 || result == RaftResult.ACCEPTED) {
            sim.history().abandon(op); // applied here before the answer came (a snapshot): the outcome is unknown
        } else {
            sim.history().fail(op); // refused by the leader: never appended
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
            onForwardState(ready.forwardRequestId(i), ready.forwardResult(i), ready.forwardTerm(i));
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
        // Writes at or below the snapshot were never applied here one by one: their outcome is unknown.
        final Iterator<Map.Entry<Long, PendingWrite>> it = pendingWrites.headMap(index, true).entrySet().iterator();
        while (it.hasNext()) {
            sim.history().abandon(it.next().getValue().op());
            it.remove();
        }
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
        for (final Completion done : completions) {
            if (sim.history().ok(done.op(), done.output())) {
                sim.onAcknowledged(done.op());
            }
        }
        completions.clear();
    }

    private void applyEntry(final long index, final long term, final byte type, final DirectBuffer buffer,
        final int offset, final int length) {
        final byte[] payload = new byte[length];
        buffer.getBytes(offset, payload);
        sim.checker().observeApply(this, index, term, SafetyChecker.contentHash(type, payload));
        final long result = app.apply(index, term, type, buffer, offset, length);
        final PendingWrite pending = pendingWrites.remove(index);
        if (pending != null) {
            if (pending.term() == term) {
                completions.add(new Completion(pending.op(), app.writeOutput(pending.op(), result)));
            } else {
                // The entry committed at this index is another: this write never takes effect.
                sim.history().fail(pending.op());
            }
        }
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
