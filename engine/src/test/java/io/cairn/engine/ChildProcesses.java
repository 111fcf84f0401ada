package io.cairn.engine;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Crash tests' children: a JVM on this test's class path and flags, which prints one line per durable step
 * ("PREFIX N"), killed with SIGKILL (by PID, via {@code destroyForcibly}) after it has run for a while.
 */
public final class ChildProcesses {
    /** Kill-and-recover rounds per crash test ({@code -Dcairn.test.crashRounds}). */
    private static final int ROUNDS = Integer.getInteger("cairn.test.crashRounds", 4);

    private ChildProcesses() {
    }

    /** What a crash test checks after each kill. */
    @FunctionalInterface
    public interface Recovery {
        /**
         * Reopens what the killed child left, checks it, and closes it again.
         *
         * @param round    the round, from 0.
         * @param reported the last progress number the child printed.
         * @return the progress number recovery found, which the next child must go beyond.
         * @throws Exception if it cannot be opened.
         */
        long check(int round, long reported) throws Exception;
    }

    /**
     * Kills a child in the middle of its work several times, each one continuing what the previous left: a child runs
     * {@code runMsMin} plus up to {@code runMsSpread} more milliseconds after its first progress line, must report
     * progress beyond what the last recovery found, and {@code recovery} checks what it left. Random choices follow
     * {@code -Dcairn.test.seed} when given (the seed is printed).
     *
     * @param args a child's arguments, drawn per round.
     */
    public static void killInRounds(final Class<?> main, final String prefix, final int runMsMin,
        final int runMsSpread, final Function<SplittableRandom, String[]> args, final Recovery recovery)
        throws Exception {
        final long seed = Long.getLong("cairn.test.seed", System.nanoTime());
        System.out.println(main.getSimpleName() + " rounds, seed " + seed);
        final SplittableRandom random = new SplittableRandom(seed);
        long recovered = 0;
        for (int round = 0; round < ROUNDS; round++) {
            final long runMs = runMsMin + random.nextInt(runMsSpread);
            final long reported = runAndKill(main, prefix, runMs, args.apply(random));
            assertTrue(reported > recovered, "round " + round + ": the child made no progress");
            recovered = recovery.check(round, reported);
        }
    }

    /**
     * Starts {@code main} with {@code args}, waits (up to 30 s) for its first progress line, lets it run
     * {@code runMs} more, and kills it.
     *
     * @param prefix what the child's progress lines start with, before the number.
     * @return the number of the last progress line the child printed before it died.
     */
    public static long runAndKill(final Class<?> main, final String prefix, final long runMs, final String... args)
        throws Exception {
        final List<String> command = JavaChild.command(List.of(), main.getName(), List.of(args));
        final Process child = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        final long[] last = {0};
        final Thread reader = new Thread(() -> {
            try (BufferedReader lines = new BufferedReader(
                new InputStreamReader(child.getInputStream(), StandardCharsets.US_ASCII))) {
                String line;
                while ((line = lines.readLine()) != null) {
                    if (line.startsWith(prefix)) {
                        synchronized (last) {
                            last[0] = Long.parseLong(line.substring(prefix.length()));
                        }
                    }
                }
            } catch (final IOException ex) {
                // The child died: the stream ends.
            }
        });
        reader.start();
        try {
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (current(last) == 0 && System.nanoTime() < deadline && child.isAlive()) {
                Thread.sleep(5);
            }
            assertTrue(current(last) > 0, "child never reported progress (alive: " + child.isAlive() + ")");
            Thread.sleep(runMs);
        } finally {
            child.destroyForcibly();
            assertTrue(child.waitFor(20, TimeUnit.SECONDS), "child did not die");
            reader.join(5000);
        }
        return current(last);
    }

    private static long current(final long[] last) {
        synchronized (last) {
            return last[0];
        }
    }
}
