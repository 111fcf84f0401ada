package io.cairn.consensus.loop;

import io.cairn.consensus.Transport;
import io.cairn.engine.check.Check;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.ringbuffer.ManyToOneRingBuffer;
import org.agrona.concurrent.ringbuffer.RingBufferDescriptor;

import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * An in-process {@link Transport} for members running in one JVM (tests, embedding experiments): each member has an
 * inbox, a {@link ManyToOneRingBuffer} that any member's thread may write to; the message's sender travels as the
 * ring's message type. Links can be cut and restored to simulate partitions (a cut link loses messages silently, as
 * a network would). Thread-safe; allocation-free once built.
 */
public final class InMemoryNetwork {
    private final ManyToOneRingBuffer[] inboxes;
    // linkDown[from * stride + to] == 1: messages from -> to are lost.
    private final AtomicIntegerArray linkDown;
    private final int stride;

    /**
     * @param nodeIdMax     highest node id that will take part (ids are 1 .. nodeIdMax).
     * @param inboxCapacity bytes of each inbox, a power of two.
     */
    public InMemoryNetwork(final int nodeIdMax, final int inboxCapacity) {
        Check.state(nodeIdMax > 0 && Integer.bitCount(inboxCapacity) == 1, "network size", nodeIdMax, inboxCapacity);
        inboxes = new ManyToOneRingBuffer[nodeIdMax + 1];
        for (int id = 1; id <= nodeIdMax; id++) {
            inboxes[id] = new ManyToOneRingBuffer(new UnsafeBuffer(
                ByteBuffer.allocateDirect(inboxCapacity + RingBufferDescriptor.TRAILER_LENGTH)));
        }
        stride = nodeIdMax + 1;
        linkDown = new AtomicIntegerArray(stride * stride);
    }

    /**
     * @param nodeId a member.
     * @return its endpoint (one per member; poll it from that member's thread only).
     */
    public Transport transport(final int nodeId) {
        return new Endpoint(nodeId);
    }

    /**
     * Cuts both directions between two members.
     */
    public void disconnect(final int first, final int second) {
        linkDown.set(first * stride + second, 1);
        linkDown.set(second * stride + first, 1);
    }

    /**
     * Cuts a member off from every other.
     */
    public void isolate(final int nodeId) {
        for (int other = 1; other < stride; other++) {
            if (other != nodeId) {
                disconnect(nodeId, other);
            }
        }
    }

    /**
     * Restores every link.
     */
    public void heal() {
        for (int i = 0; i < linkDown.length(); i++) {
            linkDown.set(i, 0);
        }
    }

    private final class Endpoint implements Transport {
        private final int nodeId;
        // Inside a Transport, MessageHandler names Transport's; the ring's handler is Agrona's.
        private final org.agrona.concurrent.MessageHandler adapter = this::onInboxMessage;
        private Transport.MessageHandler handler;

        Endpoint(final int nodeId) {
            this.nodeId = nodeId;
        }

        @Override
        public int send(final int to, final DirectBuffer buffer, final int offset, final int length) {
            if (to <= 0 || to >= inboxes.length) {
                return NOT_CONNECTED;
            }
            if (linkDown.get(nodeId * stride + to) != 0) {
                return SENT;
            }
            return inboxes[to].write(nodeId, buffer, offset, length) ? SENT : BACK_PRESSURED;
        }

        @Override
        public int poll(final Transport.MessageHandler handler, final int fragmentLimit) {
            this.handler = handler;
            return inboxes[nodeId].read(adapter, fragmentLimit);
        }

        private void onInboxMessage(final int from, final MutableDirectBuffer buffer, final int index,
            final int length) {
            if (linkDown.get(from * stride + nodeId) == 0) {
                handler.onMessage(buffer, index, length);
            }
        }
    }
}
