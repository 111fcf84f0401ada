package io.cairn.server;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * Bounded waits for the process tests: every wait has a deadline and says what it waited for when it runs out.
 */
final class Await {
    private Await() {
    }

    /** Something that holds or not yet (it may throw while the cluster is in flux: that counts as not yet). */
    @FunctionalInterface
    interface Condition {
        boolean holds() throws Exception;
    }

    /** Something that produces output, e.g. one etcdctl run. */
    @FunctionalInterface
    interface Command {
        String run() throws Exception;
    }

    /**
     * @param what      said when the wait runs out.
     * @param seconds   how long at most.
     * @param condition polled every 50 ms.
     * @throws Exception an AssertionError when it runs out, or what the condition threw last time.
     */
    static void until(final String what, final long seconds, final Condition condition) throws Exception {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!condition.holds()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(50);
        }
    }

    /**
     * Runs {@code command} every 250 ms, up to 60 s, until its output satisfies {@code done}.
     *
     * @param command what to run.
     * @param done    when to stop.
     * @param what    said when the wait runs out, with every distinct output seen.
     * @throws Exception an AssertionError when it runs out.
     */
    static void output(final Command command, final Predicate<String> done, final String what) throws Exception {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        final List<String> outputs = new ArrayList<>();
        while (System.nanoTime() < deadline) {
            final String output = command.run();
            if (done.test(output)) {
                return;
            }
            if (outputs.isEmpty() || !outputs.get(outputs.size() - 1).equals(output)) {
                outputs.add(output);
            }
            Thread.sleep(250);
        }
        throw new AssertionError("timed out waiting for " + what + "; outputs seen:\n" + String.join("\n", outputs));
    }

    /**
     * Sleeps, keeping an interrupt for the caller to see.
     *
     * @param ms how long.
     */
    static void sleep(final long ms) {
        try {
            Thread.sleep(ms);
        } catch (final InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }
}
