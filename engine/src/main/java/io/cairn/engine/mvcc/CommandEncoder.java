package io.cairn.engine.mvcc;

import io.cairn.engine.check.Check;
import org.agrona.DirectBuffer;
import org.agrona.ExpandableDirectByteBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import static io.cairn.engine.mvcc.MvccCommand.ORDER;

/**
 * Writes keyspace commands ({@link MvccCommand}'s layout) into a reusable off-heap buffer. Stateful only while a
 * transaction is being built: {@link #beginTxn()}, compares, {@link #success()} and ops, {@link #failure()} and ops,
 * {@link #endTxn()}; transactions nest. Allocation-free once the buffer has grown to its working size.
 *
 * <pre>{@code
 * encoder.reset();
 * encoder.beginTxn();
 * encoder.compare(COMPARE_EQUAL, COMPARE_VERSION, key, 0, key.length, null, 0, 0, 0);
 * encoder.success();
 * encoder.put(key, 0, key.length, value, 0, value.length, 0, 0);
 * encoder.failure();
 * encoder.range(key, 0, key.length, null, 0, 0, 0, 0, 0);
 * encoder.endTxn();
 * store.apply(encoder.buffer(), 0, encoder.length(), response, 0);
 * }</pre>
 */
public final class CommandEncoder {
    /** Deepest nesting of transactions. */
    public static final int DEPTH_MAX = 16;
    private static final int SECTION_COMPARES = 0;
    private static final int SECTION_SUCCESS = 1;
    private static final int SECTION_FAILURE = 2;

    private final MutableDirectBuffer buffer;
    private final int[] txnStart = new int[DEPTH_MAX];
    private final int[] section = new int[DEPTH_MAX];
    private final int[] compareCount = new int[DEPTH_MAX];
    private final int[] successCount = new int[DEPTH_MAX];
    private final int[] failureCount = new int[DEPTH_MAX];
    private final int[] lengthAt = new int[DEPTH_MAX + 1];
    private int position;
    private int depth;
    private int lastRange = -1;

    /**
     * An encoder over its own growable buffer.
     */
    public CommandEncoder() {
        this(new ExpandableDirectByteBuffer(256));
    }

    /**
     * @param buffer where commands are written (an expandable one grows as needed).
     */
    public CommandEncoder(final MutableDirectBuffer buffer) {
        this.buffer = buffer;
    }

    /**
     * Starts a new command at offset 0.
     *
     * @return this.
     */
    public CommandEncoder reset() {
        position = 0;
        depth = 0;
        lastRange = -1;
        return this;
    }

    /**
     * @return the buffer commands are written into.
     */
    public MutableDirectBuffer buffer() {
        return buffer;
    }

    /**
     * @return bytes written since {@link #reset()}.
     */
    public int length() {
        Check.state(depth == 0, "transaction not ended", depth);
        return position;
    }

    /**
     * @param key         key bytes.
     * @param keyOffset   where they start.
     * @param keyLength   how many.
     * @param value       value bytes (may be null when {@code valueLength} is 0).
     * @param valueOffset where they start.
     * @param valueLength how many.
     * @param lease       lease ID, or 0.
     * @param flags       {@link MvccCommand#FLAG_PREV_KV}, {@link MvccCommand#FLAG_IGNORE_VALUE},
     *                    {@link MvccCommand#FLAG_IGNORE_LEASE}.
     * @return this.
     */
    public CommandEncoder put(
        final DirectBuffer key, final int keyOffset, final int keyLength,
        final DirectBuffer value, final int valueOffset, final int valueLength,
        final long lease, final int flags) {
        final int lengthPosition = beginElement(false);
        final int start = keyedHeader(MvccCommand.PUT, flags, keyLength, valueLength);
        buffer.putLong(start + MvccCommand.PUT_LEASE_OFFSET, lease, ORDER);
        return keyedBody(start + MvccCommand.PUT_HEADER, key, keyOffset, keyLength, value, valueOffset, valueLength,
            lengthPosition);
    }

    /**
     * @param key       key bytes.
     * @param keyOffset where they start.
     * @param keyLength how many.
     * @param end       range end (null or length 0: the key alone; one zero byte: every key from the key on).
     * @param endOffset where it starts.
     * @param endLength how many.
     * @param flags     {@link MvccCommand#FLAG_PREV_KV}.
     * @return this.
     */
    public CommandEncoder deleteRange(
        final DirectBuffer key, final int keyOffset, final int keyLength,
        final DirectBuffer end, final int endOffset, final int endLength, final int flags) {
        final int lengthPosition = beginElement(false);
        final int start = keyedHeader(MvccCommand.DELETE_RANGE, flags, keyLength, endLength);
        return keyedBody(start + MvccCommand.DELETE_HEADER, key, keyOffset, keyLength, end, endOffset, endLength,
            lengthPosition);
    }

    /**
     * A range read; refine it with {@link #sort(int, int)} and {@link #filters(long, long, long, long)}.
     *
     * @param key       key bytes.
     * @param keyOffset where they start.
     * @param keyLength how many.
     * @param end       range end, as for {@link #deleteRange}.
     * @param endOffset where it starts.
     * @param endLength how many.
     * @param revision  revision to read at, or 0 for the current one.
     * @param limit     most key-values returned, or 0 for no limit.
     * @param flags     {@link MvccCommand#FLAG_KEYS_ONLY}, {@link MvccCommand#FLAG_COUNT_ONLY},
     *                  {@link MvccCommand#FLAG_SERIALIZABLE}.
     * @return this.
     */
    public CommandEncoder range(
        final DirectBuffer key, final int keyOffset, final int keyLength,
        final DirectBuffer end, final int endOffset, final int endLength,
        final long revision, final long limit, final int flags) {
        final int lengthPosition = beginElement(false);
        buffer.setMemory(position, MvccCommand.RANGE_HEADER, (byte)0);
        final int start = keyedHeader(MvccCommand.RANGE, 0, keyLength, endLength);
        buffer.putByte(start + MvccCommand.RANGE_FLAGS_OFFSET, (byte)flags);
        buffer.putLong(start + MvccCommand.RANGE_LIMIT_OFFSET, limit, ORDER);
        buffer.putLong(start + MvccCommand.RANGE_REVISION_OFFSET, revision, ORDER);
        keyedBody(start + MvccCommand.RANGE_HEADER, key, keyOffset, keyLength, end, endOffset, endLength,
            lengthPosition);
        lastRange = start;
        return this;
    }

    /**
     * Sets the sort of the range just written.
     *
     * @param order  {@link MvccCommand#SORT_NONE}, {@link MvccCommand#SORT_ASCEND}, {@link MvccCommand#SORT_DESCEND}.
     * @param target {@link MvccCommand#TARGET_KEY} and friends.
     * @return this.
     */
    public CommandEncoder sort(final int order, final int target) {
        Check.state(lastRange >= 0, "sort must follow a range");
        buffer.putByte(lastRange + MvccCommand.RANGE_SORT_ORDER_OFFSET, (byte)order);
        buffer.putByte(lastRange + MvccCommand.RANGE_SORT_TARGET_OFFSET, (byte)target);
        return this;
    }

    /**
     * Sets the revision filters of the range just written (0 = no bound).
     *
     * @param minModRevision    smallest mod revision returned.
     * @param maxModRevision    largest mod revision returned.
     * @param minCreateRevision smallest create revision returned.
     * @param maxCreateRevision largest create revision returned.
     * @return this.
     */
    public CommandEncoder filters(
        final long minModRevision, final long maxModRevision, final long minCreateRevision,
        final long maxCreateRevision) {
        Check.state(lastRange >= 0, "filters must follow a range");
        buffer.putLong(lastRange + MvccCommand.RANGE_MIN_MOD_OFFSET, minModRevision, ORDER);
        buffer.putLong(lastRange + MvccCommand.RANGE_MAX_MOD_OFFSET, maxModRevision, ORDER);
        buffer.putLong(lastRange + MvccCommand.RANGE_MIN_CREATE_OFFSET, minCreateRevision, ORDER);
        buffer.putLong(lastRange + MvccCommand.RANGE_MAX_CREATE_OFFSET, maxCreateRevision, ORDER);
        return this;
    }

    /**
     * Starts a transaction (top level, or nested as an op of the enclosing one); compares follow.
     *
     * @return this.
     */
    public CommandEncoder beginTxn() {
        Check.state(depth < DEPTH_MAX, "transactions nested too deep", depth);
        final int lengthPosition = beginElement(false);
        lengthAt[depth] = lengthPosition;
        txnStart[depth] = position;
        section[depth] = SECTION_COMPARES;
        compareCount[depth] = 0;
        successCount[depth] = 0;
        failureCount[depth] = 0;
        buffer.putLong(position, 0L, ORDER);
        buffer.putByte(position, MvccCommand.TXN);
        position += MvccCommand.TXN_HEADER;
        depth++;
        return this;
    }

    /**
     * A compare on a numeric target (version, create, mod, lease).
     *
     * @param result    {@link MvccCommand#COMPARE_EQUAL} and friends.
     * @param target    {@link MvccCommand#COMPARE_VERSION}, CREATE, MOD or LEASE.
     * @param key       key bytes.
     * @param keyOffset where they start.
     * @param keyLength how many.
     * @param end       range end, as for {@link #deleteRange} (the compare must hold for every key in it).
     * @param endOffset where it starts.
     * @param endLength how many.
     * @param number    the value compared against.
     * @return this.
     */
    public CommandEncoder compare(
        final int result, final int target, final DirectBuffer key, final int keyOffset, final int keyLength,
        final DirectBuffer end, final int endOffset, final int endLength, final long number) {
        return compare(result, target, key, keyOffset, keyLength, end, endOffset, endLength, number, null, 0, 0);
    }

    /**
     * A compare on the value.
     *
     * @param result      {@link MvccCommand#COMPARE_EQUAL} and friends.
     * @param key         key bytes.
     * @param keyOffset   where they start.
     * @param keyLength   how many.
     * @param end         range end, as for {@link #deleteRange}.
     * @param endOffset   where it starts.
     * @param endLength   how many.
     * @param value       the bytes compared against.
     * @param valueOffset where they start.
     * @param valueLength how many.
     * @return this.
     */
    public CommandEncoder compareValue(
        final int result, final DirectBuffer key, final int keyOffset, final int keyLength,
        final DirectBuffer end, final int endOffset, final int endLength,
        final DirectBuffer value, final int valueOffset, final int valueLength) {
        return compare(result, MvccCommand.COMPARE_VALUE, key, keyOffset, keyLength, end, endOffset, endLength, 0,
            value, valueOffset, valueLength);
    }

    private CommandEncoder compare(
        final int result, final int target, final DirectBuffer key, final int keyOffset, final int keyLength,
        final DirectBuffer end, final int endOffset, final int endLength, final long number,
        final DirectBuffer value, final int valueOffset, final int valueLength) {
        Check.state(depth > 0, "a compare belongs to a transaction");
        final int lengthPosition = beginElement(true);
        final int start = position;
        buffer.putByte(start + MvccCommand.COMPARE_RESULT_OFFSET, (byte)result);
        buffer.putByte(start + MvccCommand.COMPARE_TARGET_OFFSET, (byte)target);
        buffer.putShort(start + 2, (short)0, ORDER);
        buffer.putInt(start + MvccCommand.KEY_LENGTH_OFFSET, keyLength, ORDER);
        buffer.putInt(start + MvccCommand.SECOND_LENGTH_OFFSET, endLength, ORDER);
        buffer.putLong(start + MvccCommand.COMPARE_NUMBER_OFFSET, number, ORDER);
        buffer.putInt(start + MvccCommand.COMPARE_VALUE_LENGTH_OFFSET, valueLength, ORDER);
        position = start + MvccCommand.COMPARE_HEADER;
        bytes(key, keyOffset, keyLength);
        bytes(end, endOffset, endLength);
        bytes(value, valueOffset, valueLength);
        endElement(lengthPosition);
        return this;
    }

    /**
     * Ops that follow run when every compare holds.
     *
     * @return this.
     */
    public CommandEncoder success() {
        Check.state(depth > 0 && section[depth - 1] == SECTION_COMPARES, "success follows the compares");
        section[depth - 1] = SECTION_SUCCESS;
        return this;
    }

    /**
     * Ops that follow run when a compare fails.
     *
     * @return this.
     */
    public CommandEncoder failure() {
        Check.state(depth > 0 && section[depth - 1] != SECTION_FAILURE, "failure comes once, last");
        section[depth - 1] = SECTION_FAILURE;
        return this;
    }

    /**
     * Ends the innermost transaction.
     *
     * @return this.
     */
    public CommandEncoder endTxn() {
        Check.state(depth > 0, "no transaction to end");
        depth--;
        final int start = txnStart[depth];
        buffer.putShort(start + MvccCommand.TXN_COMPARE_COUNT_OFFSET, (short)compareCount[depth], ORDER);
        buffer.putShort(start + MvccCommand.TXN_SUCCESS_COUNT_OFFSET, (short)successCount[depth], ORDER);
        buffer.putShort(start + MvccCommand.TXN_FAILURE_COUNT_OFFSET, (short)failureCount[depth], ORDER);
        endElement(lengthAt[depth]);
        return this;
    }

    /**
     * @param revision compact history below this revision.
     * @return this.
     */
    public CommandEncoder compact(final long revision) {
        return fixed(MvccCommand.COMPACT, MvccCommand.COMPACT_LENGTH, revision, 0);
    }

    /**
     * @param leaseId    the new lease's ID (non-zero: the leader assigns it).
     * @param ttlSeconds its TTL.
     * @return this.
     */
    public CommandEncoder leaseGrant(final long leaseId, final long ttlSeconds) {
        return fixed(MvccCommand.LEASE_GRANT, MvccCommand.LEASE_GRANT_LENGTH, leaseId, ttlSeconds);
    }

    /**
     * @param leaseId the lease to revoke (its keys are deleted in one revision).
     * @return this.
     */
    public CommandEncoder leaseRevoke(final long leaseId) {
        return fixed(MvccCommand.LEASE_REVOKE, MvccCommand.LEASE_REVOKE_LENGTH, leaseId, 0);
    }

    /**
     * @param action   {@link MvccCommand#ALARM_ACTIVATE} or {@link MvccCommand#ALARM_DEACTIVATE}.
     * @param alarm    {@link MvccCommand#ALARM_NOSPACE} or {@link MvccCommand#ALARM_CORRUPT}.
     * @param memberId the member that raised it.
     * @return this.
     */
    public CommandEncoder alarm(final int action, final int alarm, final long memberId) {
        fixed(MvccCommand.ALARM, MvccCommand.ALARM_LENGTH, memberId, 0);
        buffer.putByte(position - MvccCommand.ALARM_LENGTH + MvccCommand.ALARM_ACTION_OFFSET, (byte)action);
        buffer.putByte(position - MvccCommand.ALARM_LENGTH + MvccCommand.ALARM_TYPE_OFFSET, (byte)alarm);
        return this;
    }

    /**
     * Convenience for tests and embedders holding byte arrays (wraps, never copies twice).
     *
     * @param key   key bytes.
     * @param value value bytes.
     * @param lease lease ID or 0.
     * @param flags put flags.
     * @return this.
     */
    public CommandEncoder put(final byte[] key, final byte[] value, final long lease, final int flags) {
        return put(new UnsafeBuffer(key), 0, key.length, new UnsafeBuffer(value), 0, value.length, lease, flags);
    }

    /** Type, flags and the two lengths that every keyed command starts with; returns where the command starts. */
    private int keyedHeader(final byte type, final int flags, final int keyLength, final int secondLength) {
        final int start = position;
        buffer.putByte(start, type);
        buffer.putByte(start + MvccCommand.FLAGS_OFFSET, (byte)flags);
        buffer.putShort(start + 2, (short)0, ORDER);
        buffer.putInt(start + MvccCommand.KEY_LENGTH_OFFSET, keyLength, ORDER);
        buffer.putInt(start + MvccCommand.SECOND_LENGTH_OFFSET, secondLength, ORDER);
        return start;
    }

    private CommandEncoder keyedBody(
        final int bodyAt, final DirectBuffer key, final int keyOffset, final int keyLength,
        final DirectBuffer second, final int secondOffset, final int secondLength, final int lengthPosition) {
        position = bodyAt;
        bytes(key, keyOffset, keyLength);
        bytes(second, secondOffset, secondLength);
        endElement(lengthPosition);
        return this;
    }

    private CommandEncoder fixed(final byte type, final int length, final long first, final long second) {
        Check.state(depth == 0, "not an op of a transaction", type);
        buffer.putLong(position, 0L, ORDER);
        buffer.putByte(position, type);
        buffer.putLong(position + MvccCommand.LONG_ARGUMENT_OFFSET, first, ORDER);
        if (length > MvccCommand.SECOND_LONG_ARGUMENT_OFFSET) {
            buffer.putLong(position + MvccCommand.SECOND_LONG_ARGUMENT_OFFSET, second, ORDER);
        }
        position += length;
        return this;
    }

    private void bytes(final DirectBuffer source, final int offset, final int length) {
        if (length > 0) {
            buffer.putBytes(position, source, offset, length);
            position += length;
        }
    }

    private int beginElement(final boolean compare) {
        if (depth == 0) {
            return -1;
        }
        Check.state(compare == (section[depth - 1] == SECTION_COMPARES),
            compare ? "compares come first in a transaction" : "an op needs success() or failure() first");
        final int at = position;
        buffer.putInt(at, 0, ORDER);
        position += MvccCommand.ELEMENT_LENGTH_BYTES;
        return at;
    }

    private void endElement(final int lengthPosition) {
        if (lengthPosition < 0) {
            return;
        }
        buffer.putInt(lengthPosition, position - lengthPosition - MvccCommand.ELEMENT_LENGTH_BYTES, ORDER);
        final int level = depth - 1;
        if (section[level] == SECTION_COMPARES) {
            compareCount[level]++;
        } else if (section[level] == SECTION_SUCCESS) {
            successCount[level]++;
        } else {
            failureCount[level]++;
        }
    }
}
