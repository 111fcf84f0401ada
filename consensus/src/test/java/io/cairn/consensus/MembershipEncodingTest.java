package io.cairn.consensus;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import java.nio.ByteOrder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: a configuration survives its encoding (CONFIG entries, snapshot chunks) and a damaged encoding is refused,
 * never half-applied. Method: round trips, then encodings with a zero id, a duplicate, too many members and a wrong
 * length.
 */
class MembershipEncodingTest {
    @Test
    void shouldRoundTripVotersAndLearners() {
        final Membership membership = Membership.ofVoters(1, 2, 3);
        assertTrue(membership.addLearner(9));
        final Membership decoded = roundTrip(membership, new UnsafeBuffer(new byte[Membership.ENCODED_LENGTH_MAX]));
        assertEquals(2, decoded.quorum());
        assertTrue(decoded.promote(9));
        assertEquals(3, decoded.quorum());
    }

    @Test
    void shouldRefuseDamagedEncodingAndStayEmpty() {
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[64]);
        final Membership membership = Membership.ofVoters(1, 2);
        final int length = membership.encode(buffer, 0);
        final Membership decoded = new Membership();
        assertFalse(decoded.decode(buffer, 0, length - 1), "short");
        assertFalse(decoded.decode(buffer, 0, length + 4), "long");
        buffer.putInt(Membership.HEADER_LENGTH + 4, 1, ByteOrder.LITTLE_ENDIAN);
        assertFalse(decoded.decode(buffer, 0, length), "duplicate id");
        buffer.putInt(Membership.HEADER_LENGTH + 4, 0, ByteOrder.LITTLE_ENDIAN);
        assertFalse(decoded.decode(buffer, 0, length), "zero id");
        buffer.putShort(0, (short)(Membership.MEMBERS_MAX + 1), ByteOrder.LITTLE_ENDIAN);
        assertFalse(decoded.decode(buffer, 0, 64), "too many members");
        assertEquals(0, decoded.memberCount());
    }

    @Test
    void shouldCarryAttributesThroughPromotionRemovalAndEncoding() {
        final Membership membership = Membership.ofVoters(1, 2, 3);
        assertTrue(membership.addLearner(9));
        final UnsafeBuffer attributes = new UnsafeBuffer(new byte[Membership.ATTRIBUTES_BYTES_MAX + 1]);
        attributes.putStringWithoutLengthAscii(0, "one");
        assertTrue(membership.setAttributes(1, attributes, 0, 3));
        attributes.putStringWithoutLengthAscii(0, "learner-nine");
        assertTrue(membership.setAttributes(9, attributes, 0, 12));
        assertFalse(membership.setAttributes(4, attributes, 0, 3), "not a member");
        assertFalse(membership.setAttributes(2, attributes, 0, Membership.ATTRIBUTES_BYTES_MAX + 1), "too long");

        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[Membership.ENCODED_LENGTH_MAX]);
        final Membership decoded = roundTrip(membership, buffer);
        final int length = membership.encodedLength();
        assertEquals("learner-nine", attributesOf(decoded, 9));
        assertEquals("one", attributesOf(decoded, 1));
        assertEquals(0, decoded.attributesLength(2));

        assertTrue(decoded.remove(1));
        assertTrue(decoded.promote(9));
        assertEquals("learner-nine", attributesOf(decoded, 9), "attributes move with a promotion");
        assertEquals(0, decoded.attributesLength(3), "a removal shifts no attributes onto others");
        assertFalse(decoded.sameAs(membership));

        buffer.putByte(length - 1, (byte)'X');
        final Membership changed = new Membership();
        assertTrue(changed.decode(buffer, 0, length));
        assertFalse(changed.sameAs(membership), "attributes take part in equality");
        assertFalse(changed.decode(buffer, 0, length - 1), "an attribute cut short");
        assertFalse(changed.decode(buffer, 0, length + 2), "bytes after the last attribute");
    }

    @Test
    void shouldEncodeWithoutAttributesAsBefore() {
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[64]);
        assertEquals(Membership.HEADER_LENGTH + 3 * Integer.BYTES, Membership.ofVoters(1, 2, 3).encode(buffer, 0));
        assertEquals(0, buffer.getShort(2, ByteOrder.LITTLE_ENDIAN), "no flag, no learners");
    }

    /** Encodes into {@code buffer}, checks the length, decodes, and checks the copy is the same configuration. */
    private static Membership roundTrip(final Membership membership, final UnsafeBuffer buffer) {
        final int length = membership.encode(buffer, 0);
        assertEquals(membership.encodedLength(), length);
        final Membership decoded = new Membership();
        assertTrue(decoded.decode(buffer, 0, length));
        assertTrue(decoded.sameAs(membership));
        return decoded;
    }

    private static String attributesOf(final Membership membership, final int id) {
        final UnsafeBuffer out = new UnsafeBuffer(new byte[Membership.ATTRIBUTES_BYTES_MAX]);
        final int length = membership.attributes(id, out, 0);
        return out.getStringWithoutLengthAscii(0, length);
    }
}
