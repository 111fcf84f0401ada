package io.cairn.engine.wal;

import io.cairn.engine.check.Check;
import org.agrona.DirectBuffer;
import org.agrona.ExpandableDirectByteBuffer;

/**
 * Entries staged for one {@link Wal#append(WalBatch)}: framed and checksummed here, off-heap, so the WAL only copies
 * them into the mapped file. Reused across batches: {@link #reset()} keeps the memory, so a steady loop allocates
 * nothing once the buffer has grown to its working size.
 */
public final class WalBatch {
    private final ExpandableDirectByteBuffer buffer;
    private int length;
    private int entryCount;
    private long firstIndex;
    private long lastIndex;
    private long lastTerm;

    /**
     * @param initialBytes initial capacity; grows on demand.
     */
    public WalBatch(final int initialBytes) {
        buffer = new ExpandableDirectByteBuffer(Math.max(initialBytes, WalRecord.HEADER_LENGTH * 2));
    }

    /**
     * Empties the batch, keeping its memory.
     */
    public void reset() {
        length = 0;
        entryCount = 0;
        firstIndex = 0;
        lastIndex = 0;
        lastTerm = 0;
    }

    /**
     * Stages one entry. Indexes must be consecutive and terms must not decrease.
     *
     * @param index         Raft index.
     * @param term          Raft term.
     * @param type          entry type (the caller's own codes).
     * @param payload       bytes of the entry.
     * @param payloadOffset where they start.
     * @param payloadLength how many.
     */
    public void add(
        final long index,
        final long term,
        final byte type,
        final DirectBuffer payload,
        final int payloadOffset,
        final int payloadLength) {
        Check.state(index > 0 && term > 0, "index and term must be positive", index, term);
        if (entryCount == 0) {
            firstIndex = index;
        } else {
            Check.state(index == lastIndex + 1, "batch indexes must be consecutive", lastIndex, index);
            Check.state(term >= lastTerm, "batch terms must not decrease", lastTerm, term);
        }
        buffer.checkLimit(length + WalRecord.HEADER_LENGTH + payloadLength);
        length += WalRecord.encode(
            buffer, length, WalRecord.KIND_ENTRY, type, index, term, payload, payloadOffset, payloadLength);
        entryCount++;
        lastIndex = index;
        lastTerm = term;
    }

    /**
     * @return entries staged.
     */
    public int entryCount() {
        return entryCount;
    }

    /**
     * @return index of the first staged entry (when not empty).
     */
    public long firstIndex() {
        return firstIndex;
    }

    /**
     * @return index of the last staged entry (when not empty).
     */
    public long lastIndex() {
        return lastIndex;
    }

    /**
     * @return term of the last staged entry (when not empty).
     */
    public long lastTerm() {
        return lastTerm;
    }

    /**
     * @return staged bytes, framing included.
     */
    public int length() {
        return length;
    }

    /**
     * The staged records for another {@link Wal} implementation (an in-memory one in a simulator) to take over.
     *
     * @return {@link #length()} bytes of framed records ({@link WalRecord} layout), valid until {@link #reset()}.
     */
    public DirectBuffer buffer() {
        return buffer;
    }
}
