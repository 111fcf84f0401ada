package io.cairn.consensus;

import io.cairn.engine.check.Check;

/**
 * Reads waiting at the leader for their leadership confirmation (ReadIndex, thesis §6.4), in arrival order: a ring
 * of (request id, requesting member, read index, round). Batched: every read waiting when a round starts shares that
 * round's heartbeat exchange, and a round confirmed by a quorum releases every read assigned to it or earlier.
 *
 * <p>A read's index is the leader's commit index when it arrived, or {@link #INDEX_UNASSIGNED} when the leader had
 * not yet committed an entry of its own term (it does not know the latest commit index until then); such reads get
 * the commit index once that happens. A read's round is {@link #ROUND_UNASSIGNED} until a round starts for it.
 */
final class ReadIndexQueue {
    static final long INDEX_UNASSIGNED = -1;
    static final long ROUND_UNASSIGNED = 0;

    private final long[] requestIds;
    private final int[] requesters;
    private final long[] indexes;
    private final long[] rounds;
    private int start;
    private int count;
    // Invariant: roundConfirmed <= roundStarted; rounds increase along the ring, unassigned ones last.
    private long roundStarted;
    private long roundConfirmed;

    ReadIndexQueue(final int capacity) {
        requestIds = new long[capacity];
        requesters = new int[capacity];
        indexes = new long[capacity];
        rounds = new long[capacity];
    }

    boolean full() {
        return count == requestIds.length;
    }

    int count() {
        return count;
    }

    void add(final long requestId, final int requester, final long index) {
        Check.state(count < requestIds.length, "read queue overflow", count);
        final int slot = slot(count);
        requestIds[slot] = requestId;
        requesters[slot] = requester;
        indexes[slot] = index;
        rounds[slot] = ROUND_UNASSIGNED;
        count++;
    }

    /**
     * @return true if some read waits for a round to start.
     */
    boolean hasUnassigned() {
        return count > 0 && rounds[slot(count - 1)] == ROUND_UNASSIGNED;
    }

    boolean roundInFlight() {
        return roundConfirmed < roundStarted;
    }

    long roundStarted() {
        return roundStarted;
    }

    long roundConfirmed() {
        return roundConfirmed;
    }

    /**
     * Starts a round for every unassigned read, giving reads without an index the commit index.
     *
     * @param commitIndex the leader's commit index (an entry of its term is committed).
     * @return the new round.
     */
    long startRound(final long commitIndex) {
        roundStarted++;
        for (int i = count - 1; i >= 0; i--) {
            final int slot = slot(i);
            if (rounds[slot] != ROUND_UNASSIGNED) {
                break;
            }
            rounds[slot] = roundStarted;
            if (indexes[slot] == INDEX_UNASSIGNED) {
                indexes[slot] = commitIndex;
            }
        }
        return roundStarted;
    }

    /**
     * @param round a round a quorum acknowledged.
     * @return true if it confirmed a round not confirmed before.
     */
    boolean confirm(final long round) {
        final long confirmed = Math.min(round, roundStarted);
        if (confirmed <= roundConfirmed) {
            return false;
        }
        roundConfirmed = confirmed;
        return true;
    }

    /**
     * @return true if the oldest read's round is confirmed (it may be released with {@link #poll()}).
     */
    boolean headReady() {
        if (count == 0) {
            return false;
        }
        final long round = rounds[start];
        return round != ROUND_UNASSIGNED && round <= roundConfirmed;
    }

    long headRequestId() {
        return requestIds[start];
    }

    int headRequester() {
        return requesters[start];
    }

    long headIndex() {
        return indexes[start];
    }

    void poll() {
        start = (start + 1) % requestIds.length;
        count--;
    }

    /**
     * Forgets every read (the caller fails them first) and ends rounds in flight; round numbers keep increasing.
     */
    void clear() {
        start = 0;
        count = 0;
        roundConfirmed = roundStarted;
    }

    private int slot(final int position) {
        return (start + position) % requestIds.length;
    }
}
