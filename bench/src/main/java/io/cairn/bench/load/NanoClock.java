package io.cairn.bench.load;

import java.util.concurrent.locks.LockSupport;

/**
 * The time the generator schedules and measures by; tests replace it with a clock they advance themselves.
 */
interface NanoClock {
    /** {@link System#nanoTime()}, parking in {@link LockSupport#parkNanos(long)} slices. */
    NanoClock SYSTEM = new NanoClock() {
        @Override
        public long nanoTime() {
            return System.nanoTime();
        }

        @Override
        public void parkUntil(final long deadlineNs) {
            long remainingNs = deadlineNs - System.nanoTime();
            while (remainingNs > 0 && !Thread.currentThread().isInterrupted()) {
                LockSupport.parkNanos(remainingNs);
                remainingNs = deadlineNs - System.nanoTime();
            }
        }
    };

    /**
     * @return a monotonic time in nanoseconds.
     */
    long nanoTime();

    /**
     * Returns once {@link #nanoTime()} has reached {@code deadlineNs}, or early if the thread is interrupted.
     *
     * @param deadlineNs the time to wait for.
     */
    void parkUntil(long deadlineNs);
}
