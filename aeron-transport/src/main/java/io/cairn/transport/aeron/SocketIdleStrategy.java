package io.cairn.transport.aeron;

import io.aeron.driver.MediaDriver;
import io.cairn.consensus.loop.WakeableIdleStrategy;
import org.agrona.CloseHelper;
import org.agrona.nio.TransportPoller;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.channels.CancelledKeyException;
import java.nio.channels.SelectableChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

/**
 * The event loop's sleep when the media driver runs on the loop's own thread ({@code ThreadingMode.INVOKER}): block in
 * the kernel (epoll) until one of the driver's UDP sockets is readable (a peer's data, a status message, a NAK), a
 * producer {@link #wake()}s the loop, or {@code waitMaxNs} passes (Aeron's and Raft's timers). An idle member then
 * costs a wake-up per {@code waitMaxNs} instead of thousands of polls a second, and a datagram wakes it within the
 * kernel's wake-up latency instead of a park's timer slack (~50 µs on Linux, per hop).
 *
 * <p>Aeron offers no blocking wait: its pollers only {@code selectNow}. This class finds the driver's sockets through
 * the selectors of its two transport pollers (data and control; reached by reflection, the one place Cairn looks
 * inside Aeron) and registers the same channels with a selector of its own, which the driver never touches; the
 * driver still reads every datagram itself. The registrations follow the driver's sockets (new publications to new
 * peers) within {@link #RESCAN_INTERVAL_NS}; a closed channel leaves both selectors by itself.
 *
 * <p>Used by one thread (the loop's); {@link #wake()} by any.
 */
final class SocketIdleStrategy implements WakeableIdleStrategy {
    /** How often the driver's sockets are looked for again (cheap, but not every cycle). */
    static final long RESCAN_INTERVAL_NS = TimeUnit.MILLISECONDS.toNanos(100);
    /** Readable wake-ups in a row that found no work before the strategy stops trusting the sockets for a while. */
    static final int READY_STREAK_MAX = 64;

    private final Selector waitSelector;
    private final Selector[] driverSelectors;
    private final long waitMaxMs;
    private final Consumer<SelectionKey> ignoreKey = key -> { };
    private long lastScanNs;
    private long waits;
    private long readyWithoutWork;
    private int readyStreak;
    private boolean lastWakeReady;
    /** The loop's bound on the next sleep ({@link #sleepAtMost}), 0 when it gave none. */
    private long nextSleepMs;

    private SocketIdleStrategy(final Selector[] driverSelectors, final long waitMaxNs) throws IOException {
        this.driverSelectors = driverSelectors;
        this.waitMaxMs = Math.max(1, TimeUnit.NANOSECONDS.toMillis(waitMaxNs));
        this.waitSelector = Selector.open();
    }

    /**
     * @param context   the context of a driver launched in INVOKER mode (its pollers exist once launched).
     * @param waitMaxNs the longest sleep (timers fire at most this late).
     * @return the strategy.
     * @throws ReflectiveOperationException if this Aeron version hides its pollers differently: the caller falls back
     *     to parking.
     * @throws IOException if no selector can be opened.
     */
    static SocketIdleStrategy of(final MediaDriver.Context context, final long waitMaxNs)
        throws ReflectiveOperationException, IOException {
        final Field selector = TransportPoller.class.getDeclaredField("selector");
        selector.setAccessible(true);
        final Selector[] selectors = new Selector[2];
        int i = 0;
        for (final String accessor : new String[] {"dataTransportPoller", "controlTransportPoller"}) {
            final Method method = MediaDriver.Context.class.getDeclaredMethod(accessor);
            method.setAccessible(true);
            final Object poller = method.invoke(context);
            if (poller == null) {
                throw new NoSuchFieldException(accessor + " is not set");
            }
            selectors[i++] = (Selector)selector.get(poller);
        }
        final SocketIdleStrategy strategy = new SocketIdleStrategy(selectors, waitMaxNs);
        strategy.rescan();
        return strategy;
    }

    @Override
    public void idle() {
        final long nowNs = System.nanoTime();
        if (nowNs - lastScanNs > RESCAN_INTERVAL_NS) {
            lastScanNs = nowNs;
            rescan();
        }
        final long timeoutMs = nextSleepMs > 0 ? nextSleepMs : waitMaxMs;
        nextSleepMs = 0;
        // Woken by a readable socket, and the cycle since found nothing to do: one more such wake-up in a row.
        readyStreak = lastWakeReady ? readyStreak + 1 : 0;
        lastWakeReady = false;
        if (readyStreak >= READY_STREAK_MAX) {
            // A socket stays readable yet the driver finds nothing in it: never spin on it; sleep out the timeout.
            readyWithoutWork++;
            readyStreak = 0;
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(timeoutMs));
            return;
        }
        try {
            // Ready keys are only looked at, never consumed: the driver reads the sockets on the next duty cycle, and
            // a socket left unread keeps the next select from sleeping (epoll is level-triggered here).
            lastWakeReady = waitSelector.select(ignoreKey, timeoutMs) > 0;
            waits++;
        } catch (final IOException ex) {
            throw new UncheckedIOException("waiting on the transport's sockets", ex);
        }
    }

    @Override
    public void reset() {
        readyStreak = 0;
        lastWakeReady = false;
    }

    @Override
    public void wake() {
        waitSelector.wakeup(); // the JDK writes to its wake-up pipe once per select, however many threads call
    }

    /**
     * The next sleep lasts at most {@code nanos}, rounded up to whole milliseconds (epoll's unit; at least 1 ms): the
     * loop's next timer. Without a bound a sleep lasts at most the {@code waitMaxNs} this strategy was made with.
     *
     * @param nanos the longest the next sleep may last.
     */
    @Override
    public void sleepAtMost(final long nanos) {
        nextSleepMs = Math.max(1, (nanos + 999_999) / 1_000_000);
    }

    @Override
    public String alias() {
        return "socket-wait";
    }

    /**
     * @return sleeps so far (each ended by a socket, a wake-up or the timeout).
     */
    long waits() {
        return waits;
    }

    /**
     * @return times a socket stayed readable through {@link #READY_STREAK_MAX} empty cycles (the loop slept instead).
     */
    long readyWithoutWork() {
        return readyWithoutWork;
    }

    /**
     * @return sockets registered for wake-ups now.
     */
    int registeredSockets() {
        return waitSelector.keys().size();
    }

    private void rescan() {
        for (final Selector driverSelector : driverSelectors) {
            if (!driverSelector.isOpen()) {
                continue;
            }
            for (final SelectionKey key : driverSelector.keys()) {
                final SelectableChannel channel = key.channel();
                if (key.isValid() && channel.isOpen() && channel.keyFor(waitSelector) == null) {
                    try {
                        channel.register(waitSelector, SelectionKey.OP_READ);
                    } catch (final IOException | CancelledKeyException ex) {
                        // Closed between the check and the registration: nothing to wait for on it.
                        continue;
                    }
                }
            }
        }
    }

    /**
     * Closes the selector (not the driver's channels).
     */
    void close() {
        CloseHelper.quietClose(waitSelector);
    }
}
