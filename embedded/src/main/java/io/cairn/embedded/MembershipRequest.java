package io.cairn.embedded;

import io.cairn.embedded.cluster.MemberAttributes;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.ByteOrder;
import java.util.List;

/**
 * A membership call as the leader carries it out ({@link ClusterClient}), and as a follower relays it there inside Raft
 * ({@link MembershipRelay}): the operation, the member, and the names and URLs it concerns. Encoded as the operation,
 * the learner flag, the member ID (little-endian) and {@link MemberAttributes}' encoding (cluster ID 0).
 *
 * @param op         {@link #ADD}, {@link #REMOVE}, {@link #UPDATE}, {@link #PROMOTE}, {@link #PUBLISH} or
 *                   {@link #MOVE_LEADER}.
 * @param memberId   the member concerned (for ADD, the ID its first peer URL gives).
 * @param learner    ADD: as a learner.
 * @param name       PUBLISH: the member's name.
 * @param peerUrls   ADD, UPDATE: the peer URLs.
 * @param clientUrls PUBLISH: the client URLs.
 */
record MembershipRequest(byte op, long memberId, boolean learner, String name, List<String> peerUrls,
    List<String> clientUrls) {
    static final byte ADD = 1;
    static final byte REMOVE = 2;
    static final byte UPDATE = 3;
    static final byte PROMOTE = 4;
    static final byte PUBLISH = 5;
    static final byte MOVE_LEADER = 6;
    private static final int HEADER = 2 + Long.BYTES;

    /**
     * @param op       REMOVE, PROMOTE or MOVE_LEADER.
     * @param memberId the member.
     * @return the request.
     */
    static MembershipRequest of(final byte op, final long memberId) {
        return new MembershipRequest(op, memberId, false, "", List.of(), List.of());
    }

    /**
     * @return the encoded request.
     */
    byte[] encode() {
        final byte[] attributes = new MemberAttributes(0, 0, name, peerUrls, clientUrls).encode();
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[HEADER + attributes.length]);
        buffer.putByte(0, op);
        buffer.putByte(1, (byte)(learner ? 1 : 0));
        buffer.putLong(2, memberId, ByteOrder.LITTLE_ENDIAN);
        buffer.putBytes(HEADER, attributes);
        return buffer.byteArray();
    }

    /**
     * @param buffer where it is.
     * @param offset where it starts.
     * @param length its length.
     * @return the request, or null when the bytes are not one.
     */
    static MembershipRequest decode(final DirectBuffer buffer, final int offset, final int length) {
        if (length < HEADER) {
            return null;
        }
        final byte op = buffer.getByte(offset);
        final byte learner = buffer.getByte(offset + 1);
        final MemberAttributes attributes = MemberAttributes.decode(buffer, offset + HEADER, length - HEADER);
        if (op < ADD || op > MOVE_LEADER || learner < 0 || learner > 1 || attributes == null) {
            return null;
        }
        return new MembershipRequest(op, buffer.getLong(offset + 2, ByteOrder.LITTLE_ENDIAN), learner == 1,
            attributes.name(), attributes.peerUrls(), attributes.clientUrls());
    }
}
