package io.cairn.embedded;

import org.agrona.DirectBuffer;
import org.agrona.concurrent.ManyToManyConcurrentArrayQueue;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The writes in flight on the zero-allocation path: a fixed table of slots, each reused for one write at a time, so a
 * write registers, completes and times out without allocating. A free slot comes from a lock-free queue of slot
 * objects (offer and poll of existing references allocate nothing); the correlation ID handed to the loop carries the
 * slot's index and a generation, so a late answer for a slot that has moved on is recognised and dropped. Exactly one
 * of the loop's answer, the deadline sweep and a refusal completes a slot: each claims it by swapping its ID to zero.
 */
final class WriteSlots {
    /** Correlation IDs of this table's writes have this bit set; the node's other requests never do. */
    static final long MARK = 1L << 62;
    private static final int INDEX_BITS = 16;
    private static final long INDEX_MASK = (1L << INDEX_BITS) - 1;
    private static final long GENERATION_MASK = (MARK - 1) >>> INDEX_BITS;
    private static final VarHandle ID;

    static {
        try {
            ID = MethodHandles.lookup().findVarHandle(Slot.class, "id", long.class);
        } catch (final ReflectiveOperationException ex) {
            throw new ExceptionInInitializerError(ex);
        }
    }

    /** One write in flight (or none: {@code id == 0}). */
    static final class Slot {
        final int index;
        long generation;
        volatile long id;
        WriteHandler handler;
        long context;
        long deadlineNs;

        Slot(final int index) {
            this.index = index;
        }
    }

    private final Slot[] slots;
    private final ManyToManyConcurrentArrayQueue<Slot> free;
    private final AtomicInteger inFlight = new AtomicInteger();

    /**
     * @param capacity writes in flight at most (at most 65,536).
     */
    WriteSlots(final int capacity) {
        if (capacity < 1 || capacity > INDEX_MASK + 1) {
            throw new IllegalArgumentException("capacity " + capacity);
        }
        this.slots = new Slot[capacity];
        this.free = new ManyToManyConcurrentArrayQueue<>(capacity);
        for (int i = 0; i < capacity; i++) {
            slots[i] = new Slot(i);
            free.offer(slots[i]);
        }
    }

    /**
     * Takes a slot for a write.
     *
     * @param handler    its answer.
     * @param context    the caller's value.
     * @param deadlineNs when it times out ({@link System#nanoTime()}).
     * @return its correlation ID, or 0 when every slot is in use.
     */
    long register(final WriteHandler handler, final long context, final long deadlineNs) {
        final Slot slot = free.poll();
        if (slot == null) {
            return 0;
        }
        slot.generation++;
        slot.handler = handler;
        slot.context = context;
        slot.deadlineNs = deadlineNs;
        final long id = MARK | (slot.generation & GENERATION_MASK) << INDEX_BITS | slot.index;
        inFlight.incrementAndGet();
        slot.id = id; // volatile: publishes the fields above to whichever thread completes it
        return id;
    }

    /**
     * @param correlationId a correlation ID the loop answered.
     * @return whether it is one of this table's (complete it here, even if it is stale).
     */
    static boolean owns(final long correlationId) {
        return (correlationId & MARK) != 0;
    }

    /**
     * Completes a write (the first caller for its ID wins; a stale or repeated ID does nothing).
     *
     * @param correlationId its ID.
     * @param error         null when applied.
     * @param response      the response, or null.
     * @param offset        where it starts.
     * @param length        its length.
     * @return true if this call completed it.
     */
    boolean complete(final long correlationId, final CairnError error, final DirectBuffer response, final int offset,
        final int length) {
        final Slot slot = slots[(int)(correlationId & INDEX_MASK)];
        if (slot.id != correlationId || !ID.compareAndSet(slot, correlationId, 0L)) {
            return false;
        }
        final WriteHandler handler = slot.handler;
        final long context = slot.context;
        slot.handler = null;
        inFlight.decrementAndGet();
        free.offer(slot);
        handler.onWritten(context, error, response, offset, length);
        return true;
    }

    /**
     * @return writes registered and not yet completed.
     */
    int inFlight() {
        return inFlight.get();
    }

    /**
     * Fails every write past its deadline with {@link CairnError#TIMEOUT}.
     *
     * @param nowNs now ({@link System#nanoTime()}).
     * @return writes still in flight.
     */
    int expire(final long nowNs) {
        int inFlight = 0;
        for (final Slot slot : slots) {
            final long id = slot.id;
            if (id == 0) {
                continue;
            }
            if (nowNs - slot.deadlineNs >= 0) {
                complete(id, CairnError.TIMEOUT, null, 0, 0);
            } else {
                inFlight++;
            }
        }
        return inFlight;
    }
}
