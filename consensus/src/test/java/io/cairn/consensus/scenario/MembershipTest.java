package io.cairn.consensus.scenario;

import io.cairn.consensus.MembershipChange;
import io.cairn.consensus.RaftMessage;
import io.cairn.consensus.RaftResult;
import io.cairn.consensus.Role;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: one-server-at-a-time membership changes (thesis §4.1, §4.2): learners catch up without voting and are
 * promoted only once caught up; a change is refused while another is uncommitted or before the leader has committed
 * in its term; a configuration is in force as soon as it is appended and reverts if its entry is truncated; a leader
 * that removes itself steps down once the change commits; configurations survive restarts through the log and
 * snapshots. Method: real cores in a {@link ScenarioCluster} with spare servers that start with an empty
 * configuration.
 */
class MembershipTest {
    private static ScenarioCluster cluster() {
        final ScenarioCluster cluster = new ScenarioCluster(new int[] {1, 2, 3}, new int[] {4}, builder -> builder);
        cluster.elect(1);
        cluster.propose(1, "a");
        cluster.stabilize();
        return cluster;
    }

    @Test
    void shouldAddLearnerAndPromoteItOnceCaughtUp() {
        final ScenarioCluster cluster = cluster();
        assertTrue(cluster.changeMembership(1, MembershipChange.ADD_LEARNER, 4) > 0);
        cluster.tickAll(2);
        assertEquals(List.of("a"), cluster.node(4).applied(), "the learner received the log");
        assertTrue(cluster.core(4).membership().isLearner(4));
        assertEquals(Role.FOLLOWER, cluster.core(4).role());
        assertTrue(cluster.changeMembership(1, MembershipChange.PROMOTE_LEARNER, 4) > 0);
        cluster.stabilize();
        for (int id = 1; id <= 4; id++) {
            assertTrue(cluster.core(id).membership().isVoter(4), "node " + id);
            assertEquals(4, cluster.core(id).membership().voterCount());
        }
    }

    @Test
    void shouldNotCountLearnerTowardQuorum() {
        final ScenarioCluster cluster = cluster();
        cluster.changeMembership(1, MembershipChange.ADD_LEARNER, 4);
        cluster.tickAll(2);
        cluster.isolate(2);
        cluster.isolate(3);
        final long index = cluster.propose(1, "b");
        cluster.tickAll(2);
        assertTrue(cluster.core(1).commitIndex() < index, "leader plus learner is not a majority of voters");
    }

    @Test
    void shouldRefusePromotionWhenLearnerIsBehind() {
        final ScenarioCluster cluster = cluster();
        cluster.changeMembership(1, MembershipChange.ADD_LEARNER, 4);
        cluster.stabilize();
        cluster.isolate(4);
        cluster.propose(1, "b");
        cluster.stabilize();
        assertEquals(RaftResult.NOT_CAUGHT_UP, cluster.changeMembership(1, MembershipChange.PROMOTE_LEARNER, 4));
    }

    @Test
    void shouldAllowOneChangeAtATime() {
        final ScenarioCluster cluster = cluster();
        assertTrue(cluster.changeMembership(1, MembershipChange.ADD_LEARNER, 4) > 0);
        assertEquals(RaftResult.CONFIG_PENDING, cluster.changeMembership(1, MembershipChange.REMOVE, 3));
        cluster.stabilize();
        assertTrue(cluster.changeMembership(1, MembershipChange.REMOVE, 3) > 0);
    }

    @Test
    void shouldRefuseChangeBeforeLeaderCommitsInItsTerm() {
        final ScenarioCluster cluster = new ScenarioCluster(new int[] {1, 2, 3}, new int[] {4}, builder -> builder);
        cluster.dropWhen(message -> message.kind() == RaftMessage.APPEND_RESPONSE);
        cluster.elect(1);
        assertEquals(RaftResult.CONFIG_PENDING, cluster.changeMembership(1, MembershipChange.ADD_LEARNER, 4));
    }

    @Test
    void shouldUseConfigurationAsSoonAsAppended() {
        final ScenarioCluster cluster = cluster();
        cluster.dropWhen(message -> message.kind() == RaftMessage.APPEND_RESPONSE);
        final long index = cluster.changeMembership(1, MembershipChange.ADD_LEARNER, 4);
        cluster.stabilize();
        assertTrue(cluster.core(2).commitIndex() < index);
        assertTrue(cluster.core(2).membership().isLearner(4), "in force on the follower before it commits");
    }

    @Test
    void shouldRevertConfigurationWhenItsEntryIsTruncated() {
        final ScenarioCluster cluster = cluster();
        cluster.isolate(1);
        final long index = cluster.changeMembership(1, MembershipChange.ADD_LEARNER, 4);
        assertTrue(index > 0);
        assertTrue(cluster.core(1).membership().isLearner(4));
        cluster.tickAll(30);
        final int leader = cluster.leader();
        assertTrue(leader == 2 || leader == 3);
        cluster.propose(leader, "b");
        cluster.stabilize();
        cluster.heal();
        cluster.tickAll(3);
        assertFalse(cluster.core(1).membership().contains(4), "the uncommitted change was overwritten");
        assertEquals(cluster.log(leader), cluster.log(1));
    }

    @Test
    void shouldStepDownWhenLeaderRemovesItself() {
        final ScenarioCluster cluster = cluster();
        assertTrue(cluster.changeMembership(1, MembershipChange.REMOVE, 1) > 0);
        cluster.stabilize();
        assertEquals(Role.FOLLOWER, cluster.core(1).role(), "steps down once the removal commits (§4.2.2)");
        assertFalse(cluster.core(1).membership().isVoter(1));
        cluster.tickAll(40);
        final int leader = cluster.leader();
        assertTrue(leader == 2 || leader == 3);
        assertTrue(cluster.propose(leader, "b") > 0);
        cluster.stabilize();
        assertEquals(List.of("a", "b"), cluster.node(leader == 2 ? 3 : 2).applied());
    }

    @Test
    void shouldRecoverConfigurationFromLogWhenRestarted() {
        final ScenarioCluster cluster = cluster();
        cluster.changeMembership(1, MembershipChange.ADD_LEARNER, 4);
        cluster.tickAll(2);
        cluster.changeMembership(1, MembershipChange.PROMOTE_LEARNER, 4);
        cluster.stabilize();
        cluster.crash(3);
        cluster.restart(3);
        assertTrue(cluster.core(3).membership().isVoter(4));
        assertEquals(4, cluster.core(3).membership().voterCount());
    }
}
