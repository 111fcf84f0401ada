package io.cairn.consensus;

import io.cairn.engine.check.Check;
import org.agrona.BufferUtil;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Encoded messages waiting to be sent: one pre-sized off-heap buffer plus, per message, its destination, offset and
 * length. Messages are written in place ({@link #claim} then {@link #commit}), so queuing one allocates nothing.
 * When the buffer or the message slots are full a claim fails; the core counts it and treats the message as lost,
 * which Raft tolerates (it retries on its own timers).
 */
public final class Outbox {
    private final UnsafeBuffer buffer;
    private final int[] destinations;
    private final int[] offsets;
    private final int[] lengths;
    private int count;
    private int position;
    private int claimedDestination;
    private int claimedOffset = -1;
    private int claimedLengthMax;

    /**
     * @param bytes       capacity in bytes.
     * @param messagesMax capacity in messages.
     */
    public Outbox(final int bytes, final int messagesMax) {
        buffer = new UnsafeBuffer(BufferUtil.allocateDirectAligned(bytes, 64));
        destinations = new int[messagesMax];
        offsets = new int[messagesMax];
        lengths = new int[messagesMax];
    }

    /**
     * Reserves room for one message.
     *
     * @param destination receiver's node id.
     * @param lengthMax   the most bytes the message may take.
     * @return the offset to encode at in {@link #buffer()}, or -1 when full.
     */
    public int claim(final int destination, final int lengthMax) {
        Check.state(claimedOffset < 0, "outbox claim already open");
        if (count == destinations.length || lengthMax > buffer.capacity() - position) {
            return -1;
        }
        claimedDestination = destination;
        claimedOffset = position;
        claimedLengthMax = lengthMax;
        return position;
    }

    /**
     * Completes the open claim.
     *
     * @param length bytes actually written, at most the claimed maximum.
     */
    public void commit(final int length) {
        Check.state(claimedOffset >= 0 && length > 0 && length <= claimedLengthMax, "outbox commit", length,
            claimedLengthMax);
        destinations[count] = claimedDestination;
        offsets[count] = claimedOffset;
        lengths[count] = length;
        count++;
        position = claimedOffset + length;
        claimedOffset = -1;
    }

    /**
     * Abandons the open claim.
     */
    public void abort() {
        claimedOffset = -1;
    }

    /**
     * Copies every message of another outbox to the end of this one (those that do not fit are dropped).
     *
     * @param other the source; left as it was.
     * @return messages dropped for lack of room.
     */
    public int appendAll(final Outbox other) {
        int dropped = 0;
        for (int i = 0; i < other.count; i++) {
            final int length = other.lengths[i];
            final int offset = claim(other.destinations[i], length);
            if (offset < 0) {
                dropped++;
                continue;
            }
            buffer.putBytes(offset, other.buffer, other.offsets[i], length);
            commit(length);
        }
        return dropped;
    }

    /**
     * Empties the outbox, keeping its memory.
     */
    public void clear() {
        count = 0;
        position = 0;
        claimedOffset = -1;
    }

    /**
     * @return messages queued.
     */
    public int count() {
        return count;
    }

    /**
     * @param message in {@code [0, count())}.
     * @return its receiver's node id.
     */
    public int destination(final int message) {
        return destinations[message];
    }

    /**
     * @param message in {@code [0, count())}.
     * @return where it starts in {@link #buffer()}.
     */
    public int offset(final int message) {
        return offsets[message];
    }

    /**
     * @param message in {@code [0, count())}.
     * @return its length.
     */
    public int length(final int message) {
        return lengths[message];
    }

    /**
     * @return the bytes of every queued message (for reading).
     */
    public DirectBuffer buffer() {
        return buffer;
    }

    MutableDirectBuffer mutableBuffer() {
        return buffer;
    }
}
