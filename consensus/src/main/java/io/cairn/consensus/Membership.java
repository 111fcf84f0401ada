package io.cairn.consensus;

import io.cairn.engine.check.Check;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A cluster configuration: its voters and its learners (thesis §4, §4.2.1), and for each member an opaque
 * attribute blob the application gives it (a server keeps names and URLs there, so they are replicated with the
 * configuration they belong to, atomically, and travel in snapshots). Mutable and reused so that holding one costs
 * no allocation once its attribute space exists; node ids are unique, non-zero ints.
 *
 * <p>Encoded as the payload of {@link EntryType#CONFIG} entries and in snapshot chunks:
 * <pre>
 *   0            2               4
 *   +------------+---------------+------------------+-------------------+--------------------------------+
 *   | voterCount | learnerCount  | voters int32 ... | learners int32 ...| attributes (if flagged): per   |
 *   | int16      | int16 | flag  |                  |                   | member int16 length, bytes ... |
 *   +------------+---------------+------------------+-------------------+--------------------------------+
 *   little-endian; the flag is learnerCount's bit 14, set only when some member has attributes, so a
 *   configuration without any encodes as before attributes existed.
 * </pre>
 */
public final class Membership {
    /** Most members (voters plus learners) in a configuration. */
    public static final int MEMBERS_MAX = 16;
    /** Bytes of the encoded form's header. */
    public static final int HEADER_LENGTH = 4;
    /** Longest attribute blob of one member. */
    public static final int ATTRIBUTES_BYTES_MAX = 1024;
    /** Longest encoded form. */
    public static final int ENCODED_LENGTH_MAX = HEADER_LENGTH
        + MEMBERS_MAX * (Integer.BYTES + Short.BYTES + ATTRIBUTES_BYTES_MAX);
    private static final int ATTRIBUTES_FLAG = 1 << 14;

    // Invariant: voters and learners are disjoint, hold no 0 and no duplicates; voterCount + learnerCount <= MAX.
    private final int[] voters = new int[MEMBERS_MAX];
    private final int[] learners = new int[MEMBERS_MAX];
    private final int[] voterAttributeLengths = new int[MEMBERS_MAX];
    private final int[] learnerAttributeLengths = new int[MEMBERS_MAX];
    private byte[] voterAttributes; // MEMBERS_MAX slots of ATTRIBUTES_BYTES_MAX, made when first needed
    private byte[] learnerAttributes;
    private int voterCount;
    private int learnerCount;

    /**
     * @param voterIds initial voters.
     * @return a new configuration of those voters and no learners.
     */
    public static Membership ofVoters(final int... voterIds) {
        final Membership membership = new Membership();
        for (final int id : voterIds) {
            Check.state(membership.addVoter(id), "invalid or duplicate voter", id);
        }
        return membership;
    }

    /**
     * @return number of voters.
     */
    public int voterCount() {
        return voterCount;
    }

    /**
     * @param position in {@code [0, voterCount())}.
     * @return that voter's id.
     */
    public int voter(final int position) {
        return voters[position];
    }

    /**
     * @return number of learners.
     */
    public int learnerCount() {
        return learnerCount;
    }

    /**
     * @param position in {@code [0, learnerCount())}.
     * @return that learner's id.
     */
    public int learner(final int position) {
        return learners[position];
    }

    /**
     * @return voters plus learners.
     */
    public int memberCount() {
        return voterCount + learnerCount;
    }

    /**
     * @param position in {@code [0, memberCount())}: voters first, then learners.
     * @return that member's id.
     */
    public int member(final int position) {
        return position < voterCount ? voters[position] : learners[position - voterCount];
    }

    /**
     * @return votes needed for a majority of the voters (§5.2).
     */
    public int quorum() {
        return voterCount / 2 + 1;
    }

    /**
     * @param nodeId a node id.
     * @return true if it votes in this configuration.
     */
    public boolean isVoter(final int nodeId) {
        return indexOf(voters, voterCount, nodeId) >= 0;
    }

    /**
     * @param nodeId a node id.
     * @return true if it is a learner in this configuration.
     */
    public boolean isLearner(final int nodeId) {
        return indexOf(learners, learnerCount, nodeId) >= 0;
    }

    /**
     * @param nodeId a node id.
     * @return true if it is a voter or a learner.
     */
    public boolean contains(final int nodeId) {
        return isVoter(nodeId) || isLearner(nodeId);
    }

    /**
     * @param nodeId a node that is not a member yet.
     * @return false if the id is 0, already a member, or the configuration is full.
     */
    public boolean addVoter(final int nodeId) {
        if (nodeId == 0 || contains(nodeId) || memberCount() >= MEMBERS_MAX) {
            return false;
        }
        voterAttributeLengths[voterCount] = 0;
        voters[voterCount++] = nodeId;
        return true;
    }

    /**
     * @param nodeId a node that is not a member yet.
     * @return false if the id is 0, already a member, or the configuration is full.
     */
    public boolean addLearner(final int nodeId) {
        if (nodeId == 0 || contains(nodeId) || memberCount() >= MEMBERS_MAX) {
            return false;
        }
        learnerAttributeLengths[learnerCount] = 0;
        learners[learnerCount++] = nodeId;
        return true;
    }

    /**
     * @param nodeId a learner.
     * @return false if it is not a learner.
     */
    public boolean promote(final int nodeId) {
        final int position = indexOf(learners, learnerCount, nodeId);
        if (position < 0) {
            return false;
        }
        final int length = learnerAttributeLengths[position];
        if (length > 0) {
            System.arraycopy(learnerAttributes, position * ATTRIBUTES_BYTES_MAX, voterAttributes(),
                voterCount * ATTRIBUTES_BYTES_MAX, length);
        }
        voterAttributeLengths[voterCount] = length;
        removeAttributesAt(learnerAttributes, learnerAttributeLengths, learnerCount, position);
        learnerCount = removeAt(learners, learnerCount, position);
        voters[voterCount++] = nodeId;
        return true;
    }

    /**
     * @param nodeId a member.
     * @return false if it is not a member.
     */
    public boolean remove(final int nodeId) {
        int position = indexOf(voters, voterCount, nodeId);
        if (position >= 0) {
            removeAttributesAt(voterAttributes, voterAttributeLengths, voterCount, position);
            voterCount = removeAt(voters, voterCount, position);
            return true;
        }
        position = indexOf(learners, learnerCount, nodeId);
        if (position >= 0) {
            removeAttributesAt(learnerAttributes, learnerAttributeLengths, learnerCount, position);
            learnerCount = removeAt(learners, learnerCount, position);
            return true;
        }
        return false;
    }

    /**
     * Replaces a member's attributes.
     *
     * @param nodeId a member.
     * @param buffer the attributes (null or length 0: none).
     * @param offset where they start.
     * @param length how many bytes, at most {@link #ATTRIBUTES_BYTES_MAX}.
     * @return false if it is not a member or the attributes are too long.
     */
    public boolean setAttributes(final int nodeId, final DirectBuffer buffer, final int offset, final int length) {
        if (length < 0 || length > ATTRIBUTES_BYTES_MAX) {
            return false;
        }
        int position = indexOf(voters, voterCount, nodeId);
        if (position >= 0) {
            if (length > 0) {
                buffer.getBytes(offset, voterAttributes(), position * ATTRIBUTES_BYTES_MAX, length);
            }
            voterAttributeLengths[position] = length;
            return true;
        }
        position = indexOf(learners, learnerCount, nodeId);
        if (position >= 0) {
            if (length > 0) {
                buffer.getBytes(offset, learnerAttributes(), position * ATTRIBUTES_BYTES_MAX, length);
            }
            learnerAttributeLengths[position] = length;
            return true;
        }
        return false;
    }

    /**
     * @param nodeId a node id.
     * @return the length of its attributes; 0 if it has none or is not a member.
     */
    public int attributesLength(final int nodeId) {
        int position = indexOf(voters, voterCount, nodeId);
        if (position >= 0) {
            return voterAttributeLengths[position];
        }
        position = indexOf(learners, learnerCount, nodeId);
        return position >= 0 ? learnerAttributeLengths[position] : 0;
    }

    /**
     * Copies a member's attributes out.
     *
     * @param nodeId      a node id.
     * @param destination where to copy them (room for {@link #attributesLength}).
     * @param offset      where in it.
     * @return bytes copied; 0 if it has none or is not a member.
     */
    public int attributes(final int nodeId, final MutableDirectBuffer destination, final int offset) {
        int position = indexOf(voters, voterCount, nodeId);
        if (position >= 0) {
            final int length = voterAttributeLengths[position];
            if (length > 0) {
                destination.putBytes(offset, voterAttributes, position * ATTRIBUTES_BYTES_MAX, length);
            }
            return length;
        }
        position = indexOf(learners, learnerCount, nodeId);
        if (position >= 0) {
            final int length = learnerAttributeLengths[position];
            if (length > 0) {
                destination.putBytes(offset, learnerAttributes, position * ATTRIBUTES_BYTES_MAX, length);
            }
            return length;
        }
        return 0;
    }

    /**
     * Empties the configuration.
     */
    public void clear() {
        voterCount = 0;
        learnerCount = 0;
    }

    /**
     * @param other the configuration to copy.
     */
    public void copyFrom(final Membership other) {
        System.arraycopy(other.voters, 0, voters, 0, other.voterCount);
        System.arraycopy(other.learners, 0, learners, 0, other.learnerCount);
        System.arraycopy(other.voterAttributeLengths, 0, voterAttributeLengths, 0, other.voterCount);
        System.arraycopy(other.learnerAttributeLengths, 0, learnerAttributeLengths, 0, other.learnerCount);
        for (int i = 0; i < other.voterCount; i++) {
            if (other.voterAttributeLengths[i] > 0) {
                System.arraycopy(other.voterAttributes, i * ATTRIBUTES_BYTES_MAX, voterAttributes(),
                    i * ATTRIBUTES_BYTES_MAX, other.voterAttributeLengths[i]);
            }
        }
        for (int i = 0; i < other.learnerCount; i++) {
            if (other.learnerAttributeLengths[i] > 0) {
                System.arraycopy(other.learnerAttributes, i * ATTRIBUTES_BYTES_MAX, learnerAttributes(),
                    i * ATTRIBUTES_BYTES_MAX, other.learnerAttributeLengths[i]);
            }
        }
        voterCount = other.voterCount;
        learnerCount = other.learnerCount;
    }

    /**
     * @return bytes {@link #encode} writes.
     */
    public int encodedLength() {
        int length = HEADER_LENGTH + memberCount() * Integer.BYTES;
        if (hasAttributes()) {
            length += memberCount() * Short.BYTES;
            for (int i = 0; i < voterCount; i++) {
                length += voterAttributeLengths[i];
            }
            for (int i = 0; i < learnerCount; i++) {
                length += learnerAttributeLengths[i];
            }
        }
        return length;
    }

    private boolean hasAttributes() {
        for (int i = 0; i < voterCount; i++) {
            if (voterAttributeLengths[i] > 0) {
                return true;
            }
        }
        for (int i = 0; i < learnerCount; i++) {
            if (learnerAttributeLengths[i] > 0) {
                return true;
            }
        }
        return false;
    }

    /**
     * @param buffer where to write.
     * @param offset where the encoding starts.
     * @return bytes written.
     */
    public int encode(final MutableDirectBuffer buffer, final int offset) {
        final boolean attributes = hasAttributes();
        buffer.putShort(offset, (short)voterCount, ByteOrder.LITTLE_ENDIAN);
        final int learnerField = learnerCount | (attributes ? ATTRIBUTES_FLAG : 0);
        buffer.putShort(offset + 2, (short)learnerField, ByteOrder.LITTLE_ENDIAN);
        int position = offset + HEADER_LENGTH;
        for (int i = 0; i < voterCount; i++, position += Integer.BYTES) {
            buffer.putInt(position, voters[i], ByteOrder.LITTLE_ENDIAN);
        }
        for (int i = 0; i < learnerCount; i++, position += Integer.BYTES) {
            buffer.putInt(position, learners[i], ByteOrder.LITTLE_ENDIAN);
        }
        if (attributes) {
            for (int i = 0; i < voterCount; i++) {
                position = putAttributes(buffer, position, voterAttributes, i, voterAttributeLengths[i]);
            }
            for (int i = 0; i < learnerCount; i++) {
                position = putAttributes(buffer, position, learnerAttributes, i, learnerAttributeLengths[i]);
            }
        }
        return position - offset;
    }

    /**
     * Replaces this configuration with a decoded one; on a malformed encoding this configuration is left empty.
     *
     * @param buffer where to read.
     * @param offset where the encoding starts.
     * @param length bytes available.
     * @return false if the bytes are not a valid configuration.
     */
    public boolean decode(final DirectBuffer buffer, final int offset, final int length) {
        clear();
        if (length < HEADER_LENGTH) {
            return false;
        }
        final int voterTotal = buffer.getShort(offset, ByteOrder.LITTLE_ENDIAN);
        final int learnerField = buffer.getShort(offset + 2, ByteOrder.LITTLE_ENDIAN);
        final boolean attributes = learnerField >= 0 && (learnerField & ATTRIBUTES_FLAG) != 0;
        final int learnerTotal = attributes ? learnerField & ~ATTRIBUTES_FLAG : learnerField;
        final int idsEnd = HEADER_LENGTH + (voterTotal + learnerTotal) * Integer.BYTES;
        if (voterTotal < 0 || learnerTotal < 0 || voterTotal + learnerTotal > MEMBERS_MAX
            || (attributes ? length < idsEnd : length != idsEnd)) {
            return false;
        }
        int position = offset + HEADER_LENGTH;
        for (int i = 0; i < voterTotal; i++, position += Integer.BYTES) {
            if (!addVoter(buffer.getInt(position, ByteOrder.LITTLE_ENDIAN))) {
                clear();
                return false;
            }
        }
        for (int i = 0; i < learnerTotal; i++, position += Integer.BYTES) {
            if (!addLearner(buffer.getInt(position, ByteOrder.LITTLE_ENDIAN))) {
                clear();
                return false;
            }
        }
        if (attributes) {
            final int end = offset + length;
            for (int i = 0; i < voterTotal + learnerTotal; i++) {
                final int size = position + Short.BYTES <= end
                    ? buffer.getShort(position, ByteOrder.LITTLE_ENDIAN) : -1;
                if (size < 0 || size > ATTRIBUTES_BYTES_MAX || position + Short.BYTES + size > end) {
                    clear();
                    return false;
                }
                setAttributes(member(i), buffer, position + Short.BYTES, size);
                position += Short.BYTES + size;
            }
            if (position != end) {
                clear();
                return false;
            }
        }
        return true;
    }

    /**
     * @param other another configuration.
     * @return true if both hold the same voters and learners (order aside).
     */
    public boolean sameAs(final Membership other) {
        if (voterCount != other.voterCount || learnerCount != other.learnerCount) {
            return false;
        }
        for (int i = 0; i < voterCount; i++) {
            if (!other.isVoter(voters[i]) || !sameAttributes(voters[i], voterAttributes, i * ATTRIBUTES_BYTES_MAX,
                voterAttributeLengths[i], other)) {
                return false;
            }
        }
        for (int i = 0; i < learnerCount; i++) {
            if (!other.isLearner(learners[i]) || !sameAttributes(learners[i], learnerAttributes,
                i * ATTRIBUTES_BYTES_MAX, learnerAttributeLengths[i], other)) {
                return false;
            }
        }
        return true;
    }

    private static boolean sameAttributes(final int nodeId, final byte[] data, final int start, final int length,
        final Membership other) {
        if (other.attributesLength(nodeId) != length) {
            return false;
        }
        if (length == 0) {
            return true;
        }
        final int position = other.isVoter(nodeId) ? indexOf(other.voters, other.voterCount, nodeId)
            : indexOf(other.learners, other.learnerCount, nodeId);
        final byte[] otherData = other.isVoter(nodeId) ? other.voterAttributes : other.learnerAttributes;
        return Arrays.equals(data, start, start + length, otherData, position * ATTRIBUTES_BYTES_MAX,
            position * ATTRIBUTES_BYTES_MAX + length);
    }

    private byte[] voterAttributes() {
        if (voterAttributes == null) {
            voterAttributes = new byte[MEMBERS_MAX * ATTRIBUTES_BYTES_MAX];
        }
        return voterAttributes;
    }

    private byte[] learnerAttributes() {
        if (learnerAttributes == null) {
            learnerAttributes = new byte[MEMBERS_MAX * ATTRIBUTES_BYTES_MAX];
        }
        return learnerAttributes;
    }

    private static int putAttributes(final MutableDirectBuffer buffer, final int position, final byte[] data,
        final int slot, final int length) {
        buffer.putShort(position, (short)length, ByteOrder.LITTLE_ENDIAN);
        if (length > 0) {
            buffer.putBytes(position + Short.BYTES, data, slot * ATTRIBUTES_BYTES_MAX, length);
        }
        return position + Short.BYTES + length;
    }

    private static void removeAttributesAt(final byte[] data, final int[] lengths, final int count,
        final int position) {
        for (int i = position; i < count - 1; i++) {
            lengths[i] = lengths[i + 1];
            if (lengths[i] > 0) {
                System.arraycopy(data, (i + 1) * ATTRIBUTES_BYTES_MAX, data, i * ATTRIBUTES_BYTES_MAX, lengths[i]);
            }
        }
    }

    @Override
    public String toString() {
        final StringBuilder text = new StringBuilder("voters=[");
        for (int i = 0; i < voterCount; i++) {
            text.append(i == 0 ? "" : ",").append(voters[i]);
        }
        text.append("] learners=[");
        for (int i = 0; i < learnerCount; i++) {
            text.append(i == 0 ? "" : ",").append(learners[i]);
        }
        return text.append(']').toString();
    }

    private static int indexOf(final int[] ids, final int count, final int nodeId) {
        for (int i = 0; i < count; i++) {
            if (ids[i] == nodeId) {
                return i;
            }
        }
        return -1;
    }

    private static int removeAt(final int[] ids, final int count, final int position) {
        System.arraycopy(ids, position + 1, ids, position, count - position - 1);
        return count - 1;
    }
}
