package io.cairn.consensus.scenario;

import io.cairn.consensus.RaftMessage;
import io.cairn.consensus.RaftMessageDecoder;
import io.cairn.consensus.Role;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * Goal: the commitment rule of §5.4.2, on the exact schedule of figure 8 of the Raft paper: a leader must not commit
 * an entry from an earlier term by counting its replicas, because a server holding a different entry with a later
 * term can still be elected and overwrite it. Method: five real cores; links and message filters reproduce the
 * figure's steps (a)-(e) deterministically; CheckQuorum is off so that no leader lease delays the elections (it is
 * orthogonal to the rule under test).
 */
class CommitRuleTest {
    @Test
    void shouldNotCommitEarlierTermEntryByCountingReplicasWhenFigure8Unfolds() {
        final ScenarioCluster cluster = new ScenarioCluster(new int[] {1, 2, 3, 4, 5}, new int[0],
            builder -> builder.checkQuorum(false).appendLimits(4096, 1));
        final RaftMessageDecoder decoder = new RaftMessageDecoder();

        // (a) S1 leads term 1 and replicates index 2 to S2 only.
        cluster.elect(1);
        cluster.cut(1, 3);
        cluster.cut(1, 4);
        cluster.cut(1, 5);
        cluster.propose(1, "x");
        cluster.stabilize();
        cluster.heal();
        assertEquals("1/1:noop 2/1:x", cluster.log(2));

        // (b) S1 crashes; S5 wins term 2 with S3 and S4 and appends index 2 locally only.
        cluster.crash(1);
        cluster.dropWhen(message -> message.from() == 5 && message.kind() == RaftMessage.APPEND);
        cluster.electUntilLeader(5);
        assertEquals("1/1:noop 2/2:noop", cluster.log(5));
        cluster.crash(5);
        cluster.dropWhen(message -> false);

        // (c) S1 restarts, wins term 3 and replicates its term-1 entry at index 2 to S3 and S4, but not its own
        // term-3 entry: index 2 now sits on a majority (S1, S2, S3, S4).
        cluster.restart(1);
        cluster.dropWhen(message -> {
            decoder.wrap(new UnsafeBuffer(message.bytes()), 0, message.bytes().length);
            // Only appends that would deliver index 3 are lost; probes that a follower rejects go through.
            return message.kind() == RaftMessage.APPEND && decoder.prevLogIndex() >= 2 && decoder.entryCount() > 0
                && cluster.node(message.to()).wal().term(2) == 1;
        });
        cluster.electUntilLeader(1);
        cluster.tickAll(3);
        for (int id = 1; id <= 4; id++) {
            assertEquals(1, cluster.node(id).wal().term(2), "S" + id + " holds (2, 1)");
        }
        assertEquals(1, cluster.core(1).commitIndex(), "§5.4.2: a majority holds (2, 1), but it is not committed");

        // (d) S1 crashes; S5 restarts and wins with S2, S3 and S4 (its last term, 2, beats their 1).
        cluster.crash(1);
        cluster.dropWhen(message -> false);
        cluster.restart(5);
        cluster.electUntilLeader(5);
        cluster.stabilize();
        assertEquals(Role.LEADER, cluster.core(5).role());
        for (int id = 2; id <= 5; id++) {
            assertEquals(2, cluster.node(id).wal().term(2), "S5 overwrote index 2 on S" + id);
            assertFalse(cluster.node(id).applied().contains("x"), "x was never committed, so never applied");
        }
    }
}
