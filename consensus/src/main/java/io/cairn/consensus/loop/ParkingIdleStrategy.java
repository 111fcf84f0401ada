package io.cairn.consensus.loop;

import org.agrona.concurrent.IdleStrategy;

import java.util.concurrent.locks.LockSupport;

/**
 * A {@link WakeableIdleStrategy} for loops that have no socket to wait on (an in-memory network, an external Aeron
 * media driver): parks, doubling from {@code minParkNs} to {@code maxParkNs} while nothing happens, and
 * {@link #wake()} unparks the loop's thread at once. Peer messages are noticed within the current park; requests from
 * other threads at once.
 */
public final class ParkingIdleStrategy implements WakeableIdleStrategy {
    private final long minParkNs;
    private final long maxParkNs;
    private volatile Thread owner;
    private long parkNs;

    /**
     * @param minParkNs the first park after work.
     * @param maxParkNs the longest park.
     */
    public ParkingIdleStrategy(final long minParkNs, final long maxParkNs) {
        if (minParkNs <= 0 || maxParkNs < minParkNs) {
            throw new IllegalArgumentException("parks: " + minParkNs + ".." + maxParkNs);
        }
        this.minParkNs = minParkNs;
        this.maxParkNs = maxParkNs;
        this.parkNs = minParkNs;
    }

    @Override
    public void idle() {
        if (owner == null) {
            owner = Thread.currentThread();
        }
        LockSupport.parkNanos(parkNs);
        parkNs = Math.min(maxParkNs, parkNs << 1);
    }

    @Override
    public void reset() {
        parkNs = minParkNs;
    }

    @Override
    public void wake() {
        final Thread thread = owner;
        if (thread != null) {
            LockSupport.unpark(thread); // a permit for the next park if it is not parked now
        }
    }

    @Override
    public String alias() {
        return "parking";
    }

    /**
     * @param strategy any idle strategy.
     * @return its wake-up, or one that does nothing for a strategy that cannot be woken (it polls).
     */
    static Runnable wakerOf(final IdleStrategy strategy) {
        if (strategy instanceof WakeableIdleStrategy wakeable) {
            return wakeable::wake;
        }
        return () -> { };
    }
}
