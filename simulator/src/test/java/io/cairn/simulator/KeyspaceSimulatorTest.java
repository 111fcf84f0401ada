package io.cairn.simulator;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: the simulator's faults reach the real keyspace and nothing breaks: members replicate LMDB stores through the
 * production {@code KeyspaceStateMachine}, stream and install real snapshot files, reopen their stores after crashes
 * (a third of them power failures that take a store back to its last snapshot), and clients' puts, compare-and-set
 * transactions and ReadIndex gets stay linearizable while every member's store agrees at every applied index. Method:
 * run {@code cairn.sim.keyspace.seeds} seeds from {@code cairn.sim.seed} (default 400 from 1, about half a minute on
 * two cores) through {@link SimulatorMain} with {@code --keyspace --require-faults} (every kind of fault, a store
 * taken back to its snapshot included, must have happened); a failure's message carries each failing seed and
 * its replay command. Then run one seed twice and compare everything it reports (LMDB and the snapshot files must not
 * bring nondeterminism in), and check that runs leave no files behind.
 */
class KeyspaceSimulatorTest {
    @Test
    void shouldFindNoViolationWhenRunningSeedBudgetOnKeyspace() {
        SimulatorChecks.assertSeedsPass(Long.getLong("cairn.sim.seed", 1),
            Long.getLong("cairn.sim.keyspace.seeds", 400), "--keyspace", "--require-faults");
    }

    @Test
    void shouldReplayIdenticallyWhenKeyspaceSeedRepeats() throws IOException {
        final Path base = Files.createTempDirectory("cairn-sim-test-");
        final String previous = System.getProperty("cairn.sim.dir");
        System.setProperty("cairn.sim.dir", base.toString());
        try {
            final Simulator.Result first = Simulator.run(1234, true);
            final Simulator.Result second = Simulator.run(1234, true);
            SimulatorChecks.assertSameRun(first, second);
            assertTrue(first.counters().get("snapshots taken") > 0, first.counters().toString());
            try (Stream<Path> left = Files.list(base)) {
                assertEquals(0, left.count(), "runs delete their directories");
            }
        } finally {
            if (previous == null) {
                System.clearProperty("cairn.sim.dir");
            } else {
                System.setProperty("cairn.sim.dir", previous);
            }
            Files.deleteIfExists(base);
        }
    }
}
