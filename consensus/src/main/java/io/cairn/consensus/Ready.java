package io.cairn.consensus;

import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * What the core hands its driver after a batch of inputs: messages to send, whether the WAL must be synced, how far
 * entries may be applied, answered reads, changes of role or leader, and a snapshot to install. One instance per
 * core, reused: its contents stay valid until {@link RaftCore#advance()}.
 *
 * <p>Contract, in the order the driver acts on it:
 * <ol>
 *   <li><b>Messages</b> ({@link #messages()}): send each to its destination, in order, then forget them. A message
 *       that cannot be sent may be dropped (Raft retries). Messages that need durable state first (a follower's
 *       append acknowledgement, a vote) are not here until {@link RaftCore#onPersisted()} released them.</li>
 *   <li><b>Persistence</b> ({@link #persistNeeded()}): when true, call {@code wal.sync()} and then
 *       {@link RaftCore#onPersisted()}, with no other input in between, then take {@link RaftCore#ready()} again
 *       (it now holds the released messages). The leader's appends were already sent before the sync (thesis
 *       §10.2.1); it counts itself toward a quorum only after it.</li>
 *   <li><b>Snapshot</b> ({@link #snapshotIndex()} not {@link #NO_SNAPSHOT}): the sink finished a snapshot and the
 *       log now starts after it; load the state machine from that snapshot before applying anything else.</li>
 *   <li><b>Apply</b> ({@link #applyIndex()}): apply entries (applied, applyIndex] read from the WAL, then report
 *       {@link RaftCore#onApplied(long)}. The index is committed and durable here, so an applied entry is never
 *       missing from the local log after a crash.</li>
 *   <li><b>Reads</b> ({@link #readStateCount()}): a read request id with its read index; answer it once applied
 *       reaches that index (thesis §6.4 step 4). {@link #READ_FAILED} means it must be retried elsewhere.</li>
 *   <li><b>Forwarded proposals</b> ({@link #forwardStateCount()}): the index and term the leader gave a proposal this
 *       follower forwarded, or the leader's refusal; the follower answers its caller when it applies that index.</li>
 *   <li><b>Relayed requests</b> ({@link #peerRequestCount()}, {@link #localAnswerCount()}): requests followers relayed
 *       for this leader's loop duty ({@link RaftCore#forwardLocal}), to answer with {@link RaftCore#answerLocal}
 *       before the messages are sent; and the leader's answers to the ones this member relayed.</li>
 *   <li>Call {@link RaftCore#advance()}.</li>
 * </ol>
 */
public final class Ready {
    /** {@link #snapshotIndex()} when there is nothing to install. */
    public static final long NO_SNAPSHOT = -1;
    /** The read index of a read that could not be served (leader lost, queue full): retry. */
    public static final long READ_FAILED = -1;
    /** Payload bytes reserved per relayed request slot (requests are packed; larger ones use fewer slots). */
    private static final int PEER_REQUEST_BYTES_TYPICAL = 64;

    final Outbox messages;
    private final long[] readRequestIds;
    private final long[] readIndexes;
    private final Membership snapshotMembership = new Membership();
    private int readStateCount;
    private final long[] forwardRequestIds;
    private final long[] forwardResults;
    private final long[] forwardTerms;
    private int forwardStateCount;
    private final int[] peerRequestFroms;
    private final long[] peerRequestIds;
    private final byte[] peerRequestTypes;
    private final int[] peerRequestLengths;
    private final int[] peerRequestOffsets;
    private final UnsafeBuffer peerRequestPayloads;
    private int peerRequestCount;
    private int peerRequestBytes;
    private final long[] localAnswerIds;
    private final int[] localAnswerCodes;
    private final long[] localAnswerValues;
    private final long[] localAnswerSeconds;
    private int localAnswerCount;
    long applyIndex;
    boolean persistNeeded;
    int role;
    int leaderId;
    long term;
    long commitIndex;
    boolean softStateChanged;
    long snapshotIndex = NO_SNAPSHOT;
    long snapshotTerm;

    Ready(final RaftConfig config) {
        messages = new Outbox(config.outboxBytes(), config.outboxMessagesMax());
        readRequestIds = new long[config.readRequestsMax()];
        readIndexes = new long[config.readRequestsMax()];
        forwardRequestIds = new long[config.readRequestsMax()];
        forwardResults = new long[config.readRequestsMax()];
        forwardTerms = new long[config.readRequestsMax()];
        peerRequestFroms = new int[config.readRequestsMax()];
        peerRequestIds = new long[config.readRequestsMax()];
        peerRequestTypes = new byte[config.readRequestsMax()];
        peerRequestLengths = new int[config.readRequestsMax()];
        peerRequestOffsets = new int[config.readRequestsMax()];
        // Packed: most relayed requests are keep-alives (8 bytes); a few membership changes are up to a kilobyte.
        peerRequestPayloads = new UnsafeBuffer(
            new byte[config.readRequestsMax() * PEER_REQUEST_BYTES_TYPICAL + RaftMessage.LOCAL_PAYLOAD_MAX]);
        localAnswerIds = new long[config.readRequestsMax()];
        localAnswerCodes = new int[config.readRequestsMax()];
        localAnswerValues = new long[config.readRequestsMax()];
        localAnswerSeconds = new long[config.readRequestsMax()];
    }

    /**
     * @return messages to send.
     */
    public Outbox messages() {
        return messages;
    }

    /**
     * @return true if the WAL holds writes that must be synced before {@link RaftCore#onPersisted()}.
     */
    public boolean persistNeeded() {
        return persistNeeded;
    }

    /**
     * @return the highest index that may be applied: committed, and durable in the local WAL.
     */
    public long applyIndex() {
        return applyIndex;
    }

    /**
     * @return the commit index this member knows (may exceed {@link #applyIndex()} until the local WAL is synced).
     */
    public long commitIndex() {
        return commitIndex;
    }

    /**
     * @return the role now (a {@link Role} constant).
     */
    public int role() {
        return role;
    }

    /**
     * @return the leader this member follows or is, 0 if none known.
     */
    public int leaderId() {
        return leaderId;
    }

    /**
     * @return the current term.
     */
    public long term() {
        return term;
    }

    /**
     * @return true if role, leader or term changed since the last {@link RaftCore#advance()}.
     */
    public boolean softStateChanged() {
        return softStateChanged;
    }

    /**
     * @return reads answered.
     */
    public int readStateCount() {
        return readStateCount;
    }

    /**
     * @param position in {@code [0, readStateCount())}.
     * @return the request id given to {@link RaftCore#readIndex(long)}.
     */
    public long readRequestId(final int position) {
        return readRequestIds[position];
    }

    /**
     * @param position in {@code [0, readStateCount())}.
     * @return its read index, or {@link #READ_FAILED}.
     */
    public long readIndex(final int position) {
        return readIndexes[position];
    }

    /**
     * @return index of a snapshot to load into the state machine, or {@link #NO_SNAPSHOT}.
     */
    public long snapshotIndex() {
        return snapshotIndex;
    }

    /**
     * @return term of {@link #snapshotIndex()}.
     */
    public long snapshotTerm() {
        return snapshotTerm;
    }

    /**
     * @return configuration carried by that snapshot.
     */
    public Membership snapshotMembership() {
        return snapshotMembership;
    }

    boolean addReadState(final long requestId, final long index) {
        if (readStateCount == readRequestIds.length) {
            return false;
        }
        readRequestIds[readStateCount] = requestId;
        readIndexes[readStateCount] = index;
        readStateCount++;
        return true;
    }

    /**
     * @return answers from the leader to proposals this member forwarded ({@code RaftCore#proposeOrForward}).
     */
    public int forwardStateCount() {
        return forwardStateCount;
    }

    /**
     * @param position in {@code [0, forwardStateCount())}.
     * @return the proposal's request id.
     */
    public long forwardRequestId(final int position) {
        return forwardRequestIds[position];
    }

    /**
     * @param position in {@code [0, forwardStateCount())}.
     * @return the index the leader gave the entry (positive), or its refusal ({@link RaftResult}, zero or below).
     */
    public long forwardResult(final int position) {
        return forwardResults[position];
    }

    /**
     * @param position in {@code [0, forwardStateCount())}.
     * @return the leader's term when it answered: the entry's term. The entry is this proposal only if the entry
     *     applied at that index has this term (Log Matching); an answer from a term older than the member's own
     *     cannot be followed any more (its outcome is unknown).
     */
    public long forwardTerm(final int position) {
        return forwardTerms[position];
    }

    boolean addForwardState(final long requestId, final long result, final long term) {
        if (forwardStateCount == forwardRequestIds.length) {
            return false;
        }
        forwardRequestIds[forwardStateCount] = requestId;
        forwardResults[forwardStateCount] = result;
        forwardTerms[forwardStateCount] = term;
        forwardStateCount++;
        return true;
    }

    /**
     * @return requests followers relayed for this member's loop duty.
     */
    public int peerRequestCount() {
        return peerRequestCount;
    }

    /**
     * @param position in {@code [0, peerRequestCount())}.
     * @return the member that relayed it (answer there).
     */
    public int peerRequestFrom(final int position) {
        return peerRequestFroms[position];
    }

    /**
     * @param position in {@code [0, peerRequestCount())}.
     * @return the relaying member's id for it (echo it in the answer).
     */
    public long peerRequestId(final int position) {
        return peerRequestIds[position];
    }

    /**
     * @param position in {@code [0, peerRequestCount())}.
     * @return the duty's request type.
     */
    public byte peerRequestType(final int position) {
        return peerRequestTypes[position];
    }

    /**
     * @return the buffer holding the relayed requests' payloads ({@link #peerRequestOffset}).
     */
    public DirectBuffer peerRequestPayloads() {
        return peerRequestPayloads;
    }

    /**
     * @param position in {@code [0, peerRequestCount())}.
     * @return where its payload starts in {@link #peerRequestPayloads()}.
     */
    public int peerRequestOffset(final int position) {
        return peerRequestOffsets[position];
    }

    /**
     * @param position in {@code [0, peerRequestCount())}.
     * @return its payload's length.
     */
    public int peerRequestLength(final int position) {
        return peerRequestLengths[position];
    }

    /**
     * @return the leader's answers to requests this member relayed.
     */
    public int localAnswerCount() {
        return localAnswerCount;
    }

    /**
     * @param position in {@code [0, localAnswerCount())}.
     * @return the request's id (as this member relayed it).
     */
    public long localAnswerId(final int position) {
        return localAnswerIds[position];
    }

    /**
     * @param position in {@code [0, localAnswerCount())}.
     * @return the duty's code.
     */
    public int localAnswerCode(final int position) {
        return localAnswerCodes[position];
    }

    /**
     * @param position in {@code [0, localAnswerCount())}.
     * @return the answer's first value.
     */
    public long localAnswerValue(final int position) {
        return localAnswerValues[position];
    }

    /**
     * @param position in {@code [0, localAnswerCount())}.
     * @return the answer's second value.
     */
    public long localAnswerSecond(final int position) {
        return localAnswerSeconds[position];
    }

    boolean addPeerRequest(final int from, final long requestId, final byte type, final DirectBuffer payload,
        final int offset, final int length) {
        if (peerRequestCount == peerRequestIds.length || length > RaftMessage.LOCAL_PAYLOAD_MAX
            || peerRequestBytes + length > peerRequestPayloads.capacity()) {
            return false;
        }
        peerRequestOffsets[peerRequestCount] = peerRequestBytes;
        peerRequestBytes += length;
        peerRequestFroms[peerRequestCount] = from;
        peerRequestIds[peerRequestCount] = requestId;
        peerRequestTypes[peerRequestCount] = type;
        peerRequestLengths[peerRequestCount] = length;
        peerRequestPayloads.putBytes(peerRequestOffset(peerRequestCount), payload, offset, length);
        peerRequestCount++;
        return true;
    }

    boolean addLocalAnswer(final long requestId, final int code, final long value, final long second) {
        if (localAnswerCount == localAnswerIds.length) {
            return false;
        }
        localAnswerIds[localAnswerCount] = requestId;
        localAnswerCodes[localAnswerCount] = code;
        localAnswerValues[localAnswerCount] = value;
        localAnswerSeconds[localAnswerCount] = second;
        localAnswerCount++;
        return true;
    }

    void setSnapshot(final long index, final long term, final Membership membership) {
        snapshotIndex = index;
        snapshotTerm = term;
        snapshotMembership.copyFrom(membership);
    }

    void clear() {
        messages.clear();
        readStateCount = 0;
        forwardStateCount = 0;
        peerRequestCount = 0;
        peerRequestBytes = 0;
        localAnswerCount = 0;
        softStateChanged = false;
        snapshotIndex = NO_SNAPSHOT;
        snapshotTerm = 0;
    }
}
