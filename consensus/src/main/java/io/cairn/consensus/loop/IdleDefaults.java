package io.cairn.consensus.loop;

import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;

/**
 * The backoff every Cairn polling thread uses when it finds no work (the Raft loop, the embedded Aeron driver):
 * a few spins, a few yields, then parks growing from {@code cairn.idle.minParkNs} to {@code cairn.idle.maxParkNs}.
 * Never a busy spin: several members and their drivers may share two cores. The system properties
 * {@code cairn.idle.spins}, {@code cairn.idle.yields}, {@code cairn.idle.minParkNs} and {@code cairn.idle.maxParkNs}
 * tune it per process (latency against idle CPU).
 */
public final class IdleDefaults {
    /** Spins before yielding. */
    public static final long SPINS = Long.getLong("cairn.idle.spins", 100);
    /** Yields before parking. */
    public static final long YIELDS = Long.getLong("cairn.idle.yields", 10);
    /** The first park. */
    public static final long MIN_PARK_NS = Long.getLong("cairn.idle.minParkNs", 1_000);
    /** The longest park. */
    public static final long MAX_PARK_NS = Long.getLong("cairn.idle.maxParkNs", 100_000);

    private IdleDefaults() {
    }

    /**
     * @return a new backoff strategy with the process's settings.
     */
    public static IdleStrategy backoff() {
        return new BackoffIdleStrategy(SPINS, YIELDS, MIN_PARK_NS, MAX_PARK_NS);
    }
}
