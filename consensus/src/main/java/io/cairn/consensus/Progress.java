package io.cairn.consensus;

/**
 * What the leader knows about one member's log, and how it replicates to it (§5.3 nextIndex/matchIndex, plus
 * etcd-raft's flow-control states):
 * <ul>
 *   <li>{@link #PROBE}: the leader does not know where the logs match; one append at a time, then wait for the
 *       answer or the next heartbeat response. Entered at the start of a term and after a rejection.</li>
 *   <li>{@link #REPLICATE}: the logs match up to {@link #match}; appends are pipelined, optimistically advancing
 *       {@link #next}, bounded by the {@link Inflights} window.</li>
 *   <li>{@link #SNAPSHOT}: the entries it needs are compacted away; the leader streams a snapshot in chunks, one
 *       in flight at a time, resumable from the offset the follower expects.</li>
 * </ul>
 * Also holds per-member election and liveness state (votes, CheckQuorum activity, ReadIndex acknowledgements).
 */
final class Progress {
    static final int PROBE = 0;
    static final int REPLICATE = 1;
    static final int SNAPSHOT = 2;

    final Inflights inflights;
    int nodeId;
    boolean voter;
    // Invariant (leader): match < next; entries (0, match] are known to be on the member's log, durably.
    long match;
    long next;
    int state;
    // PROBE: an append is outstanding; no other until its answer or a heartbeat response.
    boolean probeSent;
    // Send an append at the next opportunity even if it carries no entries (set by heartbeat responses).
    boolean appendDue;
    // CheckQuorum (thesis §6.2): heard from since the last check.
    boolean recentActive;
    // Highest commit index carried to it by an append (so that commit advances are propagated once).
    long commitSent;
    // Highest ReadIndex round it acknowledged (thesis §6.4).
    long readAckRound;
    boolean voteResponded;
    boolean voteGranted;
    long snapshotIndex;
    long snapshotTerm;
    long snapshotOffset;
    long snapshotProgressTick;
    boolean snapshotChunkInFlight;
    int snapshotIdleTicks;

    Progress(final int inflightMessagesMax, final long inflightBytesMax) {
        inflights = new Inflights(inflightMessagesMax, inflightBytesMax);
    }

    void init(final int nodeId, final boolean voter, final long nextIndex) {
        this.nodeId = nodeId;
        this.voter = voter;
        resetForTerm(nextIndex);
        voteResponded = false;
        voteGranted = false;
    }

    void resetForTerm(final long nextIndex) {
        match = 0;
        next = nextIndex;
        state = PROBE;
        probeSent = false;
        appendDue = false;
        recentActive = false;
        commitSent = 0;
        readAckRound = 0;
        inflights.reset();
        clearSnapshot();
    }

    void becomeProbe() {
        // After a snapshot the member holds everything up to the snapshot: probe from there.
        final long from = state == SNAPSHOT ? Math.max(match + 1, snapshotIndex + 1) : match + 1;
        state = PROBE;
        next = from;
        probeSent = false;
        inflights.reset();
        clearSnapshot();
    }

    /**
     * The member's log ends below what it acknowledged (it lost records after syncing them): its acknowledgements
     * above {@code lastIndex} no longer count, and replication starts again from there.
     *
     * @param lastIndex where its log ends now.
     */
    void forgetMatchAbove(final long lastIndex) {
        match = lastIndex;
        state = PROBE;
        next = lastIndex + 1;
        probeSent = false;
        inflights.reset();
        clearSnapshot();
    }

    void becomeReplicate() {
        state = REPLICATE;
        next = match + 1;
        probeSent = false;
        inflights.reset();
        clearSnapshot();
    }

    void becomeSnapshot() {
        state = SNAPSHOT;
        probeSent = false;
        inflights.reset();
        clearSnapshot();
    }

    private void clearSnapshot() {
        snapshotIndex = 0;
        snapshotTerm = 0;
        snapshotOffset = 0;
        snapshotChunkInFlight = false;
        snapshotIdleTicks = 0;
    }

    /**
     * @return true when no more appends may be sent now.
     */
    boolean paused() {
        switch (state) {
            case PROBE:
                return probeSent;
            case REPLICATE:
                return inflights.full();
            default:
                return true;
        }
    }

    /**
     * @param index an index the member acknowledged holding.
     * @return true if it raised {@link #match}.
     */
    boolean maybeUpdate(final long index) {
        if (index <= match) {
            return false;
        }
        match = index;
        next = Math.max(next, index + 1);
        inflights.freeTo(index);
        return true;
    }

    static String stateName(final int state) {
        return state == PROBE ? "PROBE" : state == REPLICATE ? "REPLICATE" : "SNAPSHOT";
    }
}
