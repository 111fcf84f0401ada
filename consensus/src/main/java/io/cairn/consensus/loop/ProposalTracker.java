package io.cairn.consensus.loop;

import io.cairn.consensus.PlantedBug;
import io.cairn.consensus.RaftResult;
import io.cairn.engine.check.Check;

/**
 * What a member tells each proposal's caller, and when: the completion rules of {@link RaftAgent}, kept apart from
 * its loop so that the deterministic simulator drives this same code and its linearizability checker judges every
 * answer (a caller told {@link RaftListener#LOST} or a refusal must find the write never applied; one told
 * {@link RaftListener#COMMITTED} must find it applied once, with that result).
 * <p>
 * Two queues: proposals this member appended as leader, by increasing index, each with the term it was appended in;
 * proposals forwarded to the leader, in the order they were forwarded, until the leader's answer gives their index.
 * An applied entry at a pending index completes its proposal: COMMITTED if the entry has the proposal's term (Log
 * Matching: same index and term, same entry), LOST otherwise (another entry holds that index for good). Everything
 * that leaves the outcome open — an index reused by a newer term before the old entry was seen replaced, a snapshot
 * that covered the entry, a forward never answered, a timeout — completes UNKNOWN, never LOST.
 * <p>
 * One thread (the loop's); no allocation after construction.
 */
public final class ProposalTracker {
    /** Where outcomes go, on the tracker's thread. */
    @FunctionalInterface
    public interface Outcomes {
        /**
         * @param correlationId the caller's id.
         * @param code          {@link RaftListener#COMMITTED}, {@link RaftListener#LOST}, {@link RaftListener#UNKNOWN}
         *                      or a {@link RaftResult} refusal from the leader.
         * @param index         the entry's index when one was assigned, else 0.
         * @param result        the state machine's result when committed, else 0.
         */
        void complete(long correlationId, long code, long index, long result);
    }

    private static final int INDEX = 0;
    private static final int TO = 0;
    private static final int TERM = 1;
    private static final int FORWARD_ID = 1;
    private static final int CORRELATION = 2;
    private static final int SINCE_NS = 3;

    private final Outcomes outcomes;
    // Fields: INDEX, TERM, CORRELATION, SINCE_NS; by increasing index.
    private final RecordRing pending;
    // Fields: TO (the leader it went to), FORWARD_ID, CORRELATION, SINCE_NS; in the order forwarded.
    private final RecordRing forwarded;
    // Completions of the run being applied: told only at endRun, once the state machine made the run durable, so a
    // caller never hears "committed" before a read on this member could see it.
    private final long[] doneCorrelations;
    private final long[] doneCodes;
    private final long[] doneIndexes;
    private final long[] doneResults;
    private int doneCount;

    /**
     * @param capacity proposals each queue holds at most.
     * @param runMax   entries one applied run holds at most.
     * @param outcomes told every outcome.
     */
    public ProposalTracker(final int capacity, final int runMax, final Outcomes outcomes) {
        Check.state(capacity > 0 && runMax > 0, "tracker sizes", capacity, runMax);
        this.outcomes = outcomes;
        this.pending = new RecordRing(capacity, 4);
        this.forwarded = new RecordRing(capacity, 4);
        final int done = Math.min(capacity, runMax);
        this.doneCorrelations = new long[done];
        this.doneCodes = new long[done];
        this.doneIndexes = new long[done];
        this.doneResults = new long[done];
    }

    /**
     * @return whether a new proposal must be refused ({@link RaftResult#FULL}): either queue is full.
     */
    public boolean isFull() {
        return pending.isFull() || forwarded.isFull();
    }

    /**
     * @return proposals awaiting their outcome, appended here or forwarded.
     */
    public int size() {
        return pending.size() + forwarded.size();
    }

    /**
     * This member, as leader, appended the caller's proposal. A newer term may reuse indexes of entries proposed
     * earlier: those are most likely replaced, but a later leader that still holds one could yet commit it, so their
     * callers hear UNKNOWN.
     *
     * @param index         the entry's index.
     * @param term          the term it was appended in.
     * @param correlationId the caller's id.
     * @param nowNs         now, for {@link #expirePending}.
     */
    public void appended(final long index, final long term, final long correlationId, final long nowNs) {
        while (!pending.isEmpty() && pending.last(INDEX) >= index) {
            outcomes.complete(pending.last(CORRELATION), RaftListener.UNKNOWN, pending.last(INDEX), 0);
            pending.removeLast();
        }
        pending.add();
        pending.setLast(INDEX, index);
        pending.setLast(TERM, term);
        pending.setLast(CORRELATION, correlationId);
        pending.setLast(SINCE_NS, nowNs);
    }

    /**
     * The caller's proposal was forwarded to the leader under {@code forwardId}; ids must grow with each forward.
     *
     * @param forwardId     the id the leader will answer with.
     * @param correlationId the caller's id.
     * @param leaderId      the leader it went to.
     * @param nowNs         now, for {@link #expireForwarded}.
     */
    public void forwarded(final long forwardId, final long correlationId, final int leaderId, final long nowNs) {
        forwarded.add();
        forwarded.setLast(TO, leaderId);
        forwarded.setLast(FORWARD_ID, forwardId);
        forwarded.setLast(CORRELATION, correlationId);
        forwarded.setLast(SINCE_NS, nowNs);
    }

    /**
     * The leader answered a forwarded proposal. Answers come back in the order the proposals were forwarded (one
     * ordered stream each way), so proposals forwarded before this one and still unanswered were lost on the way (a
     * leader change, a full outbox, or on a network that reorders, answered later): their callers hear UNKNOWN. An
     * answer to a proposal no longer waiting is ignored. Call before applying the entries of the same cycle: the
     * proposal's index must be pending when its entry applies.
     *
     * @param forwardId    the forward's id.
     * @param result       the index the leader appended it at, {@link RaftResult#ACCEPTED} (appended, index not
     *                     known) or a refusal.
     * @param term         the term the leader appended it in.
     * @param appliedIndex this member's applied index now.
     * @param nowNs        now.
     */
    public void onForwardAnswer(final long forwardId, final long result, final long term, final long appliedIndex,
        final long nowNs) {
        int found = -1;
        for (int i = 0; i < forwarded.size(); i++) {
            if (forwarded.get(i, FORWARD_ID) == forwardId) {
                found = i;
                break;
            }
        }
        if (found < 0) {
            return;
        }
        long correlationId = 0;
        for (int i = 0; i <= found; i++) {
            correlationId = forwarded.first(CORRELATION);
            forwarded.removeFirst();
            if (i < found) {
                outcomes.complete(correlationId, PlantedBug.active() == PlantedBug.UNANSWERED_FORWARD_REPORTED_LOST
                    ? RaftListener.LOST : RaftListener.UNKNOWN, 0, 0);
            }
        }
        if (result <= 0) {
            outcomes.complete(correlationId, result == RaftResult.ACCEPTED ? RaftListener.UNKNOWN : result, 0, 0);
        } else if (result <= appliedIndex || pending.isFull()) {
            // Applied before the answer came (a snapshot installed meanwhile): what it returned is gone.
            outcomes.complete(correlationId, RaftListener.UNKNOWN, result, 0);
        } else {
            // Ours only if the entry applied at that index has this term: checked in applied().
            appended(result, term, correlationId, nowNs);
        }
    }

    /**
     * The leader this member forwards to changed, or is no longer known: the forwards still waiting that went to
     * another leader will not be answered (a leader answers only what reached it). Their callers hear UNKNOWN now —
     * the old leader may have appended them, a new one may still commit them — rather than at the timeout, so that
     * they can retry at once instead of holding their places for seconds after a leader dies. Call after this
     * cycle's answers ({@link #onForwardAnswer}).
     *
     * @param leaderId the leader known now (0: none).
     * @return how many completed.
     */
    public int leaderChanged(final int leaderId) {
        int completed = 0;
        // Forwards are in time order and leaders change in time order: those to other leaders come first.
        while (!forwarded.isEmpty() && forwarded.first(TO) != leaderId) {
            completeFirst(forwarded, RaftListener.UNKNOWN);
            completed++;
        }
        return completed;
    }

    /**
     * Forwarded proposals the leader has not answered within the timeout complete UNKNOWN: the leader may have
     * appended them before it went quiet.
     *
     * @param nowNs     now.
     * @param timeoutNs how long a forward waits for its answer.
     * @return how many expired.
     */
    public int expireForwarded(final long nowNs, final long timeoutNs) {
        return expire(forwarded, nowNs - timeoutNs);
    }

    /**
     * Appended proposals that waited past the timeout complete UNKNOWN. Call only while this member is not the leader:
     * their entries may have been lost with the office, and nothing else would ever tell their callers.
     *
     * @param nowNs     now.
     * @param timeoutNs how long an appended proposal waits while its member does not lead.
     * @return how many expired.
     */
    public int expirePending(final long nowNs, final long timeoutNs) {
        return expire(pending, nowNs - timeoutNs);
    }

    // Completes UNKNOWN, oldest first, the ring's records that have waited since before the cutoff.
    private int expire(final RecordRing ring, final long cutoffNs) {
        int expired = 0;
        while (!ring.isEmpty() && ring.first(SINCE_NS) - cutoffNs < 0) {
            completeFirst(ring, RaftListener.UNKNOWN);
            expired++;
        }
        return expired;
    }

    /**
     * A snapshot up to {@code index} replaced the state machine: entries up to it were never applied here one by one,
     * so their proposers cannot be told more than UNKNOWN.
     *
     * @param index the snapshot's last index.
     */
    public void snapshotInstalled(final long index) {
        while (!pending.isEmpty() && pending.first(INDEX) <= index) {
            completeFirst(pending, RaftListener.UNKNOWN);
        }
    }

    /**
     * The state machine applied the committed entry at {@code index}; its proposer, if it is pending here, is told at
     * {@link #endRun()}.
     *
     * @param index  the entry's index.
     * @param term   the entry's term.
     * @param result what the state machine returned.
     */
    public void applied(final long index, final long term, final long result) {
        while (!pending.isEmpty() && pending.first(INDEX) < index) {
            completeInRun(RaftListener.UNKNOWN, 0);
        }
        if (!pending.isEmpty() && pending.first(INDEX) == index) {
            // The entry at this index is ours only if it carries the term we proposed it in (Log Matching).
            if (pending.first(TERM) == term) {
                completeInRun(RaftListener.COMMITTED, result);
            } else {
                completeInRun(RaftListener.LOST, 0);
            }
        }
    }

    /**
     * The run of entries given to {@link #applied} is durable in the state machine: tells their proposers.
     */
    public void endRun() {
        for (int i = 0; i < doneCount; i++) {
            outcomes.complete(doneCorrelations[i], doneCodes[i], doneIndexes[i], doneResults[i]);
        }
        doneCount = 0;
    }

    /**
     * The member stops (a crash in the simulator): everything still waiting completes UNKNOWN.
     */
    public void abandonAll() {
        endRun();
        while (!pending.isEmpty()) {
            completeFirst(pending, RaftListener.UNKNOWN);
        }
        while (!forwarded.isEmpty()) {
            completeFirst(forwarded, RaftListener.UNKNOWN);
        }
    }

    private void completeInRun(final long code, final long result) {
        // Never more than min(capacity, runMax): each completes a pending proposal, each is an entry of the run.
        Check.state(doneCount < doneCorrelations.length, "a run longer than runMax", doneCount);
        doneCorrelations[doneCount] = pending.first(CORRELATION);
        doneCodes[doneCount] = code;
        doneIndexes[doneCount] = pending.first(INDEX);
        doneResults[doneCount] = result;
        doneCount++;
        pending.removeFirst();
    }

    // Tells the oldest record of a ring its outcome now (an appended proposal's with its index) and drops it.
    private void completeFirst(final RecordRing ring, final long code) {
        outcomes.complete(ring.first(CORRELATION), code, ring == pending ? ring.first(INDEX) : 0, 0);
        ring.removeFirst();
    }
}
