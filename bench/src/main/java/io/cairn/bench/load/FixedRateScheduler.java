package io.cairn.bench.load;

/**
 * The open loop of a fixed-rate run: operation {@code i} is due at {@code startNs + i / rate} seconds whatever
 * happened to the ones before it, and that intended start, not the moment it could actually be sent, is what its
 * latency is measured from. A client that waits for a stalled server before sending (the in-flight bound is
 * reached, or the issuing thread was descheduled) would otherwise leave out exactly the slow samples: coordinated
 * omission. When the scheduler falls behind it sends the overdue operations back to back, each still timed from
 * its own intended start, until it has caught up or the run ends; the operations due but never sent by then are
 * counted ({@link #scheduledBefore}) rather than silently dropped.
 *
 * <p>The schedule is integer arithmetic, exact for any rate: no drift over a long run.
 */
final class FixedRateScheduler {
    private static final long NS_PER_SECOND = 1_000_000_000L;

    /** Sends one operation; may block while the in-flight bound is reached. */
    interface Issuer {
        /**
         * @param opIndex the operation's place in the schedule, from 0.
         * @param intendedStartNs when the schedule wanted it sent.
         * @return false to stop the run (out of time while waiting to send).
         */
        boolean issue(long opIndex, long intendedStartNs);
    }

    private final NanoClock clock;
    private final long ratePerSecond;

    /**
     * @param clock the time the schedule is kept by.
     * @param ratePerSecond operations per second, at least 1.
     */
    FixedRateScheduler(final NanoClock clock, final long ratePerSecond) {
        if (ratePerSecond < 1) {
            throw new IllegalArgumentException("rate must be at least 1/s, got " + ratePerSecond);
        }
        this.clock = clock;
        this.ratePerSecond = ratePerSecond;
    }

    /**
     * @param startNs when operation 0 is due.
     * @param opIndex the operation.
     * @return when it is due: {@code startNs + floor(opIndex * 1e9 / rate)}, without overflow.
     */
    long intendedStartNs(final long startNs, final long opIndex) {
        return startNs + (opIndex / ratePerSecond) * NS_PER_SECOND
            + (opIndex % ratePerSecond) * NS_PER_SECOND / ratePerSecond;
    }

    /**
     * @param startNs when operation 0 is due.
     * @param endNs the end of the run.
     * @return how many operations are due before {@code endNs}: the least {@code i} with
     *     {@code intendedStartNs(startNs, i) >= endNs}.
     */
    long scheduledBefore(final long startNs, final long endNs) {
        final long elapsedNs = endNs - startNs;
        if (elapsedNs <= 0) {
            return 0;
        }
        // i = s * rate + j is due before the end iff floor(j * 1e9 / rate) < remainder,
        // i.e. iff j * 1e9 < remainder * rate.
        final long wholeSeconds = elapsedNs / NS_PER_SECOND;
        final long remainderNs = elapsedNs % NS_PER_SECOND;
        return wholeSeconds * ratePerSecond + (remainderNs * ratePerSecond + NS_PER_SECOND - 1) / NS_PER_SECOND;
    }

    /**
     * Sends operations on schedule from {@code startNs} until one would be due at or after {@code endNs}, the
     * clock passes {@code endNs}, the issuer says stop, or the thread is interrupted.
     *
     * @param startNs when operation 0 is due.
     * @param endNs the end of the run.
     * @param issuer sends one operation.
     * @return how many were sent; {@code scheduledBefore(startNs, endNs)} minus this were due and never sent.
     */
    long run(final long startNs, final long endNs, final Issuer issuer) {
        long opIndex = 0;
        while (!Thread.currentThread().isInterrupted()) {
            final long intendedNs = intendedStartNs(startNs, opIndex);
            if (intendedNs >= endNs) {
                break;
            }
            if (clock.nanoTime() < intendedNs) {
                clock.parkUntil(intendedNs);
            }
            if (clock.nanoTime() >= endNs || !issuer.issue(opIndex, intendedNs)) {
                break;
            }
            opIndex++;
        }
        return opIndex;
    }
}
