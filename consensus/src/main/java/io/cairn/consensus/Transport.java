package io.cairn.consensus;

import org.agrona.DirectBuffer;
import org.agrona.concurrent.IdleStrategy;

/**
 * How a member exchanges Raft messages with its peers: the encoded bytes of {@link RaftMessage}, whole. The transport
 * adds its own framing and checksum, fragments and reassembles large messages, and drops (and counts) damaged
 * frames. Neither method blocks; both are called from the event loop's thread only.
 */
public interface Transport {
    /** The message was handed to the transport. */
    int SENT = 0;
    /** The peer's stream is full right now; the message was not taken (the caller drops it: Raft retries). */
    int BACK_PRESSURED = 1;
    /** No connection to that peer (unknown, down or still connecting); the message was not taken. */
    int NOT_CONNECTED = 2;

    /**
     * Offers one message to a peer.
     *
     * @param nodeId receiver.
     * @param buffer the message bytes.
     * @param offset where they start.
     * @param length how many.
     * @return {@link #SENT}, {@link #BACK_PRESSURED} or {@link #NOT_CONNECTED}.
     */
    int send(int nodeId, DirectBuffer buffer, int offset, int length);

    /**
     * Hands received messages to {@code handler}, at most {@code fragmentLimit} of them.
     *
     * @param handler       receives each whole message (a view, valid during the call).
     * @param fragmentLimit most messages to hand over.
     * @return messages handed over.
     */
    int poll(MessageHandler handler, int fragmentLimit);

    /**
     * Puts what {@link #send} queued onto the network now, for a transport whose I/O runs on the loop's own thread
     * (the embedded Aeron driver): the loop flushes before it blocks on a WAL sync, so that followers receive the
     * leader's appends while it syncs (thesis §10.2.1), and at the end of every cycle.
     *
     * @return work done (zero when there was nothing to do).
     */
    default int flush() {
        return 0;
    }

    /**
     * @return how the loop should sleep while no message has arrived and nothing else is to be done: an idle strategy
     *     that blocks until this transport has input (and can be woken by other threads), or null when it has none
     *     (the loop then parks).
     */
    default IdleStrategy idleStrategy() {
        return null;
    }

    /**
     * Receives whole peer messages.
     */
    @FunctionalInterface
    interface MessageHandler {
        /**
         * @param buffer the message bytes (valid during this call only).
         * @param offset where they start.
         * @param length how many.
         */
        void onMessage(DirectBuffer buffer, int offset, int length);
    }
}
