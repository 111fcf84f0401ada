package io.cairn.transport.aeron;

import org.agrona.DirectBuffer;

/**
 * Receives a peer message that passed the frame checks; the buffer is a view valid during the call.
 */
@FunctionalInterface
public interface PeerMessageHandler {
    /**
     * @param senderId the node that sent it.
     * @param buffer   holds the message (consensus's encoding).
     * @param offset   where it starts.
     * @param length   its length.
     */
    void onMessage(int senderId, DirectBuffer buffer, int offset, int length);
}
