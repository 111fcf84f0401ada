package io.cairn.embedded;

import io.cairn.consensus.RaftCore;
import io.cairn.consensus.loop.RaftRequests;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.ByteOrder;

/**
 * The answer a node's pool worked out for a request a peer relayed to this member (a membership change, a corruption
 * check), handed to the loop as a local request, since only the loop may send: {@link #offer} on the pool,
 * {@link #send} on the loop. Layout: the peer (int), the code (int), two values (longs), as
 * {@code RaftCore.answerLocal} carries them.
 */
final class RelayAnswer {
    private static final int BYTES = 2 * Integer.BYTES + 2 * Long.BYTES;

    private RelayAnswer() {
    }

    /**
     * On the pool: offers the answer to the loop (a full ring drops it: the asker's timeout decides).
     *
     * @param loop      the loop's request ring, or null before the member is built.
     * @param requestId the relayed request's ID.
     * @param type      the duty's local type for answers.
     * @param to        the peer that asked.
     * @param code      the answer's code.
     * @param value     its first value.
     * @param second    its second value.
     */
    static void offer(final RaftRequests loop, final long requestId, final byte type, final int to, final int code,
        final long value, final long second) {
        final UnsafeBuffer payload = new UnsafeBuffer(new byte[BYTES]);
        payload.putInt(0, to, ByteOrder.LITTLE_ENDIAN);
        payload.putInt(Integer.BYTES, code, ByteOrder.LITTLE_ENDIAN);
        payload.putLong(2 * Integer.BYTES, value, ByteOrder.LITTLE_ENDIAN);
        payload.putLong(2 * Integer.BYTES + Long.BYTES, second, ByteOrder.LITTLE_ENDIAN);
        if (loop != null) {
            loop.offerLocal(requestId, type, payload, 0, BYTES);
        }
    }

    /**
     * On the loop: sends an offered answer to its peer.
     *
     * @param core      the core.
     * @param requestId the relayed request's ID.
     * @param buffer    the offered payload.
     * @param offset    where it starts.
     */
    static void send(final RaftCore core, final long requestId, final DirectBuffer buffer, final int offset) {
        core.answerLocal(buffer.getInt(offset, ByteOrder.LITTLE_ENDIAN), requestId,
            buffer.getInt(offset + Integer.BYTES, ByteOrder.LITTLE_ENDIAN),
            buffer.getLong(offset + 2 * Integer.BYTES, ByteOrder.LITTLE_ENDIAN),
            buffer.getLong(offset + 2 * Integer.BYTES + Long.BYTES, ByteOrder.LITTLE_ENDIAN));
    }
}
