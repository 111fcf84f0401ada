package io.cairn.consensus;

import io.cairn.engine.check.Check;
import io.cairn.engine.wal.HardState;
import io.cairn.engine.wal.Wal;
import io.cairn.engine.wal.WalEntryHandler;
import org.agrona.DirectBuffer;
import org.agrona.collections.Long2LongHashMap;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.status.AtomicCounter;

/**
 * Raft (Ongaro and Ousterhout 2014; Ongaro's thesis 2014) as a plain object: no threads, no clock, no I/O and no
 * randomness of its own. Inputs are {@link #tick()}, {@link #onMessage}, {@link #propose}, {@link #readIndex},
 * {@link #transferLeadership}, {@link #proposeMembership}, {@link #onPersisted()}, {@link #onApplied(long)} and
 * {@link #compact(long)}; outputs are collected in one reused {@link Ready}. The log is the engine's {@link Wal}: the
 * core appends, truncates, resets and saves hard state through it, and never syncs it.
 *
 * <p>Driver loop (one thread; see {@link Ready} for each step's contract):
 * <pre>
 *   feed inputs: tick() per elapsed tick, onMessage(...) per received message, propose(...) / readIndex(...) ...
 *   Ready r = core.ready();   send r's messages;
 *   if (r.persistNeeded()) { wal.sync(); core.onPersisted(); r = core.ready(); send r's new messages; }
 *   install r's snapshot if any; apply (applied, r.applyIndex()]; core.onApplied(i);
 *   answer r's read states once applied reaches their index;   core.advance();
 * </pre>
 *
 * <p>Features: randomised election timeouts (§5.2), PreVote (thesis §9.6), CheckQuorum with leader stickiness
 * (thesis §6.2, §4.2.3), batched and pipelined replication with per-follower flow control and fast backtracking
 * (§5.3), commitment of current-term entries only (§5.4.2) with the leader counting itself once durable (thesis
 * §10.2.1), chunked snapshot transfer (§7), leadership transfer (thesis §3.10), batched ReadIndex including reads
 * forwarded by followers (thesis §6.4), and one-at-a-time membership changes with learners (thesis §4.1, §4.2).
 *
 * <p>Allocation: none on the steady paths (propose, replicate, acknowledge, commit, heartbeats, reads). Invariants
 * are checked with {@link Check}; a malformed message is counted and dropped, never thrown.
 */
public final class RaftCore {
    /** No node (no leader known, no vote cast). */
    public static final int NONE = 0;

    private static final int VOTE_PENDING = 0;
    private static final int VOTE_WON = 1;
    private static final int VOTE_LOST = 2;
    private static final int SNAPSHOT_RESEND_HEARTBEATS = 3;
    private static final int SNAPSHOT_STALL_ELECTIONS = 3;

    private final RaftConfig config;
    private final int nodeId;
    private final RandomSource random;
    private final SnapshotSource snapshotSource;
    private final SnapshotSink snapshotSink;
    private final RaftLog log;
    private final Ready ready;
    // Messages that must wait for the next sync (a follower's append acknowledgement, a vote): released by
    // onPersisted(), which is only called after everything written before it is durable.
    private final Outbox afterPersist;
    private final RaftMessageEncoder encoder = new RaftMessageEncoder();
    private final RaftMessageDecoder decoder = new RaftMessageDecoder();
    // The configuration in force: the last CONFIG entry in the log, or the restore point's (thesis §4.1).
    private final Membership membership = new Membership();
    private final ConfigurationHistory history = new ConfigurationHistory();
    private final Membership scratchMembership = new Membership();
    private final ProgressTracker tracker;
    private final ReadIndexQueue reads;
    private final long[] quorumValues = new long[Membership.MEMBERS_MAX];
    private final long[] quorumScratch = new long[Membership.MEMBERS_MAX];
    private final UnsafeBuffer configPayload = new UnsafeBuffer(new byte[Membership.ENCODED_LENGTH_MAX]);
    private final UnsafeBuffer emptyPayload = new UnsafeBuffer(new byte[0]);
    private final WalEntryHandler appendEntryWriter = this::writeAppendEntry;
    private final int messageBytesMax;

    // Hard state (§5.1 figure 2), mirrored in the WAL.
    private long term;
    private int votedFor;
    /** Nonzero while this member abstains from elections: its log must reach this index first. */
    private long abstainBelow;
    private long abstainTerm;
    // Invariant: baseIndex <= commitIndex; appliedIndex <= commitIndex.
    private long commitIndex;
    private long appliedIndex;

    private int role;
    private int leaderId;
    private int electionElapsed;
    private int heartbeatElapsed;
    private int randomizedElectionTimeout;
    private int transferee;
    // Index of the last CONFIG entry proposed by this leader (or its last entry at election): one change at a time.
    private long pendingConfigIndex;
    // Index of the entry that set the configuration in force (or the restore point's index).
    private long configIndex;
    private long configChanges;

    private final IncomingSnapshot incoming = new IncomingSnapshot();
    // Ticks since this member started (the clock of snapshot transfer progress).
    private long ticks;

    // Cursor of the append message being written by appendEntryWriter.
    private int writePosition;
    private int writeCount;
    private int writeBytes;
    private long writeLastIndex;

    private final AtomicCounter malformedMessages;
    private final AtomicCounter misaddressedMessages;
    private final AtomicCounter outboxOverflows;
    private final AtomicCounter readStatesDropped;
    private final AtomicCounter duplicateForwards;
    /** Per sender, the highest request id of a forwarded proposal this member answered (any role, any membership). */
    private final Long2LongHashMap forwardSeen = new Long2LongHashMap(-1);
    private final AtomicCounter appendMessagesSent;
    private final AtomicCounter appendEntriesSent;
    private final AtomicCounter snapshotChunksRejected;
    private final AtomicCounter snapshotsInstalled;
    private final AtomicCounter snapshotsUnavailable;
    private final AtomicCounter checkQuorumStepDowns;
    private final AtomicCounter transfersAborted;
    private final AtomicCounter electionsStarted;
    private final AtomicCounter unreadableEntries;

    /**
     * Builds a member from its log and its latest snapshot (see {@link RaftContext}). Reads the WAL (hard state,
     * configuration entries), so build it on the thread that will drive it: the WAL is single-threaded.
     *
     * @param context what the member is made of.
     */
    public RaftCore(final RaftContext context) {
        config = context.config();
        Check.state(config != null && context.wal() != null && context.random() != null, "config, wal, random");
        Check.state(context.snapshotSource() != null && context.snapshotSink() != null, "snapshot source and sink");
        nodeId = config.nodeId();
        random = context.random();
        snapshotSource = context.snapshotSource();
        snapshotSink = context.snapshotSink();
        messageBytesMax = config.messageBytesMax();
        log = new RaftLog(context.wal(), config.appendBytesMax() + config.entryBytesMax() + 4096);
        ready = new Ready(config);
        afterPersist = new Outbox(config.outboxBytes(), config.outboxMessagesMax());
        reads = new ReadIndexQueue(config.readRequestsMax());
        tracker = new ProgressTracker(config.inflightMessagesMax(), config.inflightBytesMax());
        final RaftCounters counters = context.counters() != null ? context.counters() : new RaftCounters();
        malformedMessages = counters.malformedMessages;
        misaddressedMessages = counters.misaddressedMessages;
        outboxOverflows = counters.outboxOverflows;
        readStatesDropped = counters.readStatesDropped;
        duplicateForwards = counters.duplicateForwards;
        appendMessagesSent = counters.appendMessagesSent;
        appendEntriesSent = counters.appendEntriesSent;
        snapshotChunksRejected = counters.snapshotChunksRejected;
        snapshotsInstalled = counters.snapshotsInstalled;
        snapshotsUnavailable = counters.snapshotsUnavailable;
        checkQuorumStepDowns = counters.checkQuorumStepDowns;
        transfersAborted = counters.transfersAborted;
        electionsStarted = counters.electionsStarted;
        unreadableEntries = counters.unreadableEntries;
        restore(context);
    }

    private void restore(final RaftContext context) {
        final Wal wal = log.wal();
        final long restoreIndex = context.snapshotIndex();
        history.rebase(restoreIndex, context.snapshotMembership());
        Check.state(restoreIndex >= wal.baseIndex(), "log compacted beyond the latest snapshot", wal.baseIndex(),
            restoreIndex);
        if (restoreIndex > wal.lastIndex() || wal.term(restoreIndex) != context.snapshotTerm()) {
            // The snapshot is ahead of the log (a crash between finishing a received snapshot and resetting the
            // log) or disagrees with an uncommitted suffix: the snapshot holds committed state, so it wins.
            log.reset(restoreIndex, context.snapshotTerm());
        }
        abstainBelow = wal.lostSyncedThrough() > log.lastIndex() ? wal.lostSyncedThrough() : 0;
        abstainTerm = abstainBelow != 0 ? wal.lostSyncedTerm() : 0;
        final HardState hardState = wal.hardState();
        term = hardState.term();
        votedFor = (int)hardState.vote();
        if (log.lastTerm() > term) {
            // The current term is never below the last log term. Only a log (or snapshot) that came from elsewhere
            // breaks it — a data directory restored from another cluster's snapshot — and a leader of a lower term
            // would then append entries whose terms go back. Start from the log's term, with no vote in it.
            term = log.lastTerm();
            votedFor = NONE;
        }
        appliedIndex = context.appliedIndex();
        Check.state(appliedIndex >= restoreIndex && appliedIndex <= log.lastIndex(),
            "applied index outside the log", appliedIndex, log.lastIndex());
        // The saved commit index is written lazily and may lag what was applied.
        commitIndex = Math.max(appliedIndex, Math.min(hardState.commitIndex(), log.lastIndex()));
        configIndex = history.scan(log, log.lastIndex(), membership);
        role = Role.FOLLOWER;
        leaderId = NONE;
        resetRandomizedElectionTimeout();
        syncProgress();
        ready.role = role;
        ready.term = term;
        ready.softStateChanged = true;
    }

    // ----------------------------------------------------------------------------------------------------------
    // Inputs
    // ----------------------------------------------------------------------------------------------------------

    /**
     * Advances logical time by one tick: followers and candidates count toward an election (§5.2), the leader
     * toward a heartbeat and its CheckQuorum (thesis §6.2).
     */
    public void tick() {
        flushProposals();
        ticks++;
        electionElapsed++;
        if (role == Role.LEADER) {
            tickLeader();
        } else if (promotable() && electionElapsed >= randomizedElectionTimeout) {
            electionElapsed = 0;
            campaign(config.preVote(), false);
        }
    }

    private void tickLeader() {
        heartbeatElapsed++;
        if (electionElapsed >= config.electionTimeoutTicks()) {
            electionElapsed = 0;
            if (config.checkQuorum() && !quorumActive()) {
                // Thesis §6.2: a leader that has not heard from a quorum within an election timeout may have been
                // replaced; stepping down lets clients find the new one (and bounds stale ReadIndex answers).
                checkQuorumStepDowns.incrementRelease();
                becomeFollower(term, NONE);
                return;
            }
            if (transferee != NONE) {
                // Thesis §3.10: a transfer that did not complete within an election timeout is abandoned.
                transfersAborted.incrementRelease();
                transferee = NONE;
            }
        }
        if (heartbeatElapsed >= config.heartbeatIntervalTicks()) {
            heartbeatElapsed = 0;
            broadcastHeartbeat();
            tickSnapshotTransfers();
        }
    }

    /**
     * Handles one peer message. A malformed, truncated or misaddressed message is counted and dropped.
     *
     * @param buffer the message bytes (read during this call only).
     * @param offset where the message starts.
     * @param length its length.
     */
    public void onMessage(final DirectBuffer buffer, final int offset, final int length) {
        flushProposals();
        if (decoder.wrap(buffer, offset, length) != RaftMessageDecoder.OK) {
            malformedMessages.incrementRelease();
            return;
        }
        final int from = decoder.from();
        if (decoder.to() != nodeId || from == NONE || from == nodeId) {
            misaddressedMessages.incrementRelease();
            return;
        }
        if (acceptTerm()) {
            dispatch();
        }
    }

    private void dispatch() {
        switch (decoder.kind()) {
            case RaftMessage.PRE_VOTE_REQUEST -> onVoteRequest(true);
            case RaftMessage.VOTE_REQUEST -> onVoteRequest(false);
            case RaftMessage.PRE_VOTE_RESPONSE -> onVoteResponse(true);
            case RaftMessage.VOTE_RESPONSE -> onVoteResponse(false);
            case RaftMessage.APPEND -> onAppend();
            case RaftMessage.APPEND_RESPONSE -> onAppendResponse();
            case RaftMessage.HEARTBEAT -> onHeartbeat();
            case RaftMessage.HEARTBEAT_RESPONSE -> onHeartbeatResponse();
            case RaftMessage.SNAPSHOT_CHUNK -> onSnapshotChunk();
            case RaftMessage.SNAPSHOT_RESPONSE -> onSnapshotResponse();
            case RaftMessage.TIMEOUT_NOW -> onTimeoutNow();
            case RaftMessage.READ_INDEX -> onReadIndexRequest();
            case RaftMessage.READ_INDEX_RESPONSE -> onReadIndexResponse();
            case RaftMessage.PROPOSE -> onProposeRequest();
            case RaftMessage.LOCAL -> onLocalRequest();
            case RaftMessage.LOCAL_RESPONSE -> onLocalResponse();
            default -> onProposeResponse();
        }
    }

    /**
     * Term rules shared by every message (§5.1; etcd-raft's Step): a higher term makes this member a follower,
     * except for (pre-)vote requests inside a leader lease and pre-votes, which never change terms; a lower term is
     * ignored, answering only where that helps the sender catch up.
     *
     * @return true if the message should be handled.
     */
    private boolean acceptTerm() {
        final long messageTerm = decoder.term();
        final byte kind = decoder.kind();
        if (messageTerm > term) {
            if (kind == RaftMessage.VOTE_REQUEST || kind == RaftMessage.PRE_VOTE_REQUEST) {
                // Leader stickiness (thesis §4.2.3, §9.6): having heard from a leader within the minimum election
                // timeout, a member ignores candidates, so a partitioned or removed server cannot disrupt. A
                // transfer's campaign is exempt: the leader asked for it (thesis §3.10).
                final boolean inLease = config.checkQuorum() && leaderId != NONE
                    && electionElapsed < config.electionTimeoutTicks();
                if (inLease && !decoder.hasFlag(RaftMessage.FLAG_TRANSFER)) {
                    return false;
                }
            }
            if (kind == RaftMessage.PRE_VOTE_REQUEST
                || (kind == RaftMessage.PRE_VOTE_RESPONSE && !decoder.hasFlag(RaftMessage.FLAG_REJECT))) {
                return true;
            }
            final boolean fromLeader = kind == RaftMessage.APPEND || kind == RaftMessage.HEARTBEAT
                || kind == RaftMessage.SNAPSHOT_CHUNK || kind == RaftMessage.TIMEOUT_NOW;
            becomeFollower(messageTerm, fromLeader ? decoder.from() : NONE);
            return true;
        }
        if (messageTerm < term) {
            if (kind == RaftMessage.APPEND || kind == RaftMessage.HEARTBEAT) {
                // A deposed leader that never saw the new term (CheckQuorum, PreVote) learns it from this answer
                // and steps down.
                sendAppendResponse(decoder.from(), true, 0, 0, 0, ready.messages);
            } else if (kind == RaftMessage.PRE_VOTE_REQUEST || kind == RaftMessage.VOTE_REQUEST) {
                // §5.1: the refusal carries our term so that the candidate updates its own. Without it a candidate
                // that only hears from members with higher terms (through a configuration they do not know yet)
                // could campaign forever below them.
                sendVoteResponse(decoder.from(), kind == RaftMessage.PRE_VOTE_REQUEST, true, term, ready.messages);
            } else if (kind == RaftMessage.PROPOSE && firstCopy(decoder.from(), decoder.proposeRequestId())) {
                // The sender follows a deposed leader's term: refuse, so that it retries with the leader it learns of.
                answerForward(decoder.from(), decoder.proposeRequestId(), RaftResult.NOT_LEADER);
            } else if (kind == RaftMessage.PROPOSE_RESPONSE) {
                onProposeResponse(); // its term is older than ours: the caller hears that the outcome is unknown
            }
            return false;
        }
        return true;
    }

    /**
     * Proposes one application command (leader only). Entries are staged and appended to the WAL in one batch at
     * the next {@link #ready()} (or any other input), then replicated.
     *
     * @param type    an application entry type ({@link EntryType#NORMAL} or above).
     * @param buffer  the payload (copied).
     * @param offset  where it starts.
     * @param length  its length.
     * @return the entry's index (positive) or a {@link RaftResult} refusal code.
     */
    public long propose(final byte type, final DirectBuffer buffer, final int offset, final int length) {
        if (role != Role.LEADER) {
            return RaftResult.NOT_LEADER;
        }
        if (transferee != NONE) {
            return RaftResult.TRANSFER_IN_PROGRESS;
        }
        if (!EntryType.isApplication(type)) {
            return RaftResult.INVALID;
        }
        if (length > config.entryBytesMax()) {
            return RaftResult.TOO_LARGE;
        }
        final long index = log.lastIndex() + 1;
        if (index - commitIndex > config.uncommittedEntriesMax()) {
            return RaftResult.FULL;
        }
        log.stage(index, term, type, buffer, offset, length);
        return index;
    }

    /**
     * Proposes one application command on any member: the leader stages it as {@link #propose} does; a follower that
     * knows its leader forwards it there (etcd's MsgProp), and the leader's answer — the entry's index and term, or
     * its refusal — arrives as a forward state in a later {@link Ready}. The follower then answers its caller from its
     * own apply of that index, if the entry applied there has that term. A forward lost on the way (a leader that
     * dies) is never answered: the caller's own timeout says the outcome is unknown; nothing is retried here.
     *
     * @param requestId the caller's id, echoed in the forward state: greater than every id this member forwarded
     *                  before, across restarts too (the leader appends a forwarded proposal once: a copy, or one
     *                  that arrives after a later one, is dropped unanswered).
     * @param type      an application entry type.
     * @param buffer    the payload (copied).
     * @param offset    where it starts.
     * @param length    its length.
     * @return the entry's index (positive: this member leads), {@link RaftResult#ACCEPTED} (forwarded), or a refusal
     *     ({@link RaftResult#NOT_LEADER} when no leader is known).
     */
    public long proposeOrForward(final long requestId, final byte type, final DirectBuffer buffer, final int offset,
        final int length) {
        if (role == Role.LEADER) {
            return propose(type, buffer, offset, length);
        }
        if (leaderId == NONE) {
            return RaftResult.NOT_LEADER;
        }
        if (!EntryType.isApplication(type)) {
            return RaftResult.INVALID;
        }
        if (length > config.entryBytesMax()) {
            return RaftResult.TOO_LARGE;
        }
        flushProposals();
        if (claim(ready.messages, leaderId, RaftMessage.PROPOSE_PAYLOAD_OFFSET + length) < 0) {
            return RaftResult.FULL;
        }
        ready.messages.commit(encoder.encodePropose(nodeId, leaderId, term, requestId, type, buffer, offset, length));
        return RaftResult.ACCEPTED;
    }

    /**
     * Relays a request for the leader's loop duty (a lease keep-alive) from a follower that cannot answer it: it
     * reaches the leader's driver as a peer request in a later {@link Ready}, and the leader's answer
     * ({@link #answerLocal}) comes back as a local answer. Nothing is retried: a request lost with a leader is never
     * answered (the caller's timeout decides). Touches no Raft state.
     *
     * @param requestId the caller's id, echoed in the answer.
     * @param type      the duty's request type.
     * @param buffer    the payload (copied; at most {@link RaftMessage#LOCAL_PAYLOAD_MAX} bytes).
     * @param offset    where it starts.
     * @param length    its length.
     * @return {@link RaftResult#ACCEPTED}; {@link RaftResult#NOT_LEADER} when no other member is known to lead;
     *     {@link RaftResult#TOO_LARGE} or {@link RaftResult#FULL}.
     */
    public long forwardLocal(final long requestId, final byte type, final DirectBuffer buffer, final int offset,
        final int length) {
        if (role == Role.LEADER || leaderId == NONE) {
            return RaftResult.NOT_LEADER;
        }
        if (length > RaftMessage.LOCAL_PAYLOAD_MAX) {
            return RaftResult.TOO_LARGE;
        }
        flushProposals();
        if (claim(ready.messages, leaderId, RaftMessage.LOCAL_PAYLOAD_OFFSET + length) < 0) {
            return RaftResult.FULL;
        }
        ready.messages.commit(encoder.encodeLocal(nodeId, leaderId, term, requestId, type, buffer, offset, length));
        return RaftResult.ACCEPTED;
    }

    /**
     * Answers a request a follower relayed ({@link Ready#peerRequestCount()}); the driver calls it before it sends the
     * ready's messages, so the answer goes out with them.
     *
     * @param to        the member that relayed it.
     * @param requestId its id.
     * @param code      the duty's code.
     * @param value     a first value.
     * @param second    a second value.
     */
    public void answerLocal(final int to, final long requestId, final int code, final long value, final long second) {
        final int offset = claim(ready.messages, to, RaftMessage.LOCAL_RESPONSE_LENGTH);
        if (offset >= 0) {
            ready.messages.commit(encoder.encodeLocalResponse(nodeId, to, term, requestId, code, value, second));
        }
    }

    /**
     * Asks for a linearizable read (ReadIndex, thesis §6.4). The leader queues it and answers once a heartbeat
     * round has confirmed its leadership (one round serves every read waiting when it starts); a follower forwards
     * it to the leader. The answer arrives as a read state in a later {@link Ready}.
     *
     * @param requestId the caller's id for the read, echoed in the read state.
     * @return {@link RaftResult#ACCEPTED}, {@link RaftResult#NOT_LEADER} (no leader known) or
     *     {@link RaftResult#FULL}.
     */
    public long readIndex(final long requestId) {
        flushProposals();
        if (role == Role.LEADER) {
            return enqueueRead(requestId, nodeId);
        }
        if (leaderId == NONE) {
            return RaftResult.NOT_LEADER;
        }
        final int offset = claim(ready.messages, leaderId, RaftMessage.READ_INDEX_REQUEST_LENGTH);
        if (offset >= 0) {
            ready.messages.commit(encoder.encodeReadIndex(nodeId, leaderId, term, requestId));
        }
        return RaftResult.ACCEPTED;
    }

    /**
     * Starts a leadership transfer (thesis §3.10): proposals are refused while it lasts; once the target's log is
     * up to date it is told to campaign at once. Abandoned after an election timeout.
     *
     * @param target a voter.
     * @return {@link RaftResult#ACCEPTED}, {@link RaftResult#NOT_LEADER} or {@link RaftResult#INVALID}.
     */
    public long transferLeadership(final int target) {
        flushProposals();
        if (role != Role.LEADER) {
            return RaftResult.NOT_LEADER;
        }
        if (target == nodeId) {
            return RaftResult.ACCEPTED;
        }
        final Progress pr = tracker.of(target);
        if (pr == null || !pr.voter) {
            return RaftResult.INVALID;
        }
        transferee = target;
        electionElapsed = 0;
        if (pr.match == log.lastIndex()) {
            sendTimeoutNow(target);
        }
        return RaftResult.ACCEPTED;
    }

    /**
     * Proposes a membership change (thesis §4.1): one at a time, only after the leader has committed an entry of
     * its term, and in force as soon as it is appended.
     *
     * @param change   a {@link MembershipChange} constant.
     * @param memberId the server concerned.
     * @return the CONFIG entry's index, or a {@link RaftResult} refusal code.
     */
    public long proposeMembership(final int change, final int memberId) {
        return proposeMembership(change, memberId, null, 0, 0);
    }

    /**
     * Proposes a membership change that also sets the member's attributes ({@link Membership#setAttributes}).
     *
     * @param change     a {@link MembershipChange} constant.
     * @param memberId   the server concerned.
     * @param attributes its new attributes; null keeps those it has (an added member then has none).
     * @param offset     where they start.
     * @param length     their length.
     * @return the CONFIG entry's index, or a {@link RaftResult} refusal code.
     */
    public long proposeMembership(final int change, final int memberId, final DirectBuffer attributes,
        final int offset, final int length) {
        flushProposals();
        if (role != Role.LEADER) {
            return RaftResult.NOT_LEADER;
        }
        if (transferee != NONE) {
            return RaftResult.TRANSFER_IN_PROGRESS;
        }
        if (pendingConfigIndex > commitIndex || !committedInTerm()) {
            return RaftResult.CONFIG_PENDING;
        }
        final long verdict = nextMembership(change, memberId);
        if (verdict != RaftResult.ACCEPTED) {
            return verdict;
        }
        if (attributes != null && (change == MembershipChange.REMOVE
            || !scratchMembership.setAttributes(memberId, attributes, offset, length))) {
            return RaftResult.INVALID;
        }
        final int encodedLength = scratchMembership.encode(configPayload, 0);
        final long index = log.lastIndex() + 1;
        log.stage(index, term, EntryType.CONFIG, configPayload, 0, encodedLength);
        log.flush();
        applyConfiguration(index, scratchMembership);
        pendingConfigIndex = index;
        return index;
    }

    private long nextMembership(final int change, final int memberId) {
        scratchMembership.copyFrom(membership);
        final boolean valid;
        switch (change) {
            case MembershipChange.ADD_VOTER -> valid = scratchMembership.addVoter(memberId);
            case MembershipChange.ADD_LEARNER -> valid = scratchMembership.addLearner(memberId);
            case MembershipChange.PROMOTE_LEARNER -> {
                final Progress pr = tracker.of(memberId);
                if (pr != null && !pr.voter && pr.match < commitIndex) {
                    return RaftResult.NOT_CAUGHT_UP;
                }
                valid = scratchMembership.promote(memberId);
            }
            case MembershipChange.REMOVE -> valid = scratchMembership.remove(memberId)
                && scratchMembership.voterCount() > 0;
            case MembershipChange.UPDATE -> valid = scratchMembership.contains(memberId);
            default -> valid = false;
        }
        return valid ? RaftResult.ACCEPTED : RaftResult.INVALID;
    }

    /**
     * Reports that everything written to the WAL before the driver's {@code wal.sync()} is durable. Releases the
     * messages that waited for it and lets the leader count its own log toward commitment (thesis §10.2.1). The
     * driver must feed no other input between the sync and this call.
     */
    public void onPersisted() {
        Check.state(!log.hasStaged(), "entries staged between ready() and onPersisted()");
        log.onPersisted();
        if (afterPersist.count() > 0) {
            outboxOverflows.getAndAddRelease(ready.messages.appendAll(afterPersist));
            afterPersist.clear();
        }
        if (role == Role.LEADER) {
            maybeCommit();
        }
    }

    /**
     * @param index the highest index the state machine has applied (monotonic; at most {@link Ready#applyIndex()}).
     */
    public void onApplied(final long index) {
        Check.state(index >= appliedIndex && index <= commitIndex, "applied index out of range", index, commitIndex);
        appliedIndex = index;
    }

    /**
     * Discards log entries up to {@code index}, which a durable snapshot covers (§7). Followers that need them
     * later receive a snapshot instead.
     *
     * @param index at most the applied index.
     */
    public void compact(final long index) {
        flushProposals();
        Check.state(index <= appliedIndex, "compaction beyond the applied index", index, appliedIndex);
        if (index <= log.baseIndex()) {
            return;
        }
        history.scan(log, index, scratchMembership);
        history.rebase(index, scratchMembership);
        log.compactBefore(index + 1);
    }

    /**
     * @param index an index in {@code [latest restore point, lastIndex]}: the applied index when taking a snapshot.
     * @param out   receives the configuration in force at that index (to be stored with the snapshot).
     * @return the index of the entry that set it.
     */
    public long membershipAt(final long index, final Membership out) {
        flushProposals();
        Check.state(index >= history.baseIndex() && index <= log.lastIndex(), "index outside the log",
            history.baseIndex(), index);
        if (configIndex <= index) {
            // The configuration in force now was set at or before the index: no need to read the log (a scan reads
            // every entry since the restore point, which stalls the loop on a long log).
            out.copyFrom(membership);
            return configIndex;
        }
        return history.scan(log, index, out);
    }

    // ----------------------------------------------------------------------------------------------------------
    // Output
    // ----------------------------------------------------------------------------------------------------------

    /**
     * Appends staged proposals, lets the leader send what its followers' windows allow and start a ReadIndex
     * round, and fills the {@link Ready}. Its contents stay valid until {@link #advance()}.
     *
     * @return the reused output object.
     */
    public Ready ready() {
        flushProposals();
        if (role == Role.LEADER) {
            pumpReplication();
            pumpReads();
        }
        ready.persistNeeded = log.persistNeeded();
        ready.applyIndex = Math.max(appliedIndex, Math.min(commitIndex, log.durableIndex()));
        ready.commitIndex = commitIndex;
        if (ready.role != role || ready.leaderId != leaderId || ready.term != term) {
            ready.role = role;
            ready.leaderId = leaderId;
            ready.term = term;
            ready.softStateChanged = true;
        }
        return ready;
    }

    /**
     * Clears the {@link Ready}'s messages, read states, snapshot and change flag once the driver has acted on them.
     */
    public void advance() {
        ready.clear();
    }

    // ----------------------------------------------------------------------------------------------------------
    // Elections (§5.2, thesis §9.6)
    // ----------------------------------------------------------------------------------------------------------

    private boolean promotable() {
        return membership.isVoter(nodeId) && !abstaining();
    }

    /**
     * Whether this member's log still lacks entries it had synced and lost
     * ({@link io.cairn.engine.wal.Wal#lostSyncedThrough()}): it may have acknowledged them and a quorum may have
     * counted on them. Until a leader has given it entries through that index again it does not campaign (it could
     * win without them, with the votes of members that never had them), and votes only for a candidate whose log is
     * at least as up to date as the one it had ({@link #reachesLostEntries}); otherwise its vote could elect a
     * candidate lacking them although another member still holds them.
     *
     * @return true while its log is below what it had synced.
     */
    public boolean abstaining() {
        // Settled once the log is at least as up to date as the one it lost (§5.4.1's order: the last term first). A
        // last entry of a later term than the lost tail's came from a later leader, whose log holds every entry
        // committed before its term (Leader Completeness): a lost entry at or below that index matches it, one above
        // it was never committed. Index alone kept a member abstaining for good once a newer leader had cut its log
        // below the lost index (the simulator found a cluster that could then elect no one).
        if (abstainBelow != 0 && (log.lastIndex() >= abstainBelow || log.lastTerm() > abstainTerm)) {
            abstainBelow = 0;
            abstainTerm = 0;
        }
        return abstainBelow != 0 && !PlantedBug.VOTE_WITH_LOST_ENTRIES.planted();
    }

    private boolean reachesLostEntries(final long candidateIndex, final long candidateTerm) {
        return !abstaining() || candidateTerm > abstainTerm
            || (candidateTerm == abstainTerm && candidateIndex >= abstainBelow);
    }

    private void resetRandomizedElectionTimeout() {
        // §5.2: spread timeouts so that one server usually times out alone.
        randomizedElectionTimeout = config.electionTimeoutTicks() + random.nextInt(config.electionTimeoutTicks());
    }

    private void campaign(final boolean preVote, final boolean transfer) {
        electionsStarted.incrementRelease();
        if (preVote) {
            // Thesis §9.6: ask first, without a new term, so that a server that cannot win disturbs nobody.
            role = Role.PRE_CANDIDATE;
        } else {
            term++;
            votedFor = nodeId;
            role = Role.CANDIDATE;
            log.saveHardState(term, votedFor, commitIndex, true);
        }
        leaderId = NONE;
        transferee = NONE;
        electionElapsed = 0;
        resetRandomizedElectionTimeout();
        for (int i = 0; i < tracker.count(); i++) {
            final Progress pr = tracker.at(i);
            pr.voteResponded = pr.nodeId == nodeId;
            pr.voteGranted = pr.nodeId == nodeId;
        }
        if (tallyVotes() == VOTE_WON) {
            if (preVote) {
                campaign(false, transfer);
            } else {
                becomeLeader();
            }
            return;
        }
        final long voteTerm = preVote ? term + 1 : term;
        // A vote request depends on the new term and self-vote being durable: it waits for the sync.
        final Outbox outbox = preVote ? ready.messages : durableOutbox();
        for (int i = 0; i < tracker.count(); i++) {
            final Progress pr = tracker.at(i);
            if (pr.voter && pr.nodeId != nodeId) {
                final int offset = claim(outbox, pr.nodeId, RaftMessage.VOTE_REQUEST_LENGTH);
                if (offset >= 0) {
                    outbox.commit(encoder.encodeVoteRequest(preVote, transfer, nodeId, pr.nodeId, voteTerm,
                        log.lastIndex(), log.lastTerm()));
                }
            }
        }
    }

    private int tallyVotes() {
        int granted = 0;
        int rejected = 0;
        for (int i = 0; i < tracker.count(); i++) {
            final Progress pr = tracker.at(i);
            if (pr.voter && pr.voteResponded) {
                if (pr.voteGranted) {
                    granted++;
                } else {
                    rejected++;
                }
            }
        }
        final int quorum = membership.quorum();
        return granted >= quorum ? VOTE_WON : rejected > membership.voterCount() - quorum ? VOTE_LOST : VOTE_PENDING;
    }

    private void onVoteRequest(final boolean preVote) {
        final int from = decoder.from();
        final long messageTerm = decoder.term();
        // §5.2: one vote per term, first come first served; a pre-vote for a later term commits to nothing.
        final boolean canVote = votedFor == from
            || (votedFor == NONE && leaderId == NONE)
            || (preVote && messageTerm > term)
            || PlantedBug.VOTE_TWICE.planted();
        // §5.4.1: only for a candidate whose log is at least as up to date as ours — or, after losing synced
        // entries, as the log we had.
        if (canVote && ((log.isUpToDate(decoder.lastLogIndex(), decoder.lastLogTerm())
            && reachesLostEntries(decoder.lastLogIndex(), decoder.lastLogTerm()))
            || PlantedBug.VOTE_IGNORES_LOG.planted())) {
            if (!preVote) {
                electionElapsed = 0;
                votedFor = from;
                log.saveHardState(term, votedFor, commitIndex, true);
            }
            sendVoteResponse(from, preVote, false, messageTerm, preVote ? ready.messages : durableOutbox());
        } else {
            sendVoteResponse(from, preVote, true, term, ready.messages);
        }
    }

    private void onVoteResponse(final boolean preVote) {
        if (role != (preVote ? Role.PRE_CANDIDATE : Role.CANDIDATE)) {
            return;
        }
        final boolean granted = !decoder.hasFlag(RaftMessage.FLAG_REJECT);
        if (granted && decoder.term() != (preVote ? term + 1 : term)) {
            return;
        }
        final Progress pr = tracker.of(decoder.from());
        if (pr == null || !pr.voter || pr.voteResponded) {
            return;
        }
        pr.voteResponded = true;
        pr.voteGranted = granted;
        final int result = tallyVotes();
        if (result == VOTE_WON) {
            if (preVote) {
                campaign(false, false);
            } else {
                becomeLeader();
            }
        } else if (result == VOTE_LOST) {
            becomeFollower(term, NONE);
        }
    }

    private void becomeFollower(final long newTerm, final int leader) {
        final boolean wasLeader = role == Role.LEADER;
        if (newTerm != term) {
            Check.state(newTerm > term, "term must not decrease", term, newTerm);
            term = newTerm;
            votedFor = NONE;
            log.saveHardState(term, votedFor, commitIndex, true);
        }
        role = Role.FOLLOWER;
        leaderId = leader;
        electionElapsed = 0;
        heartbeatElapsed = 0;
        transferee = NONE;
        resetRandomizedElectionTimeout();
        if (wasLeader) {
            failReads();
        }
    }

    private void becomeLeader() {
        role = Role.LEADER;
        leaderId = nodeId;
        transferee = NONE;
        electionElapsed = 0;
        heartbeatElapsed = 0;
        final long next = log.lastIndex() + 1;
        for (int i = 0; i < tracker.count(); i++) {
            tracker.at(i).resetForTerm(next);
            tracker.at(i).recentActive = tracker.at(i).nodeId == nodeId;
        }
        reads.clear();
        // §5.4.2, thesis §6.4: an entry of the new term, so that earlier-term entries can commit under it and
        // ReadIndex learns the latest commit index.
        log.stage(next, term, EntryType.NOOP, emptyPayload, 0, 0);
        log.flush();
        // Any CONFIG entry in the log may still be uncommitted: no new change until everything so far commits.
        pendingConfigIndex = log.lastIndex();
        maybeCommit();
    }

    private boolean quorumActive() {
        int active = 0;
        for (int i = 0; i < tracker.count(); i++) {
            final Progress pr = tracker.at(i);
            if (pr.voter && (pr.recentActive || pr.nodeId == nodeId)) {
                active++;
            }
            pr.recentActive = pr.nodeId == nodeId;
        }
        return active >= membership.quorum();
    }

    private void onTimeoutNow() {
        if (role != Role.LEADER && promotable()) {
            // Thesis §3.10: the leader asked; skip the pre-vote and tell voters to ignore their lease.
            campaign(false, true);
        }
    }

    // ----------------------------------------------------------------------------------------------------------
    // Replication, follower side (§5.3)
    // ----------------------------------------------------------------------------------------------------------

    private void followLeader(final int from) {
        Check.state(role != Role.LEADER, "another leader in this member's term", term);
        if (role != Role.FOLLOWER || leaderId != from) {
            becomeFollower(term, from);
        }
        electionElapsed = 0;
    }

    private void onAppend() {
        final int from = decoder.from();
        followLeader(from);
        final long prevIndex = decoder.prevLogIndex();
        final long prevTerm = decoder.prevLogTerm();
        if (prevIndex < commitIndex) {
            // Everything up to the commit index matches any leader's log (§5.4); it may be compacted here.
            sendAppendResponse(from, false, commitIndex, 0, 0, durableOutbox());
            return;
        }
        if (log.term(prevIndex) != prevTerm) {
            // §5.3 consistency check failed. Hint where the logs may agree: the last index at or below prevIndex
            // whose term is at most prevTerm, so the leader skips whole terms (fast backtracking).
            final long hintIndex = log.findConflictByTerm(Math.min(prevIndex, log.lastIndex()), prevTerm);
            sendAppendResponse(from, true, prevIndex, hintIndex, log.term(hintIndex), ready.messages);
            return;
        }
        final long lastNewIndex = appendEntries(prevIndex);
        if (decoder.commitIndex() > commitIndex) {
            // Only as far as this message proved the logs match (§5.3 figure 2, receiver rule 5).
            commitTo(Math.min(decoder.commitIndex(), lastNewIndex));
        }
        // The acknowledgement promises durability: it leaves after the sync.
        sendAppendResponse(from, false, lastNewIndex, 0, 0, durableOutbox());
    }

    private long appendEntries(final long prevIndex) {
        final int count = decoder.entryCount();
        int position = RaftMessage.APPEND_ENTRIES_OFFSET;
        long index = prevIndex;
        boolean appending = false;
        for (int i = 0; i < count; i++, position = decoder.nextEntry(position)) {
            index++;
            final long entryTerm = decoder.entryTerm(position);
            if (!appending) {
                if (index <= log.lastIndex()) {
                    if (log.term(index) == entryTerm) {
                        continue;
                    }
                    truncateConflict(index);
                }
                appending = true;
            }
            final byte type = decoder.entryType(position);
            final int payloadOffset = decoder.entryPayloadOffset(position);
            final int payloadLength = decoder.entryLength(position);
            log.stage(index, entryTerm, type, decoder.buffer(), payloadOffset, payloadLength);
            if (type == EntryType.CONFIG) {
                // Thesis §4.1: a configuration is used as soon as it is in the log, committed or not.
                scratchMembership.decode(decoder.buffer(), payloadOffset, payloadLength);
                applyConfiguration(index, scratchMembership);
            }
        }
        log.flush();
        return prevIndex + count;
    }

    private void truncateConflict(final long index) {
        // §5.4: committed entries never conflict with a current leader's; anything else is a broken invariant.
        Check.state(index > commitIndex, "conflict at a committed index", index, commitIndex);
        log.truncateAfter(index - 1);
        if (configIndex >= index) {
            // The configuration came from a dropped entry: fall back to the previous one in the log.
            configIndex = history.scan(log, index - 1, membership);
            configChanges++;
            syncProgress();
        }
    }

    private void onHeartbeat() {
        final int from = decoder.from();
        followLeader(from);
        // The leader sends min(match, commit), which this log is known to hold.
        final long leaderCommit = Math.min(decoder.heartbeatCommitIndex(), log.lastIndex());
        if (leaderCommit > commitIndex) {
            commitTo(leaderCommit);
        }
        final int offset = claim(ready.messages, from, RaftMessage.HEARTBEAT_RESPONSE_LENGTH);
        if (offset >= 0) {
            ready.messages.commit(encoder.encodeHeartbeatResponse(nodeId, from, term, decoder.heartbeatContext()));
        }
    }

    private void commitTo(final long index) {
        if (index > commitIndex) {
            commitIndex = index;
            // Lazily durable: a lost commit index is learned again from the leader.
            log.saveHardState(term, votedFor, commitIndex, false);
        }
    }

    // ----------------------------------------------------------------------------------------------------------
    // Replication, leader side (§5.3; flow control after etcd-raft)
    // ----------------------------------------------------------------------------------------------------------

    private void onAppendResponse() {
        if (role != Role.LEADER) {
            return;
        }
        final Progress pr = tracker.of(decoder.from());
        if (pr == null) {
            return;
        }
        pr.recentActive = true;
        if (decoder.hasFlag(RaftMessage.FLAG_REJECT)) {
            onAppendRejected(pr);
            return;
        }
        final long index = decoder.responseIndex();
        final boolean updated = pr.maybeUpdate(index);
        if (updated || (pr.state == Progress.PROBE && index == pr.match)) {
            if (pr.state == Progress.PROBE
                || (pr.state == Progress.SNAPSHOT && pr.match + 1 >= log.firstIndex())) {
                pr.becomeReplicate();
            }
        }
        if (updated) {
            maybeCommit();
            if (pr.nodeId == transferee && pr.match == log.lastIndex()) {
                sendTimeoutNow(pr.nodeId);
            }
        }
    }

    private void onAppendRejected(final Progress pr) {
        final long rejected = decoder.responseIndex();
        if (rejected <= pr.match && decoder.hintIndex() < pr.match && !PlantedBug.KEEP_LOST_MATCH.planted()) {
            // The member refused an index it had acknowledged: it lost records after syncing them (it will not vote
            // until it has them back). Its acknowledgements above its log no longer count toward commitment, and
            // it is sent the entries again from where its log ends (or a snapshot). A stale refusal costs a resend.
            pr.forgetMatchAbove(decoder.hintIndex());
            return;
        }
        if (pr.state == Progress.REPLICATE) {
            if (rejected <= pr.match) {
                return;
            }
            pr.becomeProbe();
        } else if (pr.state == Progress.PROBE) {
            if (rejected != pr.next - 1) {
                return;
            }
            long probe = decoder.hintIndex();
            if (decoder.hintTerm() > 0) {
                // Skip every index of ours whose term is above the follower's term there.
                probe = log.findConflictByTerm(probe, decoder.hintTerm());
            }
            pr.next = Math.max(Math.min(rejected, probe + 1), pr.match + 1);
            pr.probeSent = false;
        }
    }

    private void pumpReplication() {
        final long lastIndex = log.lastIndex();
        for (int i = 0; i < tracker.count(); i++) {
            final Progress pr = tracker.at(i);
            if (pr.nodeId == nodeId) {
                continue;
            }
            if (pr.state == Progress.SNAPSHOT) {
                pumpSnapshot(pr);
                continue;
            }
            boolean sent = false;
            // Pipelining: as many messages as the window allows (§5.3 and thesis §10.2.2).
            while (!pr.paused() && pr.state != Progress.SNAPSHOT && pr.next <= lastIndex) {
                if (!sendAppend(pr)) {
                    break;
                }
                sent = true;
            }
            if (!sent && !pr.paused() && pr.state != Progress.SNAPSHOT
                && (pr.commitSent < commitIndex || pr.appendDue)) {
                sendAppend(pr);
            }
        }
    }

    private boolean sendAppend(final Progress pr) {
        final long prevIndex = pr.next - 1;
        final long prevTerm = log.term(prevIndex);
        if (prevTerm < 0) {
            // §7: what it needs was compacted away.
            pr.becomeSnapshot();
            pumpSnapshot(pr);
            return false;
        }
        final int offset = claim(ready.messages, pr.nodeId, messageBytesMax);
        if (offset < 0) {
            return false;
        }
        pr.appendDue = false;
        encoder.encodeAppendHeader(nodeId, pr.nodeId, term, prevIndex, prevTerm, commitIndex);
        writePosition = RaftMessage.APPEND_ENTRIES_OFFSET;
        writeCount = 0;
        writeBytes = 0;
        writeLastIndex = prevIndex;
        final long lastIndex = log.lastIndex();
        if (pr.next <= lastIndex) {
            log.readRange(pr.next, lastIndex, config.appendEntriesMax(), config.appendBytesMax(), appendEntryWriter);
            if (writeCount == 0) {
                // The WAL refused to serve the entry (it failed its checksum): send nothing rather than loop.
                ready.messages.abort();
                unreadableEntries.incrementRelease();
                return false;
            }
        }
        encoder.finishAppend(writeCount);
        ready.messages.commit(writePosition);
        appendMessagesSent.incrementRelease();
        appendEntriesSent.getAndAddRelease(writeCount);
        pr.commitSent = Math.max(pr.commitSent, Math.min(commitIndex, writeLastIndex));
        if (pr.state == Progress.REPLICATE) {
            if (writeCount > 0) {
                pr.next = writeLastIndex + 1;
                pr.inflights.add(writeLastIndex, writeBytes);
            }
        } else {
            pr.probeSent = true;
        }
        return true;
    }

    private void writeAppendEntry(final long index, final long entryTerm, final byte type, final DirectBuffer buffer,
        final int offset, final int length) {
        writePosition = encoder.appendEntry(writePosition, entryTerm, type, buffer, offset, length);
        writeCount++;
        writeBytes += length;
        writeLastIndex = index;
    }

    private void maybeCommit() {
        int voters = 0;
        for (int i = 0; i < tracker.count(); i++) {
            final Progress pr = tracker.at(i);
            if (pr.voter) {
                // Thesis §10.2.1: the leader's own log counts only as far as it is durable.
                quorumValues[voters++] = pr.nodeId == nodeId ? log.durableIndex() : pr.match;
            }
        }
        if (voters == 0) {
            return;
        }
        final long candidate = Quorum.committedIndex(quorumValues, voters, quorumScratch);
        // §5.4.2: only an entry of the leader's own term commits by counting replicas; earlier ones commit with it.
        if (candidate > commitIndex && (log.term(candidate) == term || PlantedBug.COMMIT_EARLIER_TERM.planted())) {
            commitTo(candidate);
            if (!membership.isVoter(nodeId) && commitIndex >= configIndex) {
                // Thesis §4.2.2: a leader removed from the configuration steps down once the removal commits.
                becomeFollower(term, NONE);
            }
        }
    }

    private boolean committedInTerm() {
        return log.term(commitIndex) == term;
    }

    private void broadcastHeartbeat() {
        final long context = reads.roundStarted();
        for (int i = 0; i < tracker.count(); i++) {
            final Progress pr = tracker.at(i);
            if (pr.nodeId != nodeId) {
                final int offset = claim(ready.messages, pr.nodeId, RaftMessage.HEARTBEAT_LENGTH);
                if (offset >= 0) {
                    ready.messages.commit(encoder.encodeHeartbeat(nodeId, pr.nodeId, term,
                        Math.min(pr.match, commitIndex), context));
                }
            }
        }
    }

    private void onHeartbeatResponse() {
        if (role != Role.LEADER) {
            return;
        }
        final Progress pr = tracker.of(decoder.from());
        if (pr == null) {
            return;
        }
        pr.recentActive = true;
        if (pr.state == Progress.PROBE) {
            pr.probeSent = false;
        } else if (pr.state == Progress.REPLICATE && pr.inflights.full()) {
            // An append may have been lost with the window full: free a slot so that the next one exposes the gap
            // (the follower rejects it and the leader probes back from the match index).
            pr.inflights.freeFirst();
        }
        if (pr.match < log.lastIndex()) {
            // It is behind: append even if there is nothing new, so that a lost last append is noticed.
            pr.appendDue = true;
        }
        final long context = decoder.heartbeatContext();
        if (context > pr.readAckRound) {
            pr.readAckRound = context;
            if (reads.roundInFlight()) {
                confirmReads();
            }
        }
    }

    private void sendTimeoutNow(final int target) {
        final int offset = claim(ready.messages, target, RaftMessage.HEADER_LENGTH);
        if (offset >= 0) {
            ready.messages.commit(encoder.encodeTimeoutNow(nodeId, target, term));
        }
    }

    // ----------------------------------------------------------------------------------------------------------
    // Snapshots (§7), chunked
    // ----------------------------------------------------------------------------------------------------------

    private void pumpSnapshot(final Progress pr) {
        if (pr.snapshotChunkInFlight) {
            return;
        }
        final long index = snapshotSource.index();
        if (index == SnapshotSource.NULL_INDEX || index < log.baseIndex()) {
            snapshotsUnavailable.incrementRelease();
            return;
        }
        if (index != pr.snapshotIndex || snapshotSource.term() != pr.snapshotTerm) {
            // A newer snapshot replaced the one being sent: start again with it.
            pr.snapshotProgressTick = ticks;
            pr.snapshotIndex = index;
            pr.snapshotTerm = snapshotSource.term();
            pr.snapshotOffset = 0;
        }
        final DirectBuffer chunk = snapshotSource.chunk(pr.snapshotOffset, config.snapshotChunkBytesMax());
        if (chunk == null) {
            snapshotsUnavailable.incrementRelease();
            return;
        }
        final int chunkLength = chunk.capacity();
        Check.state(chunkLength <= config.snapshotChunkBytesMax(), "snapshot chunk too long", chunkLength);
        final long totalBytes = snapshotSource.totalBytes();
        final int offset = claim(ready.messages, pr.nodeId, messageBytesMax);
        if (offset < 0) {
            return;
        }
        ready.messages.commit(encoder.encodeSnapshotChunk(nodeId, pr.nodeId, term, index, pr.snapshotTerm,
            totalBytes, pr.snapshotOffset, snapshotSource.chunkChecksum(), snapshotSource.membership(), chunk,
            chunkLength, pr.snapshotOffset + chunkLength >= totalBytes));
        pr.snapshotChunkInFlight = true;
        pr.snapshotIdleTicks = 0;
    }

    private void tickSnapshotTransfers() {
        for (int i = 0; i < tracker.count(); i++) {
            final Progress pr = tracker.at(i);
            if (pr.state == Progress.SNAPSHOT && pr.snapshotChunkInFlight
                && ++pr.snapshotIdleTicks >= SNAPSHOT_RESEND_HEARTBEATS) {
                // The chunk or its answer was lost: send again from the last offset the follower reported.
                pr.snapshotChunkInFlight = false;
            }
        }
    }

    private void onSnapshotResponse() {
        if (role != Role.LEADER) {
            return;
        }
        final Progress pr = tracker.of(decoder.from());
        if (pr == null) {
            return;
        }
        pr.recentActive = true;
        if (pr.state != Progress.SNAPSHOT || decoder.snapshotIndex() != pr.snapshotIndex) {
            return;
        }
        pr.snapshotChunkInFlight = false;
        if (decoder.hasFlag(RaftMessage.FLAG_DONE)) {
            pr.maybeUpdate(pr.snapshotIndex);
            pr.becomeProbe();
            maybeCommit();
            return;
        }
        final long nextOffset = decoder.snapshotNextOffset();
        if (nextOffset > pr.snapshotOffset) {
            pr.snapshotProgressTick = ticks;
        }
        // Resume where the follower is (it may hold chunks from an interrupted attempt).
        pr.snapshotOffset = nextOffset >= 0 && nextOffset <= snapshotSource.totalBytes() ? nextOffset : 0;
    }

    private void onSnapshotChunk() {
        final int from = decoder.from();
        followLeader(from);
        final long index = decoder.snapshotIndex();
        final long snapshotTerm = decoder.snapshotTerm();
        if (index <= commitIndex || (index <= log.lastIndex() && log.term(index) == snapshotTerm)) {
            // This log already holds the snapshot's last entry, so (Log Matching) everything before it: nothing to
            // install; tell the leader where the logs are known to match.
            incoming.clear();
            final long matched = Math.max(commitIndex, index);
            commitTo(matched);
            sendAppendResponse(from, false, matched, 0, 0, durableOutbox());
            return;
        }
        if (!incoming.continues(from, index, snapshotTerm, decoder.snapshotTotalBytes())) {
            snapshotSink.begin(index, snapshotTerm, decoder.snapshotTotalBytes());
            incoming.start(from, index, snapshotTerm, decoder.snapshotTotalBytes());
        }
        final long chunkOffset = decoder.snapshotOffset();
        if (chunkOffset == snapshotSink.expectedOffset()) {
            final int verdict = snapshotSink.accept(chunkOffset, decoder.buffer(), decoder.snapshotChunkOffset(),
                decoder.snapshotChunkLength(), decoder.snapshotChecksum());
            if (verdict == SnapshotSink.ACCEPTED && decoder.hasFlag(RaftMessage.FLAG_LAST)) {
                finishSnapshot(from, index, snapshotTerm);
                return;
            }
            if (verdict != SnapshotSink.ACCEPTED) {
                snapshotChunksRejected.incrementRelease();
            }
        }
        sendSnapshotResponse(from, false, index, snapshotSink.expectedOffset(), ready.messages);
    }

    private void finishSnapshot(final int from, final long index, final long snapshotTerm) {
        incoming.clear();
        scratchMembership.decode(decoder.buffer(), decoder.snapshotMembershipOffset(),
            decoder.snapshotMembershipLength());
        if (!snapshotSink.finish(scratchMembership)) {
            snapshotChunksRejected.incrementRelease();
            sendSnapshotResponse(from, false, index, 0, ready.messages);
            return;
        }
        // The whole log is replaced: it disagrees with the snapshot's last entry, so nothing in it past the
        // snapshot can be committed (Log Matching).
        log.reset(index, snapshotTerm);
        history.rebase(index, scratchMembership);
        applyConfiguration(index, scratchMembership);
        commitIndex = index;
        appliedIndex = index;
        log.saveHardState(term, votedFor, commitIndex, false);
        ready.setSnapshot(index, snapshotTerm, scratchMembership);
        snapshotsInstalled.incrementRelease();
        sendSnapshotResponse(from, true, index, decoder.snapshotTotalBytes(), durableOutbox());
    }

    // ----------------------------------------------------------------------------------------------------------
    // ReadIndex (thesis §6.4)
    // ----------------------------------------------------------------------------------------------------------

    private long enqueueRead(final long requestId, final int requester) {
        if (reads.full()) {
            return RaftResult.FULL;
        }
        if (PlantedBug.READ_WITHOUT_QUORUM.planted() && requester == nodeId && committedInTerm()) {
            ready.addReadState(requestId, commitIndex);
            return RaftResult.ACCEPTED;
        }
        // Until an entry of its term commits, a new leader does not know the latest commit index.
        reads.add(requestId, requester, committedInTerm() ? commitIndex : ReadIndexQueue.INDEX_UNASSIGNED);
        return RaftResult.ACCEPTED;
    }

    private void pumpReads() {
        if (reads.hasUnassigned() && !reads.roundInFlight() && committedInTerm()) {
            // One heartbeat round confirms leadership for every read waiting now.
            reads.startRound(commitIndex);
            broadcastHeartbeat();
            confirmReads();
        }
    }

    private void confirmReads() {
        int voters = 0;
        for (int i = 0; i < tracker.count(); i++) {
            final Progress pr = tracker.at(i);
            if (pr.voter) {
                quorumValues[voters++] = pr.nodeId == nodeId ? reads.roundStarted() : pr.readAckRound;
            }
        }
        if (voters > 0 && reads.confirm(Quorum.committedIndex(quorumValues, voters, quorumScratch))) {
            while (reads.headReady()) {
                answerRead(reads.headRequestId(), reads.headRequester(), reads.headIndex());
                reads.poll();
            }
        }
    }

    private void failReads() {
        while (reads.count() > 0) {
            answerRead(reads.headRequestId(), reads.headRequester(), Ready.READ_FAILED);
            reads.poll();
        }
        reads.clear();
    }

    private void answerRead(final long requestId, final int requester, final long index) {
        if (requester == nodeId) {
            if (!ready.addReadState(requestId, index)) {
                readStatesDropped.incrementRelease();
            }
            return;
        }
        final int offset = claim(ready.messages, requester, RaftMessage.READ_INDEX_RESPONSE_LENGTH);
        if (offset >= 0) {
            ready.messages.commit(encoder.encodeReadIndexResponse(index == Ready.READ_FAILED, nodeId, requester,
                term, requestId, index));
        }
    }

    private void onReadIndexRequest() {
        final long verdict = role == Role.LEADER ? enqueueRead(decoder.readRequestId(), decoder.from())
            : RaftResult.NOT_LEADER;
        if (verdict != RaftResult.ACCEPTED) {
            answerRead(decoder.readRequestId(), decoder.from(), Ready.READ_FAILED);
        }
    }

    private void onReadIndexResponse() {
        final long index = decoder.hasFlag(RaftMessage.FLAG_REJECT) ? Ready.READ_FAILED : decoder.readIndex();
        if (!ready.addReadState(decoder.readRequestId(), index)) {
            readStatesDropped.incrementRelease();
        }
    }

    // ----------------------------------------------------------------------------------------------------------
    // Forwarded proposals (etcd's MsgProp)
    // ----------------------------------------------------------------------------------------------------------

    /**
     * Whether a forwarded proposal is the first copy this member sees; records it. A copy, or one overtaken by a later
     * proposal, must not be appended (a command applied twice) nor refused (the refusal could overtake the answer its
     * first copy got, answers may arrive in any order, and tell the client "not applied" about a write that was): its
     * sender hears nothing and calls it unknown. Remembered whatever this member's role or term and whether the
     * sender is still a member: the first copy may have been appended by this member as leader, and the copy arrive
     * after it stepped down or removed the sender (found by the simulator with late and duplicated packets).
     */
    private boolean firstCopy(final int from, final long requestId) {
        if (requestId <= forwardSeen.get(from) && !PlantedBug.FORWARD_COPY_APPENDED.planted()) {
            duplicateForwards.incrementRelease();
            return false;
        }
        forwardSeen.put(from, requestId); // refused or appended, it is answered once
        return true;
    }

    private void onProposeRequest() {
        final long requestId = decoder.proposeRequestId();
        final int from = decoder.from();
        if (!firstCopy(from, requestId)) {
            return;
        }
        if (role != Role.LEADER) {
            answerForward(from, requestId, RaftResult.NOT_LEADER);
            return;
        }
        final Progress pr = tracker.of(from);
        if (pr == null) {
            answerForward(from, requestId, RaftResult.INVALID);
            return;
        }
        answerForward(decoder.from(), requestId, propose(decoder.proposeType(), decoder.buffer(),
            RaftMessage.PROPOSE_PAYLOAD_OFFSET, decoder.proposePayloadLength()));
    }

    // A follower's relayed request: for the driver's duty, whatever this member's role (the duty answers "not
    // leader" itself). Dropped and counted when the ready's table is full: the requester's timeout answers.
    private void onLocalRequest() {
        if (!ready.addPeerRequest(decoder.from(), decoder.localRequestId(), decoder.localType(), decoder.buffer(),
            RaftMessage.LOCAL_PAYLOAD_OFFSET, decoder.localPayloadLength())) {
            readStatesDropped.incrementRelease();
        }
    }

    private void onLocalResponse() {
        if (!ready.addLocalAnswer(decoder.localRequestId(), decoder.localCode(), decoder.localValue(),
            decoder.localSecond())) {
            readStatesDropped.incrementRelease();
        }
    }

    private void answerForward(final int to, final long requestId, final long result) {
        // Sent at once, ahead of any message that could commit the entry: the stream to the follower is ordered, so
        // it knows the index before it can apply it.
        final int offset = claim(ready.messages, to, RaftMessage.PROPOSE_RESPONSE_LENGTH);
        if (offset >= 0) {
            ready.messages.commit(encoder.encodeProposeResponse(nodeId, to, term, requestId, result));
        }
    }

    private void onProposeResponse() {
        if (!ready.addForwardState(decoder.proposeRequestId(), decoder.proposeResult(), decoder.term())) {
            readStatesDropped.incrementRelease();
        }
    }

    // ----------------------------------------------------------------------------------------------------------
    // Configuration (thesis §4)
    // ----------------------------------------------------------------------------------------------------------

    private void applyConfiguration(final long index, final Membership next) {
        membership.copyFrom(next);
        configIndex = index;
        configChanges++;
        syncProgress();
    }

    /**
     * Keeps one {@link Progress} per member of the configuration in force, reusing pooled objects.
     */
    private void syncProgress() {
        tracker.sync(membership, log.lastIndex() + 1);
        if (transferee != NONE && !membership.isVoter(transferee)) {
            transferee = NONE;
        }
    }

    // ----------------------------------------------------------------------------------------------------------
    // Helpers
    // ----------------------------------------------------------------------------------------------------------

    private void flushProposals() {
        log.flush();
    }

    private Outbox durableOutbox() {
        return log.persistNeeded() ? afterPersist : ready.messages;
    }

    private int claim(final Outbox outbox, final int to, final int lengthMax) {
        final int offset = outbox.claim(to, lengthMax);
        if (offset < 0) {
            outboxOverflows.incrementRelease();
            return -1;
        }
        encoder.wrap(outbox.mutableBuffer(), offset);
        return offset;
    }

    private void sendAppendResponse(final int to, final boolean reject, final long index, final long hintIndex,
        final long hintTerm, final Outbox outbox) {
        final int offset = claim(outbox, to, RaftMessage.APPEND_RESPONSE_LENGTH);
        if (offset >= 0) {
            outbox.commit(encoder.encodeAppendResponse(reject, nodeId, to, term, index, hintIndex, hintTerm));
        }
    }

    private void sendVoteResponse(final int to, final boolean preVote, final boolean reject, final long responseTerm,
        final Outbox outbox) {
        final int offset = claim(outbox, to, RaftMessage.HEADER_LENGTH);
        if (offset >= 0) {
            outbox.commit(encoder.encodeVoteResponse(preVote, reject, nodeId, to, responseTerm));
        }
    }

    private void sendSnapshotResponse(final int to, final boolean done, final long index, final long nextOffset,
        final Outbox outbox) {
        final int offset = claim(outbox, to, RaftMessage.SNAPSHOT_RESPONSE_LENGTH);
        if (offset >= 0) {
            outbox.commit(encoder.encodeSnapshotResponse(done, nodeId, to, term, index, nextOffset));
        }
    }

    /**
     * Checks what must hold between any two inputs (TigerBeetle's replica checks its invariants the same way): the
     * simulator and the scenario tests call it after every input, so a bug that breaks one fails at the step that
     * broke it rather than later as a safety violation. Not on the production loop's path: it walks every progress.
     *
     * <p>The log: applied ≤ commit ≤ last, durable ≤ last, configuration index ≤ last, and the term never below the
     * last entry's. The role: a leader leads itself and voted for itself in its term; no other role names itself as
     * leader; a transfer target exists only on a leader. Progress: exactly one per configured member (voters and
     * learners) and none for anyone else; on a leader, every member's match is below its next, and its own match is
     * at most its durable index.
     *
     * @throws io.cairn.engine.check.InvariantViolation naming the first invariant that does not hold.
     */
    public void checkInvariants() {
        final long last = log.lastIndex();
        Check.state(appliedIndex <= commitIndex, "applied beyond commit", appliedIndex, commitIndex);
        Check.state(commitIndex <= last, "commit beyond the log", commitIndex, last);
        Check.state(log.durableIndex() <= last, "durable beyond the log", log.durableIndex(), last);
        Check.state(configIndex <= last, "configuration index beyond the log", configIndex, last);
        Check.state(term >= log.lastTerm(), "term below the last entry's", term, log.lastTerm());
        if (role == Role.LEADER) {
            Check.state(leaderId == nodeId, "a leader names another leader", leaderId);
            Check.state(votedFor == nodeId, "a leader did not vote for itself", votedFor);
        } else {
            Check.state(leaderId != nodeId, "a non-leader names itself leader", role);
            Check.state(transferee == NONE, "a transfer target on a non-leader", transferee);
        }
        tracker.checkInvariants(membership);
        for (int i = 0; i < tracker.count(); i++) {
            final Progress pr = tracker.at(i);
            if (role == Role.LEADER) {
                Check.state(pr.match < pr.next, "match not below next", pr.match, pr.next);
                if (pr.nodeId == nodeId) {
                    Check.state(pr.match <= log.durableIndex(), "own match beyond durable", pr.match,
                        log.durableIndex());
                }
            }
        }
    }

    // ----------------------------------------------------------------------------------------------------------
    // State, for drivers, tests and the simulator's checkers
    // ----------------------------------------------------------------------------------------------------------

    /**
     * @return this member's id.
     */
    public int nodeId() {
        return nodeId;
    }

    /**
     * @return the current role ({@link Role}).
     */
    public int role() {
        return role;
    }

    /**
     * @return the current term.
     */
    public long term() {
        return term;
    }

    /**
     * @return the leader this member knows, or {@link #NONE}.
     */
    public int leaderId() {
        return leaderId;
    }

    /**
     * @return the member voted for in this term, or {@link #NONE}.
     */
    public int votedFor() {
        return votedFor;
    }

    /**
     * @return the commit index this member knows.
     */
    public long commitIndex() {
        return commitIndex;
    }

    /**
     * @return the applied index reported by the driver (or set by a snapshot install).
     */
    public long appliedIndex() {
        return appliedIndex;
    }

    /**
     * @return the last index in the log (staged proposals included).
     */
    public long lastIndex() {
        return log.lastIndex();
    }

    /**
     * @return the highest index the driver has made durable.
     */
    public long durableIndex() {
        return log.durableIndex();
    }

    /**
     * @return the configuration in force (do not modify).
     */
    public Membership membership() {
        return membership;
    }

    /**
     * @return index of the entry that set the configuration in force.
     */
    public long configIndex() {
        return configIndex;
    }

    /**
     * @return how many times the configuration in force has been replaced (appended, rolled back, installed): a
     *     driver compares it to tell others when {@link #membership()} changed.
     */
    public long configChanges() {
        return configChanges;
    }

    /**
     * @return the member a leadership transfer targets, or {@link #NONE}.
     */
    public int transferee() {
        return transferee;
    }

    /**
     * @param member a member's id.
     * @return the leader's match index for it, or -1 if not leader or not a member.
     */
    public long matchIndex(final int member) {
        final Progress pr = role == Role.LEADER ? tracker.of(member) : null;
        return pr == null ? -1 : member == nodeId ? log.durableIndex() : pr.match;
    }

    /**
     * @param member a member's id.
     * @return the leader's replication state name for it (PROBE, REPLICATE, SNAPSHOT), or null.
     */
    public String progressState(final int member) {
        final Progress pr = role == Role.LEADER ? tracker.of(member) : null;
        return pr == null ? null : Progress.stateName(pr.state);
    }

    /**
     * @return followers this leader is streaming a snapshot to (none when not leader). A new snapshot restarts such a
     *     transfer from offset 0, so the driver defers taking one while this is non-zero (as etcd pauses compaction
     *     while it sends snapshots).
     */
    public int snapshotTransfersInFlight() {
        if (role != Role.LEADER) {
            return 0;
        }
        int count = 0;
        for (int i = 0; i < tracker.count(); i++) {
            final Progress pr = tracker.at(i);
            // Only transfers still moving count: a follower that stopped answering must not hold back snapshots.
            if (pr.state == Progress.SNAPSHOT && pr.snapshotIndex != 0
                && ticks - pr.snapshotProgressTick <= SNAPSHOT_STALL_ELECTIONS * (long)config.electionTimeoutTicks()) {
                count++;
            }
        }
        return count;
    }

    /**
     * @return reads waiting at this leader.
     */
    public int pendingReadCount() {
        return reads.count();
    }

    /**
     * @return AppendEntries messages sent (heartbeat-like empty ones included).
     */
    public long appendMessagesSentCount() {
        return appendMessagesSent.get();
    }

    /**
     * @return entries carried by AppendEntries messages (entries per message: replication's batch).
     */
    public long appendEntriesSentCount() {
        return appendEntriesSent.get();
    }

    /**
     * @return forwarded proposals dropped as copies (or overtaken) by this leader.
     */
    public long duplicateForwardCount() {
        return duplicateForwards.get();
    }

    /**
     * @return messages dropped because they failed validation.
     */
    public long malformedMessageCount() {
        return malformedMessages.get();
    }

    /**
     * @return messages dropped because they were not addressed to this member.
     */
    public long misaddressedMessageCount() {
        return misaddressedMessages.get();
    }

    /**
     * @return messages dropped because an outbox was full.
     */
    public long outboxOverflowCount() {
        return outboxOverflows.get();
    }

    /**
     * @return read states dropped because a {@link Ready} was full.
     */
    public long readStatesDroppedCount() {
        return readStatesDropped.get();
    }

    /**
     * @return appends not sent because the WAL refused to serve an entry (it failed its checksum).
     */
    public long unreadableEntryCount() {
        return unreadableEntries.get();
    }

    /**
     * @return snapshot chunks or whole snapshots refused by the sink.
     */
    public long snapshotChunksRejectedCount() {
        return snapshotChunksRejected.get();
    }

    /**
     * @return snapshots installed from a leader.
     */
    public long snapshotsInstalledCount() {
        return snapshotsInstalled.get();
    }

    /**
     * @return times a follower needed a snapshot the source did not have.
     */
    public long snapshotsUnavailableCount() {
        return snapshotsUnavailable.get();
    }

    /**
     * @return times this leader stepped down for lack of a quorum.
     */
    public long checkQuorumStepDownCount() {
        return checkQuorumStepDowns.get();
    }

    /**
     * @return leadership transfers abandoned.
     */
    public long transfersAbortedCount() {
        return transfersAborted.get();
    }

    /**
     * @return campaigns started (pre-votes included).
     */
    public long electionsStartedCount() {
        return electionsStarted.get();
    }

    @Override
    public String toString() {
        return "RaftCore{node=" + nodeId + ", role=" + Role.name(role) + ", term=" + term + ", leader=" + leaderId
            + ", vote=" + votedFor + ", commit=" + commitIndex + ", applied=" + appliedIndex + ", last="
            + log.lastIndex() + ", durable=" + log.durableIndex() + ", base=" + log.baseIndex() + ", config="
            + membership + "@" + configIndex + (abstainBelow != 0 ? ", abstaining below " + abstainBelow + "@"
            + abstainTerm : "") + '}';
    }
}
