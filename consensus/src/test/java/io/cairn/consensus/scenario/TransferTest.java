package io.cairn.consensus.scenario;

import io.cairn.consensus.RaftMessage;
import io.cairn.consensus.RaftResult;
import io.cairn.consensus.Role;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: leadership transfer (thesis §3.10): the leader brings the target up to date, sends TimeoutNow, and the
 * target wins the next term at once, even though followers still honour the old leader's lease; proposals wait
 * during the transfer, which is abandoned after an election timeout. Method: real cores in a
 * {@link ScenarioCluster}.
 */
class TransferTest {
    @Test
    void shouldTransferLeadershipWhenTargetIsUpToDate() {
        final ScenarioCluster cluster = new ScenarioCluster(1, 2, 3);
        cluster.elect(1);
        assertEquals(RaftResult.ACCEPTED, cluster.transfer(1, 3));
        cluster.stabilize();
        assertEquals(Role.LEADER, cluster.core(3).role());
        assertEquals(2, cluster.core(3).term());
        assertEquals(3, cluster.core(1).leaderId());
    }

    @Test
    void shouldCatchTargetUpBeforeSendingTimeoutNow() {
        final ScenarioCluster cluster = new ScenarioCluster(1, 2, 3);
        cluster.elect(1);
        cluster.isolate(3);
        for (int i = 0; i < 5; i++) {
            cluster.propose(1, "v" + i);
        }
        cluster.stabilize();
        cluster.heal();
        cluster.resetCounts();
        assertEquals(RaftResult.ACCEPTED, cluster.transfer(1, 3));
        assertEquals(0, cluster.sent(RaftMessage.TIMEOUT_NOW), "not before the target holds the whole log");
        cluster.tickAll(3);
        assertEquals(1, cluster.sent(RaftMessage.TIMEOUT_NOW));
        assertEquals(Role.LEADER, cluster.core(3).role());
        assertEquals(cluster.node(1).applied(), cluster.node(3).applied());
    }

    @Test
    void shouldRefuseProposalsWhileTransferringAndResumeWhenTransferTimesOut() {
        final ScenarioCluster cluster = new ScenarioCluster(1, 2, 3);
        cluster.elect(1);
        cluster.isolate(3);
        cluster.transfer(1, 3);
        assertEquals(RaftResult.TRANSFER_IN_PROGRESS, cluster.propose(1, "x"));
        cluster.tick(1, 11);
        cluster.tick(2, 5);
        cluster.stabilize();
        assertEquals(1, cluster.core(1).transfersAbortedCount());
        assertEquals(Role.LEADER, cluster.core(1).role());
        assertTrue(cluster.propose(1, "x") > 0);
    }

    @Test
    void shouldRefuseTransferWhenNotLeaderOrTargetNotVoter() {
        final ScenarioCluster cluster = new ScenarioCluster(1, 2, 3);
        cluster.elect(1);
        assertEquals(RaftResult.NOT_LEADER, cluster.transfer(2, 3));
        assertEquals(RaftResult.INVALID, cluster.transfer(1, 9));
    }
}
