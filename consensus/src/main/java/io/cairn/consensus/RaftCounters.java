package io.cairn.consensus;

import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.status.AtomicCounter;
import org.agrona.concurrent.status.CountersManager;
import org.agrona.concurrent.status.CountersReader;

import java.nio.ByteBuffer;

/**
 * The counters a member's loop and core keep, in one Agrona {@link CountersManager}: the loop's thread is the only
 * writer (each increment an ordered write, no allocation, no lock), and any other thread — a metrics scrape — reads
 * them whole and current through {@link #reader()} or the counters' own {@code get()}. Plain {@code long} fields, as
 * they were, could be read stale or torn by another thread.
 */
public final class RaftCounters {
    /** Counters one manager holds: the core's and the loop's, with room to grow. */
    public static final int CAPACITY = 64;

    private final CountersManager manager = new CountersManager(
        new UnsafeBuffer(ByteBuffer.allocateDirect(CAPACITY * CountersReader.METADATA_LENGTH)),
        new UnsafeBuffer(ByteBuffer.allocateDirect(CAPACITY * CountersReader.COUNTER_LENGTH)));

    /**
     * @param label what it counts (shown by {@link CountersReader#forEach}).
     * @return a new counter at 0.
     */
    public AtomicCounter newCounter(final String label) {
        return manager.newCounter(label);
    }

    /**
     * @return every counter, for a reader on another thread.
     */
    public CountersReader reader() {
        return manager;
    }
}
