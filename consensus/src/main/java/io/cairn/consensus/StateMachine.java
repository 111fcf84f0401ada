package io.cairn.consensus;

import org.agrona.DirectBuffer;

/**
 * The replicated application, as the event loop drives it. Committed entries arrive in runs: one
 * {@link #beginRun}, an {@link #apply} per entry in index order, one {@link #endRun}; an implementation over a
 * transactional store applies a run in one transaction and stores the applied index in it, so that after a crash it
 * neither applies an entry twice nor skips one. Every method is called from the event loop's thread.
 */
public interface StateMachine {
    /**
     * @return the index of the last entry whose effects are durable in the state machine (0 for a new one): where
     *     applying resumes after a restart.
     */
    long appliedIndex();

    /**
     * Starts a run of consecutive committed entries.
     *
     * @param firstIndex the run's first index.
     */
    void beginRun(long firstIndex);

    /**
     * Applies one committed entry. Raft's own entries ({@link EntryType#NOOP}, {@link EntryType#CONFIG}) come too,
     * so that the applied index covers them; an application only acts on its own types.
     *
     * @param index  the entry's index.
     * @param term   its term.
     * @param type   its type.
     * @param buffer its payload (a view, valid during this call only).
     * @param offset where the payload starts.
     * @param length payload bytes.
     * @return a result for the proposer (application-defined; passed to its completion).
     */
    long apply(long index, long term, byte type, DirectBuffer buffer, int offset, int length);

    /**
     * Ends the run: its effects and its last index become durable together.
     *
     * @param lastIndex the run's last index.
     * @param lastTerm  that entry's term.
     */
    void endRun(long lastIndex, long lastTerm);

    /**
     * Makes a durable snapshot of the state as of {@code index} (the applied index), together with the configuration
     * in force there, available to the snapshot source. Called between runs.
     *
     * @param index      the applied index.
     * @param term       its term.
     * @param membership the configuration at that index.
     * @return true if the snapshot is durable (the log before it may be compacted).
     */
    boolean takeSnapshot(long index, long term, Membership membership);

    /**
     * The event loop's way to snapshot: starts a snapshot (or checks on the one started earlier) without holding the
     * loop for the copy, so appends and applies go on meanwhile. Called between runs, again and again until it
     * answers non-zero. The default takes one at once with {@link #takeSnapshot}.
     *
     * @param index      the applied index now.
     * @param term       its term.
     * @param membership the configuration at that index.
     * @return the index a now durable snapshot covers (the log up to it may be compacted), or 0 while none is done.
     */
    default long snapshotInBackground(final long index, final long term, final Membership membership) {
        return takeSnapshot(index, term, membership) ? index : 0;
    }

    /**
     * What taking a snapshot now would copy, in bytes: the loop weighs it against the log the snapshot would let go
     * ({@link io.cairn.consensus.loop.RaftAgentContext#snapshotCopyFreeBytes}). Called on the loop's thread, once each
     * time a snapshot falls due by count. The default, 0, says a snapshot is cheap whatever the state's size.
     *
     * @return bytes a snapshot copies.
     */
    default long snapshotCostBytes() {
        return 0;
    }

    /**
     * Replaces the whole state with the snapshot the {@link SnapshotSink} just finished (a leader sent it because
     * this member was behind its compacted log).
     *
     * @param index the snapshot's last index.
     * @param term  its term.
     */
    void installSnapshot(long index, long term);
}
