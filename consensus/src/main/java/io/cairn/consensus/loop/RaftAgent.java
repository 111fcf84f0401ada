package io.cairn.consensus.loop;

import io.cairn.consensus.Membership;
import io.cairn.consensus.Outbox;
import io.cairn.consensus.RaftContext;
import io.cairn.consensus.RaftCounters;
import io.cairn.consensus.RaftCore;
import io.cairn.consensus.RaftMessage;
import io.cairn.consensus.RaftResult;
import io.cairn.consensus.Role;
import io.cairn.consensus.Ready;
import io.cairn.consensus.StateMachine;
import io.cairn.consensus.Transport;
import io.cairn.engine.check.Check;
import io.cairn.engine.wal.Wal;
import io.cairn.engine.wal.WalEntryHandler;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.AgentTerminationException;
import org.agrona.concurrent.MessageHandler;
import org.agrona.concurrent.NanoClock;
import org.agrona.concurrent.status.AtomicCounter;
import org.agrona.ErrorHandler;

import java.nio.ByteOrder;

/**
 * The event loop of one member (DESIGN.md "The write path"): an Agrona {@link Agent}, run by an {@link AgentRunner}
 * on one thread, and the only class of the module with a clock. Each duty cycle:
 * <ol>
 *   <li>turns elapsed time into {@link RaftCore#tick()}s;</li>
 *   <li>polls the {@link Transport} and hands each message to the core;</li>
 *   <li>drains the {@link RaftRequests} ring: every proposal of the burst is staged, and they reach the WAL as one
 *       append at the next step (batching);</li>
 *   <li>takes the {@link Ready}: sends its messages at once and flushes the transport (the leader's appends leave
 *       before its own sync, thesis §10.2.1), syncs the WAL once if anything was written (group commit) and reports
 *       {@link RaftCore#onPersisted()}, then sends what that released;</li>
 *   <li>installs a received snapshot, applies newly committed entries to the {@link StateMachine} as one run,
 *       completes the proposals and reads they answer, and takes a snapshot and compacts the log when due.</li>
 * </ol>
 * Nothing on these paths allocates. The WAL is opened and the core built in {@link #onStart()}, on the agent's
 * thread. Anything thrown out of the core, the WAL or the state machine stops the agent (the member fail-stops
 * rather than go on in a state it cannot vouch for); peer and client input never throws.
 */
public final class RaftAgent implements Agent {
    private static final int TICKS_PER_CYCLE_MAX = 4;
    private static final long STALL_NS = 200_000_000;
    private static final long STALL_LOG_INTERVAL_NS = 10_000_000_000L;
    /** Sync-duration buckets, etcd's: 1 ms to 8.192 s doubling, and everything beyond. */
    public static final int SYNC_BUCKETS = RaftCounters.SYNC_BUCKETS;
    /** The first bucket's upper bound. */
    public static final long SYNC_BUCKET_FIRST_NS = 1_000_000;
    /**
     * A snapshot is deferred while one streams to a follower and makes progress, but not past this many snapshot
     * intervals (the log grows meanwhile): a large snapshot to a follower of a leader at full write speed needs a
     * long deferral (256 intervals were not enough to catch up under saturation on two cores; 1024 were).
     */
    private static final long SNAPSHOT_DEFER_INTERVALS_MAX = 1024;

    private final RaftCounters counters = new RaftCounters();
    private final PeerRoundTrips roundTrips = new PeerRoundTrips();
    private static final long SLOW_APPLY_NS = 100_000_000L;
    private long lastSlowApplyLogNs;
    private final AtomicCounter[] syncBuckets = new AtomicCounter[SYNC_BUCKETS];
    private final AtomicCounter syncNanosTotal;
    private final AtomicCounter[] commitBuckets = new AtomicCounter[SYNC_BUCKETS];
    private RaftCore core;
    private Wal wal;
    private final Transport transport;
    private final StateMachine stateMachine;
    private final RaftRequests requests;
    private final RaftListener listener;
    private final NanoClock clock;
    private final RaftAgentContext context;
    private final long tickIntervalNs;
    private final Transport.MessageHandler inbound = this::onPeerMessage;
    private final MessageHandler requestHandler = this::onRequest;
    private final WalEntryHandler applier = this::applyEntry;
    private final Membership snapshotMembership = new Membership();
    // The fields of the reads' records.
    private static final int INDEX = 0;
    private static final int CORRELATION = 2;
    // Proposals appended here or forwarded, until their callers are told (the rules the simulator checks too).
    private final ProposalTracker proposals;
    private final LoopDuty duty;

    // A forward's id grows by one each time, from the wall clock's microseconds at start, so ids keep growing across
    // restarts (the leader drops a forward whose id is not above the last it saw from this member).
    private long forwardSequence = System.currentTimeMillis() * 1000;
    // Reads whose read index is known, waiting for applied to reach it (thesis §6.4 step 4). Fields: INDEX,
    // CORRELATION.
    private final RecordRing reads;
    private long lastTickNs;
    /** The loop's sleep when it can take a bound (the wait strategies), else null. */
    private final WakeableIdleStrategy wakeable;
    /** When the loop last took a request or moved its log or applied index ({@link #noteBusy}). */
    private long lastBusyNs;
    private long lastIndexSeen;
    private long appliedIndexSeen;
    private long lastSnapshotIndex;
    /** Payload bytes applied since the last snapshot: the log a new one would let go. */
    private long logBytesSinceSnapshot;
    /** Log bytes the next snapshot waits for (see {@link RaftAgentContext#snapshotCopyFreeBytes}); -1: not weighed. */
    private long snapshotLogBytesNeeded = -1;
    /** A snapshot was started and not yet sealed: keep asking the state machine until it is. */
    private boolean snapshotStarted;
    private long lastAppliedTerm;
    private long configChangesSeen = -1; // so the configuration read at start is told too
    private long stalls;
    private long lastStallLogNs;
    private long lastSyncNs;
    private long applyNs;
    private int appliedInCycle;
    private long snapshotNs;
    /** Of {@link #snapshotNs}: sealing a copy (the state machine's part) and compacting the log. */
    private long snapshotSealNs;
    private long snapshotCompactNs;
    private int sent;

    private final AtomicCounter messagesSent;
    private final AtomicCounter messagesDropped;
    private final AtomicCounter syncs;
    private final AtomicCounter ticks;
    private final AtomicCounter runsApplied;
    private final AtomicCounter entriesApplied;
    private final AtomicCounter entriesSynced;

    /**
     * @param context the wiring; concluded here.
     */
    public RaftAgent(final RaftAgentContext context) {
        this.context = context.conclude();
        this.messagesSent = counters.messagesSent;
        this.messagesDropped = counters.messagesDropped;
        this.syncs = counters.syncs;
        this.ticks = counters.ticks;
        this.runsApplied = counters.runsApplied;
        this.entriesApplied = counters.entriesApplied;
        this.entriesSynced = counters.entriesSynced;
        this.syncNanosTotal = counters.syncNanosTotal;
        for (int i = 0; i < SYNC_BUCKETS; i++) {
            syncBuckets[i] = counters.syncBucket(i);
            commitBuckets[i] = counters.commitBucket(i);
        }
        this.transport = context.transport();
        this.stateMachine = context.stateMachine();
        this.requests = context.requests();
        this.listener = context.listener();
        this.clock = context.clock();
        this.tickIntervalNs = context.tickIntervalNs();
        this.wakeable = context.idleStrategy() instanceof WakeableIdleStrategy strategy ? strategy : null;
        this.duty = context.duty();
        this.proposals = new ProposalTracker(context.pendingProposalsMax(), context.applyEntriesMax(),
            listener::onProposalComplete);
        this.reads = new RecordRing(context.pendingReadsMax(), 3);
    }

    /**
     * Starts the agent on its own thread with the context's idle strategy.
     *
     * @param errorHandler told of anything the agent throws (it stops on a broken invariant).
     * @return the running runner; close it to stop the agent.
     */
    public AgentRunner startOnThread(final ErrorHandler errorHandler) {
        final AgentRunner runner = new AgentRunner(context.idleStrategy(), errorHandler, null, this);
        AgentRunner.startOnThread(runner);
        return runner;
    }

    /**
     * Opens the WAL and builds the core on the agent's thread; the state machine's applied index is where applying
     * resumes.
     */
    @Override
    public void onStart() {
        wal = context.walOpener().open();
        final RaftContext raftContext = context.raftContext();
        core = new RaftCore(raftContext.wal(wal).appliedIndex(stateMachine.appliedIndex()).counters(counters));
        lastSnapshotIndex = core.appliedIndex();
        lastTickNs = clock.nanoTime();
        lastBusyNs = lastTickNs;
    }

    @Override
    public void onClose() {
        if (wal != null) {
            wal.close();
        }
    }

    @Override
    public String roleName() {
        return "raft";
    }

    @Override
    public int doWork() {
        try {
            final long startNs = clock.nanoTime();
            int work = tick();
            work += transport.poll(inbound, context.fragmentLimit());
            final long polledNs = clock.nanoTime();
            final int taken = requests.ring().read(requestHandler, context.requestBatchMax());
            work += taken;
            work += duty.doWork(clock.nanoTime(), core);
            work += expirePending();
            work += expireForwarded();
            final long drivingNs = clock.nanoTime();
            applyNs = 0;
            appliedInCycle = 0;
            snapshotNs = 0;
            snapshotSealNs = 0;
            snapshotCompactNs = 0;
            work += drive();
            work += transport.flush();
            final long endNs = clock.nanoTime();
            if (endNs - startNs > STALL_NS) {
                reportStall(startNs, polledNs, drivingNs, endNs);
            }
            noteBusy(endNs, taken);
            if (work == 0 && wakeable != null) {
                wakeable.sleepAtMost(sleepBoundNs(endNs));
            }
            return work;
        } catch (final RuntimeException ex) {
            // Fail-stop (STYLE.md "Errors"): a broken invariant, or a failure half-way through a step that left the
            // core or the WAL in a state nobody can vouch for. Bad input never gets here.
            throw new AgentTerminationException(ex);
        }
    }

    /**
     * A cycle that took longer than {@link #STALL_NS} is counted and, at most once in ten seconds, logged with where
     * the time went (a stall delays every request behind it: this says which step to look at).
     */
    /** etcd's "apply request took too long" (its expected duration: 100 ms), at most once a second. */
    private void reportSlowApply(final long nowNs, final long tookNs, final int entries) {
        if (lastSlowApplyLogNs != 0 && nowNs - lastSlowApplyLogNs < STALL_LOG_INTERVAL_NS) {
            return;
        }
        lastSlowApplyLogNs = nowNs;
        System.getLogger(RaftAgent.class.getName()).log(System.Logger.Level.WARNING, "node "
            + Integer.toHexString(core.nodeId()) + ": apply request took too long (took: " + tookNs / 1_000_000
            + "ms, expected-duration: 100ms, entries: " + entries + ")");
    }

    private void reportStall(final long startNs, final long polledNs, final long drivingNs, final long endNs) {
        stalls++;
        if (endNs - lastStallLogNs < STALL_LOG_INTERVAL_NS && lastStallLogNs != 0) {
            return;
        }
        lastStallLogNs = endNs;
        final long ms = 1_000_000;
        System.getLogger(RaftAgent.class.getName()).log(System.Logger.Level.WARNING, "node "
            + Integer.toHexString(core.nodeId()) + ": a loop cycle took " + (endNs - startNs) / ms
            + " ms (ticks + peer messages " + (polledNs - startNs) / ms + ", requests " + (drivingNs - polledNs) / ms
            + ", send + WAL sync " + (endNs - drivingNs - applyNs - snapshotNs) / ms + " of which the last sync "
            + lastSyncNs / ms + ", apply " + applyNs / ms + " for " + appliedInCycle + " entries, snapshot "
            + snapshotNs / ms + ": seal " + snapshotSealNs / ms + ", log compaction " + snapshotCompactNs / ms
            + "); stalls so far: " + stalls);
    }

    /**
     * @return loop cycles that took longer than 200 ms.
     */
    public long stalls() {
        return stalls;
    }

    /**
     * The loop is busy while requests are in flight and for {@link IdleDefaults#BUSY_WINDOW_NS} after it last took a
     * request or its log or applied index moved.
     */
    private void noteBusy(final long nowNs, final int requestsTaken) {
        final long lastIndex = core.lastIndex();
        final long appliedIndex = core.appliedIndex();
        if (requestsTaken > 0 || proposals.size() + reads.size() > 0 || lastIndex != lastIndexSeen
            || appliedIndex != appliedIndexSeen) {
            lastBusyNs = nowNs;
            lastIndexSeen = lastIndex;
            appliedIndexSeen = appliedIndex;
        }
    }

    /**
     * How long a cycle that found no work may sleep: a busy loop at most {@link IdleDefaults#WAIT_MAX_NS} (Aeron's
     * retransmit and status-message timers keep their pace), a quiet one until its next Raft tick, at most
     * {@link IdleDefaults#QUIET_MAX_NS}. Datagrams and requests end any sleep at once.
     */
    private long sleepBoundNs(final long nowNs) {
        if (nowNs - lastBusyNs < IdleDefaults.BUSY_WINDOW_NS) {
            return IdleDefaults.WAIT_MAX_NS;
        }
        return Math.max(0, Math.min(IdleDefaults.QUIET_MAX_NS, lastTickNs + tickIntervalNs - nowNs));
    }

    private int tick() {
        final long nowNs = clock.nanoTime();
        final long due = (nowNs - lastTickNs) / tickIntervalNs;
        if (due <= 0) {
            return 0;
        }
        // After a stall (GC, a slow disk) the backlog is dropped rather than fired as a burst of timeouts.
        final int count = (int)Math.min(due, TICKS_PER_CYCLE_MAX);
        for (int i = 0; i < count; i++) {
            core.tick();
        }
        ticks.getAndAddRelease(count);
        lastTickNs = due > TICKS_PER_CYCLE_MAX ? nowNs : lastTickNs + count * tickIntervalNs;
        return count;
    }

    private void onPeerMessage(final DirectBuffer buffer, final int offset, final int length) {
        if (length >= RaftMessage.HEADER_LENGTH
            && RaftMessage.kindOf(buffer, offset) == RaftMessage.HEARTBEAT_RESPONSE) {
            roundTrips.heartbeatAnswered(RaftMessage.fromOf(buffer, offset), clock.nanoTime());
        }
        core.onMessage(buffer, offset, length);
    }

    private void onRequest(final int msgTypeId, final MutableDirectBuffer buffer, final int index, final int length) {
        final long correlationId = buffer.getLong(index + RaftRequests.CORRELATION_OFFSET, ByteOrder.LITTLE_ENDIAN);
        if (msgTypeId == RaftRequests.PROPOSE) {
            if (proposals.isFull()) {
                listener.onProposalComplete(correlationId, RaftResult.FULL, 0, 0);
                return;
            }
            final long forwardId = forwardSequence + 1;
            final long result = core.proposeOrForward(forwardId, buffer.getByte(index + RaftRequests.TYPE_OFFSET),
                buffer, index + RaftRequests.PAYLOAD_OFFSET, length - RaftRequests.PAYLOAD_OFFSET);
            if (result > 0) {
                proposals.appended(result, core.term(), correlationId, clock.nanoTime());
            } else if (result == RaftResult.ACCEPTED) {
                forwardSequence = forwardId;
                proposals.forwarded(forwardId, correlationId, core.leaderId(), clock.nanoTime());
            } else {
                listener.onProposalComplete(correlationId, result, 0, 0);
            }
        } else if (msgTypeId == RaftRequests.READ) {
            final long result = core.readIndex(correlationId);
            if (result != RaftResult.ACCEPTED) {
                listener.onReadComplete(correlationId, result, 0);
            }
        } else if (msgTypeId == RaftRequests.LOCAL) {
            duty.onLocalRequest(correlationId, buffer.getByte(index + RaftRequests.TYPE_OFFSET), buffer,
                index + RaftRequests.PAYLOAD_OFFSET, length - RaftRequests.PAYLOAD_OFFSET, clock.nanoTime(), core);
        } else if (msgTypeId == RaftRequests.MEMBERSHIP) {
            final int attributesLength = length - RaftRequests.PAYLOAD_OFFSET - Integer.BYTES;
            final long result = core.proposeMembership(buffer.getByte(index + RaftRequests.TYPE_OFFSET),
                buffer.getInt(index + RaftRequests.PAYLOAD_OFFSET, ByteOrder.LITTLE_ENDIAN),
                attributesLength > 0 ? buffer : null, index + RaftRequests.PAYLOAD_OFFSET + Integer.BYTES,
                attributesLength);
            if (result > 0) {
                proposals.appended(result, core.term(), correlationId, clock.nanoTime());
            } else {
                listener.onProposalComplete(correlationId, result, 0, 0);
            }
        } else if (msgTypeId == RaftRequests.TRANSFER) {
            final long result = core.transferLeadership(
                buffer.getInt(index + RaftRequests.PAYLOAD_OFFSET, ByteOrder.LITTLE_ENDIAN));
            listener.onProposalComplete(correlationId,
                result == RaftResult.ACCEPTED ? RaftListener.COMMITTED : result, 0, 0);
        }
    }

    private int expireForwarded() {
        return proposals.expireForwarded(clock.nanoTime(), context.proposalTimeoutNs());
    }

    private int expirePending() {
        return core.role() == Role.LEADER ? 0 : proposals.expirePending(clock.nanoTime(), context.proposalTimeoutNs());
    }

    private int drive() {
        Ready ready = core.ready();
        sent = 0;
        int work = relayed(ready); // before sending: the answers to relayed requests leave with this cycle's messages
        work += send(ready);
        if (ready.persistNeeded()) {
            // The appends must be on the wire before this thread blocks in the sync (thesis §10.2.1).
            work += transport.flush();
            final long syncStartNs = clock.nanoTime();
            final long durableBefore = core.durableIndex();
            wal.sync();
            lastSyncNs = clock.nanoTime() - syncStartNs;
            recordSync(lastSyncNs);
            syncs.incrementRelease();
            core.onPersisted();
            entriesSynced.getAndAddRelease(Math.max(0, core.durableIndex() - durableBefore));
            ready = core.ready();
            work += send(ready);
            work++;
        }
        if (ready.softStateChanged()) {
            listener.onRoleChange(ready.role(), ready.term(), ready.leaderId());
        }
        if (core.configChanges() != configChangesSeen) {
            configChangesSeen = core.configChanges();
            listener.onMembershipChange(core.membership(), core.configIndex());
        }
        // Before applying: the index of a forwarded proposal must be pending when its entry applies.
        for (int i = 0; i < ready.forwardStateCount(); i++) {
            proposals.onForwardAnswer(ready.forwardRequestId(i), ready.forwardResult(i), ready.forwardTerm(i),
                core.appliedIndex(), clock.nanoTime());
        }
        if (ready.softStateChanged()) {
            proposals.leaderChanged(ready.leaderId());
        }
        if (ready.snapshotIndex() != Ready.NO_SNAPSHOT) {
            installSnapshot(ready.snapshotIndex(), ready.snapshotTerm());
            work++;
        }
        final long applyStartNs = clock.nanoTime();
        final int applied = apply(ready.applyIndex());
        work += applied;
        applyNs += clock.nanoTime() - applyStartNs;
        appliedInCycle += applied;
        for (int i = 0; i < ready.readStateCount(); i++) {
            onReadState(ready.readRequestId(i), ready.readIndex(i));
        }
        releaseReads();
        core.advance();
        final long snapshotStartNs = clock.nanoTime();
        maybeSnapshot();
        snapshotNs += clock.nanoTime() - snapshotStartNs;
        return work;
    }

    private int relayed(final Ready ready) {
        final long nowNs = clock.nanoTime();
        for (int i = 0; i < ready.peerRequestCount(); i++) {
            duty.onPeerRequest(ready.peerRequestFrom(i), ready.peerRequestId(i), ready.peerRequestType(i),
                ready.peerRequestPayloads(), ready.peerRequestOffset(i), ready.peerRequestLength(i), nowNs, core);
        }
        for (int i = 0; i < ready.localAnswerCount(); i++) {
            duty.onPeerAnswer(ready.localAnswerId(i), ready.localAnswerCode(i), ready.localAnswerValue(i),
                ready.localAnswerSecond(i));
        }
        return ready.peerRequestCount() + ready.localAnswerCount();
    }

    private int send(final Ready ready) {
        final Outbox messages = ready.messages();
        final int count = messages.count();
        long nowNs = 0;
        for (int i = sent; i < count; i++) {
            if (RaftMessage.kindOf(messages.buffer(), messages.offset(i)) == RaftMessage.HEARTBEAT) {
                nowNs = nowNs == 0 ? clock.nanoTime() : nowNs;
                roundTrips.heartbeatSent(messages.destination(i), nowNs);
            }
            final int verdict = transport.send(messages.destination(i), messages.buffer(), messages.offset(i),
                messages.length(i));
            if (verdict == Transport.SENT) {
                messagesSent.incrementRelease();
            } else {
                // Raft tolerates a lost message: timers resend what matters. Counted, never waited for.
                messagesDropped.incrementRelease();
            }
        }
        final int work = count - sent;
        sent = count;
        return work;
    }

    private void installSnapshot(final long index, final long term) {
        stateMachine.installSnapshot(index, term);
        lastSnapshotIndex = index;
        lastAppliedTerm = term;
        proposals.snapshotInstalled(index);
    }

    private int apply(final long applyIndex) {
        final long from = core.appliedIndex() + 1;
        if (applyIndex < from) {
            return 0;
        }
        final long to = Math.min(applyIndex, from + context.applyEntriesMax() - 1);
        final long runStartNs = clock.nanoTime();
        stateMachine.beginRun(from);
        final int read = wal.readRange(from, to, context.applyEntriesMax(), Long.MAX_VALUE, applier);
        Check.state(read == to - from + 1, "committed entries unreadable from the WAL", from, to);
        final long commitStartNs = clock.nanoTime();
        stateMachine.endRun(to, lastAppliedTerm);
        final long runEndNs = clock.nanoTime();
        record(counters.commitNanosTotal, commitBuckets, runEndNs - commitStartNs);
        if (runEndNs - runStartNs > SLOW_APPLY_NS) {
            reportSlowApply(runEndNs, runEndNs - runStartNs, read);
        }
        core.onApplied(to);
        proposals.endRun();
        runsApplied.incrementRelease();
        entriesApplied.getAndAddRelease(read);
        return read;
    }

    private void applyEntry(final long index, final long term, final byte type, final DirectBuffer buffer,
        final int offset, final int length) {
        final long result = stateMachine.apply(index, term, type, buffer, offset, length);
        lastAppliedTerm = term;
        logBytesSinceSnapshot += length;
        proposals.applied(index, term, result);
    }

    private void onReadState(final long correlationId, final long index) {
        if (index == Ready.READ_FAILED || reads.isFull()) {
            listener.onReadComplete(correlationId, RaftListener.LOST, 0);
            return;
        }
        reads.add();
        reads.setLast(INDEX, index);
        reads.setLast(CORRELATION, correlationId);
    }

    private void releaseReads() {
        final long applied = core.appliedIndex();
        while (!reads.isEmpty() && reads.first(INDEX) <= applied) {
            listener.onReadComplete(reads.first(CORRELATION), RaftListener.COMMITTED, reads.first(INDEX));
            reads.removeFirst();
        }
    }

    private void maybeSnapshot() {
        final long interval = context.snapshotIntervalEntries();
        final long applied = core.appliedIndex();
        if (interval == 0 || applied - lastSnapshotIndex < interval) {
            return;
        }
        if (!snapshotStarted) {
            if (snapshotLogBytesNeeded < 0) {
                snapshotLogBytesNeeded =
                    Math.max(0, stateMachine.snapshotCostBytes() - context.snapshotCopyFreeBytes());
            }
            if (logBytesSinceSnapshot < snapshotLogBytesNeeded) {
                return; // the copy would cost more than the log it lets go
            }
        }
        if (core.snapshotTransfersInFlight() > 0
            && applied - lastSnapshotIndex < interval * SNAPSHOT_DEFER_INTERVALS_MAX) {
            // A newer snapshot would restart the transfer from its first byte: under steady writes a lagging
            // follower would never finish. Let the log grow (bounded) until the transfer is done.
            return;
        }
        core.membershipAt(applied, snapshotMembership);
        final long sealStartNs = clock.nanoTime();
        final long covered = stateMachine.snapshotInBackground(applied, wal.term(applied), snapshotMembership);
        snapshotSealNs += clock.nanoTime() - sealStartNs;
        snapshotStarted = covered == 0;
        if (covered > 0) {
            lastSnapshotIndex = covered;
            logBytesSinceSnapshot = 0;
            snapshotLogBytesNeeded = -1;
            final long compactTo = covered - context.compactionTrailingEntries();
            if (compactTo > wal.baseIndex()) {
                final long compactStartNs = clock.nanoTime();
                core.compact(compactTo);
                snapshotCompactNs += clock.nanoTime() - compactStartNs;
            }
        }
    }

    /**
     * @return the core this agent drives, once started (read it from the agent's thread only).
     */
    public RaftCore core() {
        return core;
    }

    private void recordSync(final long durationNs) {
        record(syncNanosTotal, syncBuckets, durationNs);
    }

    private static void record(final AtomicCounter total, final AtomicCounter[] buckets, final long durationNs) {
        int bucket = 0;
        while (bucket < SYNC_BUCKETS - 1 && durationNs > SYNC_BUCKET_FIRST_NS << bucket) {
            bucket++;
        }
        buckets[bucket].incrementRelease();
        total.getAndAddRelease(durationNs);
    }

    /**
     * Keyspace commit durations (the write transaction that ends each apply run) as etcd's
     * {@code etcd_disk_backend_commit_duration_seconds} buckets, as {@link #syncsInBucket}.
     *
     * @param bucket 0 .. {@link #SYNC_BUCKETS} - 1.
     * @return commits in it.
     */
    public long commitsInBucket(final int bucket) {
        return commitBuckets[bucket].get();
    }

    /**
     * @return heartbeat round trips to each peer, timed while this member leads.
     */
    public PeerRoundTrips roundTrips() {
        return roundTrips;
    }

    /**
     * @return nanoseconds spent committing apply runs to the keyspace, all together.
     */
    public long commitNanosTotal() {
        return counters.commitNanosTotal.get();
    }

    /**
     * WAL sync durations as etcd's {@code etcd_disk_wal_fsync_duration_seconds} buckets: bucket {@code i} counts
     * syncs of at most 1 ms × 2^i (the last one counts the rest). Read from any thread (a metrics scrape): every
     * counter of the loop and its core is an Agrona counter the loop writes with ordered stores ({@link RaftCounters}).
     *
     * @param bucket 0 .. {@link #SYNC_BUCKETS} - 1.
     * @return syncs in it.
     */
    public long syncsInBucket(final int bucket) {
        return syncBuckets[bucket].get();
    }

    /**
     * @return nanoseconds spent in WAL syncs, all together.
     */
    public long syncNanosTotal() {
        return syncNanosTotal.get();
    }

    /**
     * @return messages handed to the transport.
     */
    public long messagesSent() {
        return messagesSent.get();
    }

    /**
     * @return messages the transport refused (back-pressure, not connected).
     */
    public long messagesDropped() {
        return messagesDropped.get();
    }

    /**
     * @return WAL syncs (one per duty cycle at most: group commit).
     */
    public long syncs() {
        return syncs.get();
    }

    /**
     * @return ticks given to the core.
     */
    public long ticks() {
        return ticks.get();
    }

    /**
     * @return state machine runs applied.
     */
    public long runsApplied() {
        return runsApplied.get();
    }

    /**
     * @return entries applied, all runs together (entries per run: entries per store transaction).
     */
    public long entriesApplied() {
        return entriesApplied.get();
    }

    /**
     * @return log entries made durable by WAL syncs (entries per sync: the group commit's batch).
     */
    public long entriesSynced() {
        return entriesSynced.get();
    }
}
