package io.cairn.consensus.sim;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
        final long first = Long.getLong("cairn.sim.seed", 1);
        final long count = Long.getLong("cairn.sim.seeds", 5_000);
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        final int status = SimulatorMain.run(new String[] {"--seed", Long.toString(first), "--count",
            Long.toString(count)}, new PrintStream(bytes, true, StandardCharsets.UTF_8));
        final String output = bytes.toString(StandardCharsets.UTF_8);
        System.out.println(output);
        assertEquals(0, status, output);
    }

    @Test
    void shouldReplayIdenticallyWhenSeedRepeats() {
        final Simulator.Result first = Simulator.run(1234);
        final Simulator.Result second = Simulator.run(1234);
        assertEquals(first.options(), second.options());
        assertEquals(first.stepsMs(), second.stepsMs());
        assertEquals(first.counters(), second.counters());
        assertEquals(first.violations(), second.violations());
    }
}
