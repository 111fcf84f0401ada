package io.cairn.consensus;

/**
 * Bugs the simulator's tests plant in the Raft core on purpose, one at a time, to show that its checkers catch each
 * (a checker that never fails proves nothing). Never active in a member: nothing but {@code cairn simulate --plant}
 * and the simulator's tests sets one, and the core's checks read one static field, on this thread (the simulator runs
 * its cores on one thread).
 */
public enum PlantedBug {
    /** None: the core as written. */
    NONE,
    /** §5.4.2 broken: an entry of an earlier term commits by counting replicas. */
    COMMIT_EARLIER_TERM,
    /** §5.4.1 broken: a vote is granted whatever the candidate's log. */
    VOTE_IGNORES_LOG,
    /** §5.2 broken: a vote is granted to a second candidate in the same term. */
    VOTE_TWICE,
    /** §6.4 broken: the leader answers a ReadIndex at once, without a heartbeat round confirming it still leads. */
    READ_WITHOUT_QUORUM,
    /** A copy of a forwarded proposal is appended again (no per-sender high-water mark). */
    FORWARD_COPY_APPENDED,
    /**
     * A forwarded proposal whose answer never came (a later forward was answered first) is reported LOST, never
     * applied, although the leader may have appended and committed it (production's completion rules,
     * {@code ProposalTracker}).
     */
    UNANSWERED_FORWARD_REPORTED_LOST,
    /**
     * A member whose log lost entries it had synced campaigns and votes as if it had never had them (its vote can
     * elect a candidate lacking entries it acknowledged).
     */
    VOTE_WITH_LOST_ENTRIES,
    /** The leader keeps counting a member's acknowledgement of entries the member has since lost. */
    KEEP_LOST_MATCH;

    private static PlantedBug active = NONE;

    /**
     * @param bug the bug the cores run with from now on ({@link #NONE} to stop).
     */
    public static void plant(final PlantedBug bug) {
        active = bug;
    }

    /**
     * @return the bug planted now.
     */
    public static PlantedBug active() {
        return active;
    }

    /**
     * @return whether this bug is planted now.
     */
    boolean planted() {
        return active == this;
    }
}
