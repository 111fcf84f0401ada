package io.cairn.consensus.loop;

import io.cairn.consensus.RaftResult;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Goal: each rule of what a proposal's caller is told, one case each (the simulator checks them together under
 * faults). Method: drive a tracker by hand and compare the outcomes, in order, as {correlation, code, index, result}.
 */
class ProposalTrackerTest {
    private final List<List<Long>> told = new ArrayList<>();
    private final ProposalTracker tracker = new ProposalTracker(16, 16,
        (correlation, code, index, result) -> told.add(List.of(correlation, code, index, result)));

    private static List<Long> outcome(final long correlation, final long code, final long index, final long result) {
        return List.of(correlation, code, index, result);
    }

    @Test
    void shouldTellCommittedAtTheRunsEndAndLostWhenAnotherEntryHoldsTheIndex() {
        tracker.appended(5, 2, 100, 0);
        tracker.appended(6, 2, 101, 0);
        tracker.applied(5, 2, 77);
        tracker.applied(6, 3, 0); // another term's entry at 6: ours will never apply
        assertEquals(List.of(), told, "nothing before the run is durable");
        tracker.endRun();
        assertEquals(List.of(outcome(100, RaftListener.COMMITTED, 5, 77), outcome(101, RaftListener.LOST, 6, 0)), told);
    }

    @Test
    void shouldTellUnknownWhenANewerTermReusesAnIndexOrASnapshotCoversIt() {
        tracker.appended(5, 2, 100, 0);
        tracker.appended(6, 2, 101, 0);
        tracker.appended(6, 3, 102, 0); // a newer term reuses 6: 101 may still commit elsewhere
        tracker.snapshotInstalled(5);
        assertEquals(List.of(outcome(101, RaftListener.UNKNOWN, 6, 0), outcome(100, RaftListener.UNKNOWN, 5, 0)), told);
        assertEquals(1, tracker.size());
    }

    @Test
    void shouldTellUnansweredEarlierForwardsUnknownAndRefusalsAsTheLeaderGaveThem() {
        tracker.forwarded(1, 200, 7, 0);
        tracker.forwarded(2, 201, 7, 0);
        tracker.forwarded(3, 202, 7, 0);
        tracker.onForwardAnswer(2, 9, 4, 0, 0); // 1 was never answered; 2 was appended at 9 in term 4
        tracker.onForwardAnswer(3, RaftResult.NOT_LEADER, 0, 0, 0);
        tracker.applied(9, 4, 5);
        tracker.endRun();
        assertEquals(List.of(outcome(200, RaftListener.UNKNOWN, 0, 0), outcome(202, RaftResult.NOT_LEADER, 0, 0),
            outcome(201, RaftListener.COMMITTED, 9, 5)), told);
    }

    @Test
    void shouldTellForwardsToAnOldLeaderUnknownAtOnceWhenTheLeaderChanges() {
        tracker.forwarded(1, 200, 7, 0);
        tracker.forwarded(2, 201, 7, 0);
        tracker.leaderChanged(7); // no change
        assertEquals(List.of(), told);
        tracker.forwarded(3, 202, 8, 0); // sent after 8 was known
        tracker.leaderChanged(8);
        assertEquals(List.of(outcome(200, RaftListener.UNKNOWN, 0, 0), outcome(201, RaftListener.UNKNOWN, 0, 0)), told);
        assertEquals(1, tracker.size(), "the forward to the new leader still waits for its answer");
        tracker.leaderChanged(0);
        assertEquals(3, told.size());
    }

    @Test
    void shouldExpireForwardsAfterTheTimeoutAndEverythingWhenAbandoned() {
        tracker.forwarded(1, 200, 7, 0);
        tracker.appended(4, 1, 100, 50);
        assertEquals(0, tracker.expireForwarded(99, 100));
        assertEquals(1, tracker.expireForwarded(101, 100));
        tracker.abandonAll();
        assertEquals(List.of(outcome(200, RaftListener.UNKNOWN, 0, 0), outcome(100, RaftListener.UNKNOWN, 4, 0)), told);
        assertEquals(0, tracker.size());
    }
}
