package io.cairn.consensus.scenario;

import io.cairn.consensus.Membership;
import io.cairn.consensus.RaftConfig;
import io.cairn.consensus.RaftContext;
import io.cairn.consensus.RaftCore;
import io.cairn.consensus.RaftMessage;
import io.cairn.consensus.Role;
import io.cairn.consensus.memory.MemorySnapshotStore;
import io.cairn.consensus.memory.MemoryWal;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: elections behave as §5.2 and thesis §9.6/§6.2 say: a timed-out follower wins a term, logs decide votes,
 * PreVote keeps a partitioned server from raising terms and disrupting the leader when it returns, followers that
 * hear a leader ignore candidates (stickiness), and a leader without a quorum steps down (CheckQuorum). Method: real
 * cores in a {@link ScenarioCluster}, with time, delivery and links driven step by step.
 */
class ElectionTest {
    @Test
    void shouldElectLeaderAndCommitNoopWhenFollowerTimesOut() {
        final ScenarioCluster cluster = new ScenarioCluster(1, 2, 3);
        cluster.elect(1);
        assertEquals(Role.LEADER, cluster.core(1).role());
        assertEquals(1, cluster.core(1).term());
        for (int id = 1; id <= 3; id++) {
            assertEquals(1, cluster.core(id).leaderId());
            assertEquals(1, cluster.core(id).commitIndex(), "the new term's no-op commits everywhere");
        }
    }

    @Test
    void shouldDrawElectionTimeoutFromRandomSource() {
        final RaftCore core = new RaftCore(new RaftContext()
            .config(RaftConfig.builder(1).electionTimeoutTicks(10).outbox(1 << 20, 64).entryBytesMax(1024)
                .appendLimits(4096, 16).snapshotChunkBytesMax(1024).build())
            .wal(new MemoryWal())
            .random(bound -> 7)
            .snapshotSource(new MemorySnapshotStore(16))
            .snapshotSink(new MemorySnapshotStore.Sink(new MemorySnapshotStore(16), bytes -> true))
            .snapshot(0, 0, Membership.ofVoters(1, 2, 3)));
        for (int tick = 1; tick < 17; tick++) {
            core.tick();
            assertEquals(Role.FOLLOWER, core.role(), "tick " + tick);
        }
        core.tick();
        assertEquals(Role.PRE_CANDIDATE, core.role(), "times out after 10 + 7 ticks");
    }

    @Test
    void shouldRefuseVoteWhenCandidateLogIsBehind() {
        final ScenarioCluster cluster = new ScenarioCluster(new int[] {1, 2, 3}, new int[0],
            builder -> builder.checkQuorum(false));
        cluster.elect(1);
        cluster.isolate(3);
        cluster.propose(1, "a");
        cluster.stabilize();
        cluster.heal();
        cluster.isolate(1);
        cluster.elect(3);
        assertEquals(Role.PRE_CANDIDATE, cluster.core(3).role(), "2 refuses: 3 lacks the committed entry (§5.4.1)");
        cluster.elect(2);
        assertEquals(Role.LEADER, cluster.core(2).role());
    }

    @Test
    void shouldNotDisruptLeaderWhenPartitionedServerRejoinsWithPreVote() {
        final ScenarioCluster cluster = new ScenarioCluster(1, 2, 3);
        cluster.elect(1);
        cluster.isolate(3);
        for (int i = 0; i < 5; i++) {
            cluster.campaign(3);
            cluster.stabilize();
        }
        assertEquals(1, cluster.core(3).term(), "pre-votes never raise the term");
        cluster.heal();
        cluster.tickAll(3);
        assertEquals(Role.LEADER, cluster.core(1).role());
        assertEquals(1, cluster.core(1).term());
        assertEquals(1, cluster.core(3).leaderId());
    }

    @Test
    void shouldDisruptLeaderWhenPartitionedServerRejoinsWithoutPreVote() {
        // The contrast that justifies PreVote: the returning server's higher term deposes a healthy leader.
        final ScenarioCluster cluster = new ScenarioCluster(new int[] {1, 2, 3}, new int[0],
            builder -> builder.preVote(false));
        cluster.elect(1);
        cluster.isolate(3);
        for (int i = 0; i < 5; i++) {
            cluster.campaign(3);
            cluster.stabilize();
        }
        assertTrue(cluster.core(3).term() > 5);
        cluster.heal();
        cluster.tickAll(1);
        assertEquals(Role.FOLLOWER, cluster.core(1).role(), "the leader learns the higher term and steps down");
    }

    @Test
    void shouldIgnorePreVoteWhenLeaderHeardRecently() {
        final ScenarioCluster cluster = new ScenarioCluster(1, 2, 3);
        cluster.elect(1);
        cluster.cut(1, 3);
        cluster.cut(3, 1);
        cluster.resetCounts();
        cluster.campaign(3);
        cluster.stabilize();
        assertEquals(2, cluster.sent(RaftMessage.PRE_VOTE_REQUEST), "3 asks 1 (unreachable) and 2");
        assertEquals(0, cluster.sent(RaftMessage.PRE_VOTE_RESPONSE), "2 heard from 1 recently: it ignores 3");
        assertEquals(Role.PRE_CANDIDATE, cluster.core(3).role());
        assertEquals(Role.LEADER, cluster.core(1).role());
    }

    @Test
    void shouldStepDownWhenLeaderLosesQuorum() {
        final ScenarioCluster cluster = new ScenarioCluster(1, 2, 3);
        cluster.elect(1);
        cluster.isolate(1);
        cluster.tick(1, 9);
        assertEquals(Role.LEADER, cluster.core(1).role());
        cluster.tick(1, 11);
        assertEquals(Role.FOLLOWER, cluster.core(1).role(), "no quorum heard within an election timeout");
        assertEquals(1, cluster.core(1).checkQuorumStepDownCount());
    }

    @Test
    void shouldKeepLeadingWhenQuorumResponds() {
        final ScenarioCluster cluster = new ScenarioCluster(1, 2, 3);
        cluster.elect(1);
        cluster.isolate(3);
        cluster.tickAll(50);
        assertEquals(Role.LEADER, cluster.core(1).role());
        assertEquals(1, cluster.core(1).term());
    }

    @Test
    void shouldKeepVoteWhenRestarted() {
        final ScenarioCluster cluster = new ScenarioCluster(1, 2, 3);
        cluster.elect(1);
        assertEquals(1, cluster.core(2).votedFor());
        cluster.crash(2);
        cluster.restart(2);
        assertEquals(1, cluster.core(2).term());
        assertEquals(1, cluster.core(2).votedFor(), "the vote was durable before the grant left (§5.1)");
    }

    @Test
    void shouldHoldVoteGrantUntilPersisted() {
        final ScenarioCluster cluster = new ScenarioCluster(1, 2, 3);
        cluster.node(2).autoSync(false);
        cluster.node(3).autoSync(false);
        cluster.campaign(1);
        cluster.stabilize();
        assertEquals(Role.CANDIDATE, cluster.core(1).role(), "grants wait for the voters' syncs");
        cluster.node(2).sync();
        cluster.stabilize();
        assertEquals(Role.LEADER, cluster.core(1).role());
    }
}
