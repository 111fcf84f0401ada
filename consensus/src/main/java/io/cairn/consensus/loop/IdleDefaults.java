package io.cairn.consensus.loop;

import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.BusySpinIdleStrategy;
import org.agrona.concurrent.IdleStrategy;

import java.util.concurrent.TimeUnit;

/**
 * How a member's event loop idles, per process ({@code -Dcairn.idle=...}):
 * <ul>
 *   <li>{@code wait} (the default): sleep until there may be work: in the kernel on the transport's sockets when the
 *       transport offers that (the embedded Aeron driver runs on the loop's thread, {@code AeronTransport}), else in
 *       timed parks ({@link ParkingIdleStrategy}); producers wake the loop. Never spins: made for small machines whose
 *       two cores are shared by everything. While the loop is busy (requests in flight, or entries appended,
 *       committed or applied in the last {@link #BUSY_WINDOW_NS}) it sleeps at most {@code cairn.idle.waitMaxMs}
 *       (10 ms), so Aeron's timers (retransmits, status messages) keep their pace; a quiet loop sleeps until its next
 *       Raft tick, at most {@code cairn.idle.quietMaxMs} (100 ms, the default tick), and Aeron's heartbeats and status
 *       messages, whose timeouts are far longer, ride on those wake-ups.</li>
 *   <li>{@code backoff}: Agrona's backoff ({@code cairn.idle.spins} spins, {@code cairn.idle.yields} yields, then parks
 *       from {@code cairn.idle.minParkNs} to {@code cairn.idle.maxParkNs}): the first round's strategy, kept for
 *       comparison.</li>
 *   <li>{@code spin}: busy-spin, for a member with a core of its own (lowest latency, one core always busy).</li>
 * </ul>
 */
public final class IdleDefaults {
    /** The loop's idle mode: wait, backoff or spin. */
    public static final String MODE = System.getProperty("cairn.idle", "wait");
    /** Backoff: spins before yielding. */
    public static final long SPINS = Long.getLong("cairn.idle.spins", 100);
    /** Backoff: yields before parking. */
    public static final long YIELDS = Long.getLong("cairn.idle.yields", 10);
    /** Backoff and parking: the first park. */
    public static final long MIN_PARK_NS = Long.getLong("cairn.idle.minParkNs", 1_000);
    /** Backoff: the longest park. */
    public static final long MAX_PARK_NS = Long.getLong("cairn.idle.maxParkNs", 100_000);
    /** Wait: the longest sleep when nothing happens. */
    public static final long WAIT_MAX_NS = TimeUnit.MILLISECONDS.toNanos(Long.getLong("cairn.idle.waitMaxMs", 10));
    /** Wait: the longest sleep of a quiet loop (nothing in flight, no entries moved in the last busy window). */
    public static final long QUIET_MAX_NS = TimeUnit.MILLISECONDS.toNanos(Long.getLong("cairn.idle.quietMaxMs", 100));
    /** Wait: a loop that moved entries or took requests this recently is busy (sleeps at most WAIT_MAX_NS). */
    public static final long BUSY_WINDOW_NS = TimeUnit.MILLISECONDS.toNanos(200);
    /** Parking: the longest park (peer messages reach a parked loop at most this late). */
    public static final long PARK_MAX_NS = Math.min(WAIT_MAX_NS, TimeUnit.MILLISECONDS.toNanos(1));

    private IdleDefaults() {
    }

    /**
     * @return a new backoff strategy with the process's settings.
     */
    public static IdleStrategy backoff() {
        return new BackoffIdleStrategy(SPINS, YIELDS, MIN_PARK_NS, MAX_PARK_NS);
    }

    /**
     * @return a new parking strategy (woken by producers) with the process's settings.
     */
    public static ParkingIdleStrategy parking() {
        return new ParkingIdleStrategy(Math.min(MIN_PARK_NS, PARK_MAX_NS), PARK_MAX_NS);
    }

    /**
     * @param transportWait the transport's own way to wait for messages, or null.
     * @return the loop's idle strategy in this process's mode.
     */
    public static IdleStrategy loop(final IdleStrategy transportWait) {
        switch (MODE) {
            case "spin":
                return new BusySpinIdleStrategy();
            case "backoff":
                return backoff();
            case "wait":
                return transportWait != null ? transportWait : parking();
            default:
                throw new IllegalArgumentException("-Dcairn.idle=" + MODE + ": expected wait, backoff or spin");
        }
    }
}
