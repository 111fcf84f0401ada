package io.cairn.simulator;

import io.cairn.consensus.PlantedBug;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Goal: the simulator's checkers catch each kind of bug they exist for — a checker that never fails proves nothing.
 * Method: plant one bug ({@link PlantedBug}) and run seeds from 1 until one fails, at most {@link #SEEDS_MAX}; the
 * first failing seed must fail with the violation that bug should cause, and pass with the bug removed (so the failure
 * is the bug's). Searching rather than naming one seed keeps the test meaningful when a change moves what seeds draw;
 * the bound keeps it short (each bug failed within the first 1,100 seeds when this was written, the rarest, a stale
 * read, about one seed in 300). {@code ./cairn simulate --seed 1 --count 3000 --plant BUG} shows every failing seed.
 */
class PlantedBugsTest {
    private static final long SEEDS_MAX = 3_000;

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "COMMIT_EARLIER_TERM, §5.4.2",
        "VOTE_IGNORES_LOG, leader completeness",
        "VOTE_TWICE, did not vote for itself",
        "READ_WITHOUT_QUORUM, not linearizable",
        "FORWARD_COPY_APPENDED, not linearizable",
        "UNANSWERED_FORWARD_REPORTED_LOST, not linearizable",
        "VOTE_WITH_LOST_ENTRIES, leader completeness",
        "KEEP_LOST_MATCH, did not converge",
    })
    void shouldFailASeedWhenTheBugIsPlanted(final PlantedBug bug, final String expected) {
        for (long seed = 1; seed <= SEEDS_MAX; seed++) {
            PlantedBug.plant(bug);
            final Simulator.Result planted;
            try {
                planted = Simulator.run(seed);
            } finally {
                PlantedBug.plant(PlantedBug.NONE);
            }
            if (!planted.passed()) {
                final String violations = String.join("\n", planted.violations());
                assertTrue(violations.contains(expected), () -> bug + ": expected a violation naming '" + expected
                    + "', got:\n" + violations);
                final Simulator.Result clean = Simulator.run(seed);
                final long found = seed;
                assertTrue(clean.passed(), () -> "seed " + found + " fails without the bug: " + clean.violations());
                System.out.println(bug + " caught by seed " + seed);
                return;
            }
        }
        assertEquals(PlantedBug.NONE, PlantedBug.active());
        fail(bug + " went unnoticed in seeds 1.." + SEEDS_MAX);
    }
}
