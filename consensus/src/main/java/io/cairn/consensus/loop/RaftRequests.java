package io.cairn.consensus.loop;

import org.agrona.DirectBuffer;
import org.agrona.concurrent.AtomicBuffer;
import org.agrona.concurrent.ringbuffer.ManyToOneRingBuffer;
import org.agrona.concurrent.ringbuffer.RingBuffer;
import org.agrona.concurrent.ringbuffer.RingBufferDescriptor;

import java.nio.ByteOrder;

/**
 * The way in to the event loop from any thread: proposals and read requests written into one Agrona
 * {@link ManyToOneRingBuffer}, claimed and filled in place (no allocation, no lock). The loop drains them in
 * batches. A full ring is a return value, never a wait.
 *
 * <pre>
 *   PROPOSE (msgTypeId 1):  0 correlationId int64 | 8 entry type int8 | 9 payload ...
 *   READ    (msgTypeId 2):  0 correlationId int64
 *   MEMBERSHIP (5):         0 correlationId int64 | 8 change int8 | 9 member ID int32 | 13 attributes ...
 * </pre>
 */
public final class RaftRequests {
    /** Ring message type of a proposal. */
    public static final int PROPOSE = 1;
    /** Ring message type of a linearizable read. */
    public static final int READ = 2;
    /** Ring message type of a request for the application's {@link LoopDuty}. */
    public static final int LOCAL = 3;
    /** Ring message type of a leadership transfer request (payload: the target's ID as an int). */
    public static final int TRANSFER = 4;
    /** Ring message type of a membership change (type: the change; payload: member ID int32, attributes...). */
    public static final int MEMBERSHIP = 5;
    static final int CORRELATION_OFFSET = 0;
    static final int TYPE_OFFSET = 8;
    static final int PAYLOAD_OFFSET = 9;

    private final ManyToOneRingBuffer ring;
    // Wakes the loop after each offer (its idle strategy's wake-up): set once by the agent before producers start.
    private volatile Runnable waker = () -> { };

    /**
     * @param buffer the ring's memory: a power of two plus {@link RingBufferDescriptor#TRAILER_LENGTH}.
     */
    public RaftRequests(final AtomicBuffer buffer) {
        this.ring = new ManyToOneRingBuffer(buffer);
    }

    /**
     * @param waker called after every offer, so that a sleeping loop takes the request at once.
     */
    void wakeWith(final Runnable waker) {
        this.waker = waker;
    }

    /**
     * @param capacity data bytes, a power of two.
     * @return the buffer length a ring of that capacity needs.
     */
    public static int bufferLength(final int capacity) {
        return capacity + RingBufferDescriptor.TRAILER_LENGTH;
    }

    /**
     * @return the longest payload {@link #offerProposal} takes (an eighth of the ring).
     */
    public int payloadLengthMax() {
        return ring.maxMsgLength() - PAYLOAD_OFFSET;
    }

    /**
     * Offers a proposal; thread-safe.
     *
     * @param correlationId the caller's id, echoed in the completion.
     * @param type          an application entry type.
     * @param payload       the command bytes (copied).
     * @param offset        where they start.
     * @param length        how many.
     * @return false if the ring is full (retry later).
     */
    public boolean offerProposal(final long correlationId, final byte type, final DirectBuffer payload,
        final int offset, final int length) {
        return offer(PROPOSE, correlationId, type, payload, offset, length);
    }

    /**
     * Offers a request for the application's {@link LoopDuty} (run on the loop's thread); thread-safe.
     *
     * @param correlationId the caller's id.
     * @param type          the application's request type.
     * @param payload       the request bytes (copied).
     * @param offset        where they start.
     * @param length        how many.
     * @return false if the ring is full (retry later).
     */
    public boolean offerLocal(final long correlationId, final byte type, final DirectBuffer payload,
        final int offset, final int length) {
        return offer(LOCAL, correlationId, type, payload, offset, length);
    }

    /**
     * Offers a membership change to the leader's core ({@code RaftCore.proposeMembership}); thread-safe. The
     * completion comes when the CONFIG entry is applied ({@link RaftListener#COMMITTED}) or with the refusal code.
     *
     * @param correlationId the caller's id.
     * @param change        a {@code MembershipChange} constant.
     * @param memberId      the member concerned.
     * @param attributes    its new attributes, or null (or empty) to keep those it has.
     * @param offset        where they start.
     * @param length        how many.
     * @return false if the ring is full (retry later).
     */
    public boolean offerMembership(final long correlationId, final int change, final int memberId,
        final DirectBuffer attributes, final int offset, final int length) {
        final int size = attributes == null ? 0 : length;
        final int index = ring.tryClaim(MEMBERSHIP, PAYLOAD_OFFSET + Integer.BYTES + size);
        if (index <= 0) {
            return false;
        }
        final AtomicBuffer buffer = ring.buffer();
        buffer.putLong(index + CORRELATION_OFFSET, correlationId, ByteOrder.LITTLE_ENDIAN);
        buffer.putByte(index + TYPE_OFFSET, (byte)change);
        buffer.putInt(index + PAYLOAD_OFFSET, memberId, ByteOrder.LITTLE_ENDIAN);
        if (size > 0) {
            buffer.putBytes(index + PAYLOAD_OFFSET + Integer.BYTES, attributes, offset, size);
        }
        ring.commit(index);
        waker.run();
        return true;
    }

    private boolean offer(final int messageType, final long correlationId, final byte type,
        final DirectBuffer payload, final int offset, final int length) {
        final int index = ring.tryClaim(messageType, PAYLOAD_OFFSET + length);
        if (index <= 0) {
            return false;
        }
        final AtomicBuffer buffer = ring.buffer();
        buffer.putLong(index + CORRELATION_OFFSET, correlationId, ByteOrder.LITTLE_ENDIAN);
        buffer.putByte(index + TYPE_OFFSET, type);
        buffer.putBytes(index + PAYLOAD_OFFSET, payload, offset, length);
        ring.commit(index);
        waker.run();
        return true;
    }

    /**
     * Asks the leader to hand leadership to {@code target} (thesis §3.10); thread-safe. The completion
     * ({@link RaftListener#onProposalComplete}) says whether the transfer started ({@link RaftListener#COMMITTED})
     * or why not (a {@code RaftResult} code); watch the role changes for its end.
     *
     * @param correlationId the caller's id.
     * @param target        the voter to lead.
     * @return false if the ring is full (retry later).
     */
    public boolean offerTransfer(final long correlationId, final int target) {
        final int index = ring.tryClaim(TRANSFER, PAYLOAD_OFFSET + Integer.BYTES);
        if (index <= 0) {
            return false;
        }
        final AtomicBuffer buffer = ring.buffer();
        buffer.putLong(index + CORRELATION_OFFSET, correlationId, ByteOrder.LITTLE_ENDIAN);
        buffer.putInt(index + PAYLOAD_OFFSET, target, ByteOrder.LITTLE_ENDIAN);
        ring.commit(index);
        waker.run();
        return true;
    }

    /**
     * Offers a linearizable read; thread-safe.
     *
     * @param correlationId the caller's id, echoed in the completion.
     * @return false if the ring is full (retry later).
     */
    public boolean offerRead(final long correlationId) {
        final int index = ring.tryClaim(READ, Long.BYTES);
        if (index <= 0) {
            return false;
        }
        ring.buffer().putLong(index + CORRELATION_OFFSET, correlationId, ByteOrder.LITTLE_ENDIAN);
        ring.commit(index);
        waker.run();
        return true;
    }

    RingBuffer ring() {
        return ring;
    }
}
