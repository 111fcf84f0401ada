package io.cairn.embedded;

import io.cairn.consensus.loop.RaftAgent;

/**
 * What {@code /health} and {@code /metrics} read about this member, and nothing they could change.
 */
public interface NodeStatus {
    /**
     * @return this member's ID.
     */
    int selfId();

    /**
     * @return the leader's ID as last known, 0 if none.
     */
    int leaderId();

    /**
     * @param raftId a member's Raft ID.
     * @return its etcd member ID, as clients know it (a member no longer configured: its Raft ID).
     */
    long memberIdOf(int raftId);

    /**
     * @return leader changes seen.
     */
    long leaderChanges();

    /**
     * @return writes proposed through this member and applied.
     */
    long proposalsCommitted();

    /**
     * @return writes proposed through this member that failed (refused, lost, unknown or timed out).
     */
    long proposalsFailed();

    /**
     * @return writes proposed through this member and not yet answered.
     */
    int proposalsPending();

    /**
     * @return this member's applied index.
     */
    long appliedIndex();

    /**
     * @return the keyspace's size in bytes.
     */
    long storeBytes();

    /**
     * @return the bytes of the keyspace's pages in use (its size less the free pages a defragmentation returns).
     */
    long storeInUseBytes();

    /**
     * @return the keyspace's quota in bytes (past it, NOSPACE).
     */
    long storeQuotaBytes();

    /**
     * @return the alarms raised in the keyspace (0: none).
     */
    int alarmBits();

    /**
     * @return the loop's counters (syncs, batches, messages), read-only.
     */
    RaftAgent loop();

    /**
     * @return peer frames dropped as malformed, foreign or corrupt.
     */
    long peerFramesDropped();

    /**
     * @return true when peer frames are sealed (peer TLS): {@link #peerFramesRejected} counts what was refused.
     */
    boolean peerFramesSealed();

    /**
     * @param reason a reason code of {@code AeronTransport.rejectedFrames} (negative).
     * @return sealed peer frames refused for it.
     */
    long peerFramesRejected(int reason);

    /**
     * @return keyspace hash comparisons with another member (a leader judges its followers' reports; a follower counts
     *     the verdicts it heard).
     */
    long corruptionChecks();

    /**
     * @return those that found the keyspaces different (each raised CORRUPT).
     */
    long corruptionMismatches();
}
