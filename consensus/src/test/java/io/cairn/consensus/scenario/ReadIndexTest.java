package io.cairn.consensus.scenario;

import io.cairn.consensus.RaftMessage;
import io.cairn.consensus.RaftResult;
import io.cairn.consensus.Ready;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: ReadIndex (thesis §6.4): a read is answered with the commit index only after the leader has committed an
 * entry of its term and a heartbeat round has confirmed it still leads; one round serves every read waiting when it
 * starts; followers forward reads to the leader; a leader that cannot reach a quorum never answers, and fails its
 * reads when it steps down. Method: real cores in a {@link ScenarioCluster}; read states are what each member's
 * driver collected from its {@link Ready}.
 */
class ReadIndexTest {
    @Test
    void shouldAnswerReadOnlyAfterLeaderCommitsEntryOfItsTerm() {
        final ScenarioCluster cluster = new ScenarioCluster(1, 2, 3);
        cluster.dropWhen(message -> message.kind() == RaftMessage.APPEND_RESPONSE);
        cluster.elect(1);
        assertEquals(0, cluster.core(1).commitIndex(), "the no-op is not committed yet");
        assertEquals(RaftResult.ACCEPTED, cluster.read(1, 7));
        cluster.tickAll(3);
        assertTrue(cluster.node(1).readStates().isEmpty(), "heartbeats alone do not answer it");
        cluster.dropWhen(message -> false);
        cluster.tickAll(2);
        assertEquals(Map.of(7L, 1L), cluster.node(1).readStates());
    }

    @Test
    void shouldConfirmEveryWaitingReadWithOneHeartbeatRound() {
        final ScenarioCluster cluster = new ScenarioCluster(1, 2, 3);
        cluster.elect(1);
        cluster.propose(1, "a");
        cluster.stabilize();
        cluster.resetCounts();
        for (long id = 1; id <= 10; id++) {
            assertEquals(RaftResult.ACCEPTED, cluster.core(1).readIndex(id));
        }
        cluster.drive(1);
        cluster.stabilize();
        assertEquals(2, cluster.sent(RaftMessage.HEARTBEAT), "one round: one heartbeat per follower");
        assertEquals(10, cluster.node(1).readStates().size());
        cluster.node(1).readStates().values().forEach(index -> assertEquals(2L, index));
    }

    @Test
    void shouldForwardFollowerReadToLeader() {
        final ScenarioCluster cluster = new ScenarioCluster(1, 2, 3);
        cluster.elect(1);
        cluster.propose(1, "a");
        cluster.stabilize();
        cluster.resetCounts();
        assertEquals(RaftResult.ACCEPTED, cluster.read(2, 42));
        cluster.stabilize();
        assertEquals(1, cluster.sent(RaftMessage.READ_INDEX));
        assertEquals(1, cluster.sent(RaftMessage.READ_INDEX_RESPONSE));
        assertEquals(Map.of(42L, 2L), cluster.node(2).readStates());
    }

    @Test
    void shouldNeverAnswerReadWhenLeaderIsCutOffAndFailItOnStepDown() {
        final ScenarioCluster cluster = new ScenarioCluster(1, 2, 3);
        cluster.elect(1);
        cluster.isolate(1);
        cluster.read(1, 5);
        cluster.tick(1, 9);
        assertTrue(cluster.node(1).readStates().isEmpty(), "no quorum confirms the round");
        cluster.tick(1, 12);
        assertEquals(Map.of(5L, Ready.READ_FAILED), cluster.node(1).readStates(), "CheckQuorum deposed it");
    }

    @Test
    void shouldRefuseReadWhenNoLeaderIsKnown() {
        final ScenarioCluster cluster = new ScenarioCluster(1, 2, 3);
        assertEquals(RaftResult.NOT_LEADER, cluster.read(2, 1));
    }
}
