package io.cairn.simulator;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * What the simulator tests assert, in one place: a seed range runs clean (the failure message carries every failing
 * seed with its replay command), and a seed run twice reports the same.
 */
final class SimulatorChecks {
    private SimulatorChecks() {
    }

    /**
     * Runs seeds through {@link SimulatorMain}, printing its report, and fails with that report on any violation.
     *
     * @param first the first seed.
     * @param count how many.
     * @param extra further {@code SimulatorMain} arguments (e.g. {@code --keyspace}).
     */
    static void assertSeedsPass(final long first, final long count, final String... extra) {
        final String[] args = new String[4 + extra.length];
        args[0] = "--seed";
        args[1] = Long.toString(first);
        args[2] = "--count";
        args[3] = Long.toString(count);
        System.arraycopy(extra, 0, args, 4, extra.length);
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        final int status = SimulatorMain.run(args, new PrintStream(bytes, true, StandardCharsets.UTF_8));
        final String output = bytes.toString(StandardCharsets.UTF_8);
        System.out.println(output);
        assertEquals(0, status, output);
    }

    /**
     * @param first  one run of a seed.
     * @param second another run of the same seed.
     */
    static void assertSameRun(final Simulator.Result first, final Simulator.Result second) {
        assertEquals(first.options(), second.options());
        assertEquals(first.stepsMs(), second.stepsMs());
        assertEquals(first.counters(), second.counters());
        assertEquals(first.violations(), second.violations());
    }
}
