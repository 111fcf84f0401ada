package io.cairn.simulator;

import io.cairn.consensus.PlantedBug;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: the simulator's checkers catch each kind of bug they exist for — a checker that never fails proves nothing.
 * Method: plant one bug in the Raft core ({@link PlantedBug}), run a seed that the search over 1..3,000 found to expose
 * it, and require that the seed fails with the violation that bug should cause; the same seed passes unplanted (it is
 * in {@link SimulatorTest}'s fixed range, so its passing is checked there too, and again here, so the failure is the
 * bug's and not the seed's). {@code ./cairn simulate --seed 1 --count 3000 --plant BUG} repeats the search: a change
 * to what the simulator draws moves the seeds, and this test then says so; search again and take the new first seed.
 */
class PlantedBugsTest {
    @ParameterizedTest(name = "{0} caught by seed {1}")
    @CsvSource({
        "COMMIT_EARLIER_TERM, 58, §5.4.2",
        "VOTE_IGNORES_LOG, 1, leader completeness",
        "VOTE_TWICE, 5, did not vote for itself",
        "READ_WITHOUT_QUORUM, 1005, not linearizable",
        "FORWARD_COPY_APPENDED, 72, not linearizable",
        "UNANSWERED_FORWARD_REPORTED_LOST, 1, not linearizable",
    })
    void shouldFailTheSeedWhenTheBugIsPlanted(final PlantedBug bug, final long seed, final String expected) {
        final Simulator.Result clean = Simulator.run(seed);
        assertTrue(clean.passed(), () -> "seed " + seed + " fails without the bug: " + clean.violations());
        PlantedBug.plant(bug);
        final Simulator.Result planted;
        try {
            planted = Simulator.run(seed);
        } finally {
            PlantedBug.plant(PlantedBug.NONE);
        }
        assertEquals(PlantedBug.NONE, PlantedBug.active());
        assertFalse(planted.passed(), () -> bug + " went unnoticed by seed " + seed);
        final String violations = String.join("\n", planted.violations());
        assertTrue(violations.contains(expected), () -> bug + ": expected a violation naming '" + expected
            + "', got:\n" + violations);
    }
}
