package io.cairn.consensus;

import io.cairn.engine.buffer.Check;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

import java.nio.ByteOrder;

/**
 * A cluster configuration: its voters and its learners (thesis §4, §4.2.1). Mutable and reused so that holding one
 * costs no allocation; node ids are unique, non-zero ints.
 *
 * <p>Encoded as the payload of {@link EntryType#CONFIG} entries and in snapshot chunks:
 * <pre>
 *   0            2               4
 *   +------------+---------------+------------------+-------------------+
 *   | voterCount | learnerCount  | voters int32 ... | learners int32 ...|
 *   | int16      | int16         |                  |                   |
 *   +------------+---------------+------------------+-------------------+
 *   little-endian
 * </pre>
 */
public final class Membership {
    /** Most members (voters plus learners) in a configuration. */
    public static final int MEMBERS_MAX = 16;
    /** Bytes of the encoded form's header. */
    public static final int HEADER_LENGTH = 4;
    /** Longest encoded form. */
    public static final int ENCODED_LENGTH_MAX = HEADER_LENGTH + MEMBERS_MAX * Integer.BYTES;

    // Invariant: voters and learners are disjoint, hold no 0 and no duplicates; voterCount + learnerCount <= MAX.
    private final int[] voters = new int[MEMBERS_MAX];
    private final int[] learners = new int[MEMBERS_MAX];
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
            voterCount = removeAt(voters, voterCount, position);
            return true;
        }
        position = indexOf(learners, learnerCount, nodeId);
        if (position >= 0) {
            learnerCount = removeAt(learners, learnerCount, position);
            return true;
        }
        return false;
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
        voterCount = other.voterCount;
        learnerCount = other.learnerCount;
    }

    /**
     * @return bytes {@link #encode} writes.
     */
    public int encodedLength() {
        return HEADER_LENGTH + memberCount() * Integer.BYTES;
    }

    /**
     * @param buffer where to write.
     * @param offset where the encoding starts.
     * @return bytes written.
     */
    public int encode(final MutableDirectBuffer buffer, final int offset) {
        buffer.putShort(offset, (short)voterCount, ByteOrder.LITTLE_ENDIAN);
        buffer.putShort(offset + 2, (short)learnerCount, ByteOrder.LITTLE_ENDIAN);
        int position = offset + HEADER_LENGTH;
        for (int i = 0; i < voterCount; i++, position += Integer.BYTES) {
            buffer.putInt(position, voters[i], ByteOrder.LITTLE_ENDIAN);
        }
        for (int i = 0; i < learnerCount; i++, position += Integer.BYTES) {
            buffer.putInt(position, learners[i], ByteOrder.LITTLE_ENDIAN);
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
        final int learnerTotal = buffer.getShort(offset + 2, ByteOrder.LITTLE_ENDIAN);
        if (voterTotal < 0 || learnerTotal < 0 || voterTotal + learnerTotal > MEMBERS_MAX
            || length != HEADER_LENGTH + (voterTotal + learnerTotal) * Integer.BYTES) {
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
            if (!other.isVoter(voters[i])) {
                return false;
            }
        }
        for (int i = 0; i < learnerCount; i++) {
            if (!other.isLearner(learners[i])) {
                return false;
            }
        }
        return true;
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
