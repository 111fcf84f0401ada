package io.cairn.consensus.scenario;

import io.cairn.consensus.MembershipChange;
import io.cairn.consensus.RaftMessage;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: snapshots (§7): a follower behind the leader's compacted log receives the snapshot in chunks and continues
 * from the log after it; an interrupted stream resumes from the offset the follower expects instead of starting
 * over; a restarted member rebuilds its state machine and configuration from its snapshot plus its log. Method:
 * real cores in a {@link ScenarioCluster} whose snapshot stores cut snapshots into 16-byte chunks; the leader
 * compacts its log right after taking a snapshot.
 */
class SnapshotTest {
    private static ScenarioCluster clusterWithLaggingFollower() {
        final ScenarioCluster cluster = new ScenarioCluster(1, 2, 3);
        cluster.elect(1);
        cluster.isolate(3);
        for (int i = 0; i < 20; i++) {
            cluster.propose(1, "value-" + i);
        }
        cluster.stabilize();
        cluster.snapshotAndCompact(1);
        assertEquals(21, cluster.node(1).wal().baseIndex());
        return cluster;
    }

    private static long chunkCount(final ScenarioCluster cluster, final int id) {
        return (cluster.node(id).store().totalBytes() + 15) / 16;
    }

    @Test
    void shouldInstallSnapshotInChunksWhenFollowerIsBehindCompactedLog() {
        final ScenarioCluster cluster = clusterWithLaggingFollower();
        cluster.heal();
        cluster.tickAll(3);
        cluster.propose(1, "after");
        cluster.stabilize();
        assertEquals(cluster.node(1).applied(), cluster.node(3).applied());
        assertEquals(21, cluster.node(3).wal().baseIndex(), "the follower's log restarts after the snapshot");
        assertEquals(1, cluster.core(3).snapshotsInstalledCount());
        assertTrue(chunkCount(cluster, 1) > 5, "a multi-chunk transfer");
        assertEquals(chunkCount(cluster, 1), cluster.node(3).sink().chunksAccepted());
    }

    @Test
    void shouldResumeFromFollowerOffsetWhenSnapshotStreamIsInterrupted() {
        final ScenarioCluster cluster = clusterWithLaggingFollower();
        cluster.heal();
        final int[] delivered = {0};
        cluster.dropWhen(message -> message.kind() == RaftMessage.SNAPSHOT_CHUNK && ++delivered[0] > 3);
        cluster.tickAll(3);
        assertEquals(3, cluster.node(3).sink().chunksAccepted(), "the stream stops after three chunks");
        cluster.tickAll(10);
        cluster.dropWhen(message -> false);
        cluster.tickAll(10);
        assertEquals(cluster.node(1).applied(), cluster.node(3).applied());
        assertEquals(chunkCount(cluster, 1), cluster.node(3).sink().chunksAccepted(),
            "every chunk accepted once: the leader resumed at the follower's offset");
    }

    @Test
    void shouldRebuildStateFromSnapshotAndLogWhenRestarted() {
        final ScenarioCluster cluster = new ScenarioCluster(new int[] {1, 2, 3}, new int[] {4}, builder -> builder);
        cluster.elect(1);
        for (int i = 0; i < 5; i++) {
            cluster.propose(1, "a" + i);
        }
        assertTrue(cluster.changeMembership(1, MembershipChange.ADD_LEARNER, 4) > 0);
        cluster.stabilize();
        cluster.snapshotAndCompact(2);
        for (int i = 0; i < 5; i++) {
            cluster.propose(1, "b" + i);
        }
        cluster.stabilize();
        final String membership = cluster.core(2).membership().toString();
        cluster.crash(2);
        cluster.restart(2);
        cluster.tickAll(2);
        assertEquals(cluster.node(1).applied(), cluster.node(2).applied());
        assertEquals(membership, cluster.core(2).membership().toString(), "configuration from the snapshot");
    }
}
