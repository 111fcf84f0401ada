package io.cairn.embedded;

import io.cairn.embedded.cluster.ClusterView;

/**
 * Told of what changes in a {@link CairnNode}'s view of the cluster. Called on the node's loop thread, in order: return
 * at once (hand anything that waits or does I/O to another thread), throw nothing.
 */
public interface NodeListener {
    /**
     * The role, term or known leader changed.
     *
     * @param role     {@link io.cairn.consensus.Role}: follower, candidate, leader (learners follow).
     * @param term     the Raft term.
     * @param leaderId the leader's member ID, 0 if none is known.
     */
    default void onLeaderChange(final int role, final long term, final int leaderId) {
    }

    /**
     * The configuration in force changed (a member added, removed, promoted or updated, or a rollback).
     *
     * @param view     the cluster as it is now.
     * @param isMember whether this node is in it.
     */
    default void onMembershipChange(final ClusterView view, final boolean isMember) {
    }
}
