package io.cairn.consensus.scenario;

import io.cairn.consensus.MembershipChange;
import io.cairn.consensus.RaftMessage;
import io.cairn.consensus.RaftResult;
import io.cairn.consensus.Role;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: a proposal a follower forwards is appended once and answered once, even when the network duplicates it and
 * the copy arrives after the leader stepped down or removed the follower: a refusal for the copy could overtake the
 * first copy's answer and tell the client "not applied" about a write that was (the simulator found this with late,
 * duplicated packets, seed 20635). Method: capture the PROPOSE on the wire, let the first copy commit, change the
 * leader's situation, deliver the copy, and count the answers.
 */
class ForwardedProposalTest {
    private static List<ScenarioCluster.Message> proposes(final ScenarioCluster cluster) {
        final List<ScenarioCluster.Message> copies = new ArrayList<>();
        for (final ScenarioCluster.Message message : cluster.queue()) {
            if (message.kind() == RaftMessage.PROPOSE) {
                copies.add(message);
            }
        }
        return copies;
    }

    // Forwards one proposal from 2 to the leader 1, lets it commit, and returns a copy of the PROPOSE as sent.
    private static ScenarioCluster.Message forwardAndCommit(final ScenarioCluster cluster) {
        cluster.elect(1);
        assertEquals(RaftResult.ACCEPTED, cluster.proposeOrForward(2, 100, "once"));
        final List<ScenarioCluster.Message> sent = proposes(cluster);
        assertEquals(1, sent.size());
        cluster.stabilize();
        assertNotNull(cluster.node(2).forwardStates().get(100L), "the first copy was answered");
        assertTrue(cluster.node(1).applied().contains("once"));
        return sent.get(0);
    }

    @Test
    void shouldNotAnswerACopyThatArrivesAfterTheSenderWasRemoved() {
        final ScenarioCluster cluster = new ScenarioCluster(1, 2, 3);
        final ScenarioCluster.Message copy = forwardAndCommit(cluster);
        assertTrue(cluster.changeMembership(1, MembershipChange.REMOVE, 2) > 0);
        cluster.stabilize();
        cluster.resetCounts();
        cluster.queue().add(copy);
        cluster.stabilize();
        assertEquals(0, cluster.sent(RaftMessage.PROPOSE_RESPONSE), "a copy is dropped unanswered, not refused");
        assertEquals(1, cluster.node(1).applied().stream().filter("once"::equals).count());
    }

    @Test
    void shouldNotAnswerACopyThatArrivesAfterTheLeaderSteppedDown() {
        final ScenarioCluster cluster = new ScenarioCluster(1, 2, 3);
        final ScenarioCluster.Message copy = forwardAndCommit(cluster);
        assertEquals(RaftResult.ACCEPTED, cluster.transfer(1, 3));
        cluster.stabilize();
        assertEquals(Role.FOLLOWER, cluster.core(1).role());
        cluster.resetCounts();
        cluster.queue().add(copy);
        cluster.stabilize();
        assertEquals(0, cluster.sent(RaftMessage.PROPOSE_RESPONSE), "no NOT_LEADER for a copy of an appended one");
        for (final int id : new int[] {1, 2, 3}) {
            assertEquals(1, cluster.node(id).applied().stream().filter("once"::equals).count());
        }
    }
}
