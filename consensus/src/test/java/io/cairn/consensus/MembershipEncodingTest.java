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
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[Membership.ENCODED_LENGTH_MAX]);
        final int length = membership.encode(buffer, 0);
        assertEquals(membership.encodedLength(), length);
        final Membership decoded = new Membership();
        assertTrue(decoded.decode(buffer, 0, length));
        assertTrue(decoded.sameAs(membership));
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
}
