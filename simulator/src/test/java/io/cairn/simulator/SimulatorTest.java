package io.cairn.simulator;

import org.junit.jupiter.api.Test;

/**
 * Goal: the deterministic simulator passes a fixed budget of faulty seeds (CI's guard), and a seed replays exactly.
 * Method: run {@code cairn.sim.seeds} seeds from {@code cairn.sim.seed} (default 5,000 from 1: nine in ten inject
 * faults, half of those as storms, so well over 2,000 faulty seeds) through {@link SimulatorMain}; a failure's
 * message carries each failing seed, its violations and its replay command. Then run one seed twice and compare
 * everything it reports.
 */
class SimulatorTest {
    @Test
    void shouldFindNoViolationWhenRunningSeedBudget() {
        SimulatorChecks.assertSeedsPass(Long.getLong("cairn.sim.seed", 1), Long.getLong("cairn.sim.seeds", 5_000));
    }

    @Test
    void shouldReplayIdenticallyWhenSeedRepeats() {
        SimulatorChecks.assertSameRun(Simulator.run(1234), Simulator.run(1234));
    }
}
