package io.cairn.consensus.loop;

import org.agrona.concurrent.IdleStrategy;

/**
 * An {@link IdleStrategy} that sleeps until there may be work: the event loop idles on it when a duty cycle found
 * nothing to do, and other threads {@link #wake()} it when they hand the loop something (a proposal in the
 * {@link RaftRequests} ring). On two shared cores nothing may spin, yet a request must not wait out a sleep: an idle
 * loop costs a wake-up every few milliseconds, and a loaded one wakes on every event.
 */
public interface WakeableIdleStrategy extends IdleStrategy {
    /**
     * Ends the loop's current sleep, or the next one if it is not sleeping now (so a wake-up is never lost between the
     * loop's last look at its queues and its sleep). Any thread; cheap when the loop is awake.
     */
    void wake();

    /**
     * Bounds the next sleep: the loop's next timer is due in {@code nanos}. Called by the loop before a cycle that
     * found no work returns, so a quiet loop sleeps until its next timer rather than for a fixed slice. The default
     * ignores the bound (the strategy's own longest sleep applies).
     *
     * @param nanos the longest the next sleep may last.
     */
    default void sleepAtMost(final long nanos) {
    }

    /**
     * After a duty cycle: work done resets the strategy (the next sleep starts short), none sleeps.
     *
     * @param workCount work the cycle did.
     */
    @Override
    default void idle(final int workCount) {
        if (workCount > 0) {
            reset();
        } else {
            idle();
        }
    }
}
