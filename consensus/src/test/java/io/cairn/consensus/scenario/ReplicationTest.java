package io.cairn.consensus.scenario;

import io.cairn.consensus.EntryType;
import io.cairn.consensus.RaftMessage;
import io.cairn.consensus.RaftResult;
import io.cairn.consensus.Role;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: log replication (§5.3) and its flow control: a leader cut off from the majority cannot commit, a follower's
 * conflicting suffix is truncated, rejections skip whole terms (fast backtracking), appends are batched and
 * pipelined up to the window, and proposals are refused with codes, not exceptions. Method: real cores in a
 * {@link ScenarioCluster}; message counts are read from the cluster's per-kind counters.
 */
class ReplicationTest {
    @Test
    void shouldNotCommitWhenLeaderIsPartitionedFromMajority() {
        final ScenarioCluster cluster = new ScenarioCluster(1, 2, 3);
        cluster.elect(1);
        cluster.isolate(1);
        final long index = cluster.propose(1, "lost");
        assertTrue(index > 0);
        cluster.tickAll(5);
        assertTrue(cluster.core(1).commitIndex() < index, "no quorum, no commit");
        cluster.tickAll(30);
        final int leader = cluster.leader();
        assertTrue(leader == 2 || leader == 3, "the majority elects a new leader");
        cluster.propose(leader, "kept");
        cluster.stabilize();
        cluster.heal();
        cluster.tickAll(3);
        for (int id = 1; id <= 3; id++) {
            assertEquals(List.of("kept"), cluster.node(id).applied(), "node " + id);
            assertFalse(cluster.log(id).contains("lost"), cluster.log(id));
        }
    }

    @Test
    void shouldTruncateConflictingSuffixWhenFollowerHasLongerLog() {
        final ScenarioCluster cluster = new ScenarioCluster(1, 2, 3);
        cluster.elect(1);
        cluster.isolate(1);
        for (int i = 0; i < 6; i++) {
            cluster.propose(1, "old" + i);
        }
        cluster.tickAll(30);
        final int leader = cluster.leader();
        cluster.propose(leader, "new");
        cluster.stabilize();
        assertTrue(cluster.node(1).wal().lastIndex() > cluster.node(leader).wal().lastIndex(),
            "the deposed leader's log is longer");
        cluster.heal();
        cluster.tickAll(3);
        assertEquals(cluster.log(leader), cluster.log(1));
        assertEquals(List.of("new"), cluster.node(1).applied());
    }

    @Test
    void shouldSkipWholeTermsWhenFollowerRejectsAppend() {
        final ScenarioCluster cluster = new ScenarioCluster(new int[] {1, 2, 3}, new int[0],
            builder -> builder.appendLimits(4096, 4));
        cluster.elect(1);
        cluster.isolate(1);
        for (int i = 0; i < 40; i++) {
            cluster.propose(1, "stale" + i);
        }
        cluster.tickAll(30);
        final int leader = cluster.leader();
        for (int i = 0; i < 40; i++) {
            cluster.propose(leader, "fresh" + i);
        }
        cluster.stabilize();
        cluster.heal();
        cluster.resetCounts();
        cluster.tickAll(20);
        assertEquals(cluster.log(leader), cluster.log(1));
        // Without hints the leader would step back one index per rejection (40 of them).
        assertTrue(cluster.sent(RaftMessage.APPEND) < 40, "appends: " + cluster.sent(RaftMessage.APPEND));
    }

    @Test
    void shouldBatchManyEntriesIntoOneAppend() {
        final ScenarioCluster cluster = new ScenarioCluster(1, 2, 3);
        cluster.elect(1);
        cluster.resetCounts();
        final UnsafeBuffer payload = new UnsafeBuffer(new byte[8]);
        for (int i = 0; i < 50; i++) {
            assertTrue(cluster.core(1).propose(EntryType.NORMAL, payload, 0, 8) > 0);
        }
        cluster.drive(1);
        assertEquals(2, cluster.sent(RaftMessage.APPEND), "one append per follower carries all 50 entries");
        cluster.stabilize();
        assertEquals(51, cluster.core(1).commitIndex());
        assertEquals(51, cluster.core(2).lastIndex());
    }

    @Test
    void shouldPipelineAppendsUpToInflightWindow() {
        final ScenarioCluster cluster = new ScenarioCluster(new int[] {1, 2, 3}, new int[0],
            builder -> builder.appendLimits(4096, 1).inflight(3, 1 << 20));
        cluster.elect(1);
        cluster.resetCounts();
        for (int i = 0; i < 10; i++) {
            cluster.propose(1, "v" + i);
        }
        assertEquals(6, cluster.sent(RaftMessage.APPEND), "3 in flight to each follower, then wait");
        cluster.stabilize();
        assertEquals(11, cluster.core(1).commitIndex(), "acknowledgements open the window again");
    }

    @Test
    void shouldRefuseProposalWithCodeWhenNotLeaderOrFull() {
        final ScenarioCluster cluster = new ScenarioCluster(new int[] {1, 2, 3}, new int[0],
            builder -> builder.uncommittedEntriesMax(5));
        cluster.elect(1);
        assertEquals(RaftResult.NOT_LEADER, cluster.propose(2, "x"));
        cluster.isolate(1);
        for (int i = 0; i < 5; i++) {
            assertTrue(cluster.propose(1, "v" + i) > 0);
        }
        assertEquals(RaftResult.FULL, cluster.propose(1, "v5"));
        cluster.heal();
        cluster.tickAll(1);
        assertTrue(cluster.propose(1, "v5") > 0, "room again once committed");
    }

    @Test
    void shouldCountLeaderTowardQuorumOnlyOnceDurable() {
        final ScenarioCluster cluster = new ScenarioCluster(1, 2, 3);
        cluster.elect(1);
        cluster.isolate(3);
        cluster.node(1).autoSync(false);
        final long index = cluster.propose(1, "x");
        cluster.stabilize();
        assertEquals(index, cluster.core(2).lastIndex(), "the append left before the leader's sync (§10.2.1)");
        assertTrue(cluster.core(1).commitIndex() < index, "leader plus follower 2, but the leader is not durable");
        cluster.node(1).sync();
        assertEquals(index, cluster.core(1).commitIndex());
    }

    @Test
    void shouldHoldFollowerAcknowledgementUntilPersisted() {
        final ScenarioCluster cluster = new ScenarioCluster(1, 2, 3);
        cluster.elect(1);
        cluster.node(2).autoSync(false);
        cluster.node(3).autoSync(false);
        final long index = cluster.propose(1, "x");
        cluster.resetCounts();
        cluster.stabilize();
        assertEquals(0, cluster.sent(RaftMessage.APPEND_RESPONSE), "no acknowledgement before the sync");
        assertTrue(cluster.core(1).commitIndex() < index);
        cluster.node(2).sync();
        cluster.stabilize();
        assertEquals(index, cluster.core(1).commitIndex());
    }

    @Test
    void shouldLoseOnlyUnacknowledgedEntriesWhenFollowerCrashes() {
        final ScenarioCluster cluster = new ScenarioCluster(1, 2, 3);
        cluster.elect(1);
        cluster.node(3).autoSync(false);
        cluster.propose(1, "a");
        cluster.stabilize();
        assertEquals(2, cluster.core(3).lastIndex());
        cluster.crash(3);
        cluster.restart(3);
        assertEquals(1, cluster.core(3).lastIndex(), "the unsynced entry is gone");
        cluster.node(3).autoSync(true);
        cluster.tickAll(3);
        assertEquals(List.of("a"), cluster.node(3).applied(), "and sent again");
        assertEquals(Role.LEADER, cluster.core(1).role());
    }
}
