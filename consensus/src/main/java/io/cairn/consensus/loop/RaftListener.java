package io.cairn.consensus.loop;

import io.cairn.consensus.Membership;

/**
 * What the event loop tells the rest of the member, on the loop's own thread: outcomes of proposals and reads it
 * took from {@link RaftRequests}, and changes of role and leader. Implementations must be quick and must not block
 * (hand results to other threads through their own queues).
 */
public interface RaftListener {
    /** The proposal was committed and applied; {@code result} is what the state machine returned. */
    long COMMITTED = 0;
    /** Its log entry was replaced by another leader's: it will never be applied. Retry. */
    long LOST = -100;
    /** The member no longer knows whether it was applied (its entry was covered by an installed snapshot). */
    long UNKNOWN = -101;

    /**
     * @param correlationId the caller's id, as offered.
     * @param code          {@link #COMMITTED}, {@link #LOST}, {@link #UNKNOWN} or a
     *                      {@link io.cairn.consensus.RaftResult} refusal (not leader, full, ...).
     * @param index         the entry's index (when one was assigned), else 0.
     * @param result        the state machine's result when committed, else 0.
     */
    void onProposalComplete(long correlationId, long code, long index, long result);

    /**
     * A linearizable read may now be served from the local state machine (thesis §6.4: applied has reached the read
     * index).
     *
     * @param correlationId the caller's id, as offered.
     * @param code          {@link #COMMITTED} when the read may proceed, or a refusal (not leader, failed: retry).
     * @param readIndex     the read index, when it may proceed.
     */
    void onReadComplete(long correlationId, long code, long readIndex);

    /**
     * @param role     the new role ({@link io.cairn.consensus.Role}).
     * @param term     the term.
     * @param leaderId the leader known now, 0 if none.
     */
    void onRoleChange(int role, long term, int leaderId);

    /**
     * The configuration in force changed (thesis §4.1: on append, committed or not; it may also roll back), or the
     * loop just started. Called on the loop's thread before the entry is applied; copy what you need.
     *
     * @param membership the configuration now in force (valid during this call only).
     * @param index      the index of the entry that set it (the snapshot's index when it came with one).
     */
    default void onMembershipChange(final Membership membership, final long index) {
    }

    /** Told of each proposal's outcome ({@link #onProposalComplete}). */
    @FunctionalInterface
    interface ProposalOutcome {
        /**
         * @param correlationId the caller's id, as offered.
         * @param code          {@link #COMMITTED}, {@link #LOST}, {@link #UNKNOWN} or a refusal.
         * @param index         the entry's index (when one was assigned), else 0.
         * @param result        the state machine's result when committed, else 0.
         */
        void onProposalComplete(long correlationId, long code, long index, long result);
    }

    /** Told of each change of role ({@link #onRoleChange}). */
    @FunctionalInterface
    interface RoleOutcome {
        /**
         * @param role     the new role.
         * @param term     the term.
         * @param leaderId the leader known now, 0 if none.
         */
        void onRoleChange(int role, long term, int leaderId);
    }

    /**
     * A listener for a member that only proposes (an embedder's writer, a benchmark, a test): proposals and roles go
     * to the two callbacks; read completions are dropped, so offer no reads through a member that uses it.
     *
     * @param proposals told of each proposal's outcome.
     * @param roles     told of each change of role.
     * @return the listener.
     */
    static RaftListener forWrites(final ProposalOutcome proposals, final RoleOutcome roles) {
        return new RaftListener() {
            @Override
            public void onProposalComplete(final long correlationId, final long code, final long index,
                final long result) {
                proposals.onProposalComplete(correlationId, code, index, result);
            }

            @Override
            public void onReadComplete(final long correlationId, final long code, final long readIndex) {
                // A writer offers no reads.
            }

            @Override
            public void onRoleChange(final int role, final long term, final int leaderId) {
                roles.onRoleChange(role, term, leaderId);
            }
        };
    }
}
