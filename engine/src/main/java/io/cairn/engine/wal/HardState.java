package io.cairn.engine.wal;

/**
 * What Raft must remember across restarts besides its log (§5.1, figure 2): the current term, the vote cast in it
 * and the commit index. A mutable holder so that the loop can read it without allocating.
 */
public final class HardState {
    /** No vote cast in the current term. */
    public static final long NO_VOTE = 0;

    private long term;
    private long vote = NO_VOTE;
    private long commitIndex;

    /**
     * @return the latest term this node has seen.
     */
    public long term() {
        return term;
    }

    /**
     * @return the member voted for in {@link #term()}, or {@link #NO_VOTE}.
     */
    public long vote() {
        return vote;
    }

    /**
     * @return the highest index known committed.
     */
    public long commitIndex() {
        return commitIndex;
    }

    /**
     * Fills the holder (a {@link Wal} implementation records what it saved or recovered).
     *
     * @param term        current term.
     * @param vote        vote cast in it, or {@link #NO_VOTE}.
     * @param commitIndex highest index known committed.
     */
    public void set(final long term, final long vote, final long commitIndex) {
        this.term = term;
        this.vote = vote;
        this.commitIndex = commitIndex;
    }

    @Override
    public String toString() {
        return "HardState{term=" + term + ", vote=" + vote + ", commitIndex=" + commitIndex + '}';
    }
}
