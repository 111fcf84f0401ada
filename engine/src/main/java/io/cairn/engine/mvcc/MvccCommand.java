package io.cairn.engine.mvcc;

import org.agrona.DirectBuffer;

import java.nio.ByteOrder;

/**
 * The keyspace's commands as they travel in Raft log entries: etcd's v3 requests in a flat little-endian layout of
 * our own, read in place (no parsing into objects). {@link CommandEncoder} writes them; {@link MvccStore} applies
 * them. Protobuf stops at the server: it copies a request off-heap into this layout once.
 *
 * <pre>
 * PUT            0 type=1 | 1 flags (PREV_KV 1, IGNORE_VALUE 2, IGNORE_LEASE 4) | 2 reserved (2)
 *                4 key length (int) | 8 value length (int) | 12 lease (long) | 20 key | value
 * DELETE_RANGE   0 type=2 | 1 flags (PREV_KV 1) | 2 reserved (2)
 *                4 key length | 8 range end length (0 = the key alone) | 12 key | range end
 * RANGE          0 type=3 | 1 sort order | 2 sort target | 3 flags (KEYS_ONLY 1, COUNT_ONLY 2, SERIALIZABLE 4)
 *                4 key length | 8 range end length | 12 limit | 20 revision | 28 min mod | 36 max mod
 *                44 min create | 52 max create (longs) | 60 key | range end
 * TXN            0 type=4 | 1 reserved | 2 compare count (short) | 4 success count | 6 failure count
 *                8 elements: the compares, then the success ops, then the failure ops, each as
 *                  | length (int) | element |   where an op is a RANGE, PUT, DELETE_RANGE or TXN command
 * COMPARE        0 result (EQUAL 0, GREATER 1, LESS 2, NOT_EQUAL 3) | 1 target (VERSION 0, CREATE 1, MOD 2,
 *                VALUE 3, LEASE 4) | 2 reserved (2) | 4 key length | 8 range end length | 12 number (long)
 *                20 value length (int) | 24 key | range end | value
 * COMPACT        0 type=5 | 1 reserved (7) | 8 revision
 * LEASE_GRANT    0 type=6 | 1 reserved (7) | 8 lease ID | 16 TTL seconds
 * LEASE_REVOKE   0 type=7 | 1 reserved (7) | 8 lease ID
 * ALARM          0 type=8 | 1 action (ACTIVATE 1, DEACTIVATE 2) | 2 alarm (NOSPACE 1, CORRUPT 2) | 3 reserved (5)
 *                8 member ID
 * AUTH           0 type=9 | 1 flags (KEEP_AUTH_REVISION 1) | 2 reserved (6) | 8 expected auth revision (long;
 *                AUTH_REVISION_ANY: whatever it is) | 16 op count (int) | 20 ops, each
 *                  | kind (AUTH_PUT 1, AUTH_DELETE 2) | key length (int) | value length (int) | key | value |
 *                applied all or none: refused with AUTH_OLD_REVISION when the auth revision is not the expected one
 * AUTHED         0 type=10 | 1 reserved (7) | 8 the auth revision the permissions were checked at (long)
 *                16 a PUT, DELETE_RANGE, TXN, COMPACT, LEASE_GRANT or LEASE_REVOKE: applied only while the auth
 *                revision is still that one (etcd's "revision of auth store is old" otherwise)
 * </pre>
 *
 * <p>AUTH keeps etcd's authentication state in a table of its own (users, roles, the enabled flag, as the server
 * encodes them) beside the keyspace, in the same transactions and snapshots; it never moves the keyspace revision.
 *
 * <p>Range ends follow etcd: absent (length 0) means the key alone, a single zero byte means every key from the key
 * on, anything else is the exclusive end.
 */
public final class MvccCommand {
    /** Byte order of every field. */
    public static final ByteOrder ORDER = ByteOrder.LITTLE_ENDIAN;

    /** Put one key. */
    public static final byte PUT = 1;
    /** Delete a key or a range. */
    public static final byte DELETE_RANGE = 2;
    /** Read a key or a range (inside a txn, or handed to a reader). */
    public static final byte RANGE = 3;
    /** Compare-and-act transaction. */
    public static final byte TXN = 4;
    /** Compact history below a revision. */
    public static final byte COMPACT = 5;
    /** Grant a lease. */
    public static final byte LEASE_GRANT = 6;
    /** Revoke a lease and delete its keys. */
    public static final byte LEASE_REVOKE = 7;
    /** Raise or clear an alarm. */
    public static final byte ALARM = 8;
    /** Change the authentication state (users, roles, enabled): a batch of puts and deletes in its table. */
    public static final byte AUTH = 9;
    /** A write whose permissions were checked at an auth revision: applied only while that is still current. */
    public static final byte AUTHED = 10;

    /** AUTH op: put a key. */
    public static final int AUTH_PUT = 1;
    /** AUTH op: delete a key. */
    public static final int AUTH_DELETE = 2;
    /** AUTH flag: the auth revision stays (etcd's AuthEnable does not move it). */
    public static final int FLAG_KEEP_AUTH_REVISION = 1;
    /** AUTH: apply whatever the auth revision is. */
    public static final long AUTH_REVISION_ANY = -1;

    /** Put/delete: return the previous key-value. */
    public static final int FLAG_PREV_KV = 1;
    /** Put: keep the current value. */
    public static final int FLAG_IGNORE_VALUE = 2;
    /** Put: keep the current lease. */
    public static final int FLAG_IGNORE_LEASE = 4;
    /** Range: keys without values. */
    public static final int FLAG_KEYS_ONLY = 1;
    /** Range: the count alone. */
    public static final int FLAG_COUNT_ONLY = 2;
    /** Range: may be served from the local store without a quorum round (the server's concern; carried along). */
    public static final int FLAG_SERIALIZABLE = 4;

    /** Sort order: none (etcd's NONE). */
    public static final int SORT_NONE = 0;
    /** Sort order: ascending. */
    public static final int SORT_ASCEND = 1;
    /** Sort order: descending. */
    public static final int SORT_DESCEND = 2;
    /** Sort target: key. */
    public static final int TARGET_KEY = 0;
    /** Sort target: version. */
    public static final int TARGET_VERSION = 1;
    /** Sort target: create revision. */
    public static final int TARGET_CREATE = 2;
    /** Sort target: mod revision. */
    public static final int TARGET_MOD = 3;
    /** Sort target: value. */
    public static final int TARGET_VALUE = 4;

    /** Compare result: equal. */
    public static final int COMPARE_EQUAL = 0;
    /** Compare result: greater. */
    public static final int COMPARE_GREATER = 1;
    /** Compare result: less. */
    public static final int COMPARE_LESS = 2;
    /** Compare result: not equal. */
    public static final int COMPARE_NOT_EQUAL = 3;
    /** Compare target: version. */
    public static final int COMPARE_VERSION = 0;
    /** Compare target: create revision. */
    public static final int COMPARE_CREATE = 1;
    /** Compare target: mod revision. */
    public static final int COMPARE_MOD = 2;
    /** Compare target: value. */
    public static final int COMPARE_VALUE = 3;
    /** Compare target: lease. */
    public static final int COMPARE_LEASE = 4;

    /** Alarm action: raise. */
    public static final int ALARM_ACTIVATE = 1;
    /** Alarm action: clear. */
    public static final int ALARM_DEACTIVATE = 2;
    /** Alarm: out of space (etcd's NOSPACE). */
    public static final int ALARM_NOSPACE = 1;
    /** Alarm: data corruption detected (etcd's CORRUPT). */
    public static final int ALARM_CORRUPT = 2;

    static final int TYPE_OFFSET = 0;
    static final int FLAGS_OFFSET = 1;
    static final int KEY_LENGTH_OFFSET = 4;
    static final int SECOND_LENGTH_OFFSET = 8;

    static final int PUT_LEASE_OFFSET = 12;
    static final int PUT_HEADER = 20;
    static final int DELETE_HEADER = 12;

    static final int RANGE_SORT_ORDER_OFFSET = 1;
    static final int RANGE_SORT_TARGET_OFFSET = 2;
    static final int RANGE_FLAGS_OFFSET = 3;
    static final int RANGE_LIMIT_OFFSET = 12;
    static final int RANGE_REVISION_OFFSET = 20;
    static final int RANGE_MIN_MOD_OFFSET = 28;
    static final int RANGE_MAX_MOD_OFFSET = 36;
    static final int RANGE_MIN_CREATE_OFFSET = 44;
    static final int RANGE_MAX_CREATE_OFFSET = 52;
    static final int RANGE_HEADER = 60;

    static final int TXN_COMPARE_COUNT_OFFSET = 2;
    static final int TXN_SUCCESS_COUNT_OFFSET = 4;
    static final int TXN_FAILURE_COUNT_OFFSET = 6;
    static final int TXN_HEADER = 8;
    static final int ELEMENT_LENGTH_BYTES = 4;

    static final int COMPARE_RESULT_OFFSET = 0;
    static final int COMPARE_TARGET_OFFSET = 1;
    static final int COMPARE_NUMBER_OFFSET = 12;
    static final int COMPARE_VALUE_LENGTH_OFFSET = 20;
    static final int COMPARE_HEADER = 24;

    static final int LONG_ARGUMENT_OFFSET = 8;
    static final int SECOND_LONG_ARGUMENT_OFFSET = 16;
    static final int COMPACT_LENGTH = 16;
    static final int LEASE_GRANT_LENGTH = 24;
    static final int LEASE_REVOKE_LENGTH = 16;
    static final int ALARM_ACTION_OFFSET = 1;
    static final int ALARM_TYPE_OFFSET = 2;
    static final int ALARM_LENGTH = 16;
    static final int AUTH_COUNT_OFFSET = 16;
    static final int AUTH_HEADER = 20;
    static final int AUTH_OP_HEADER = 9;
    static final int AUTHED_HEADER = 16;

    private MvccCommand() {
    }

    /**
     * @param buffer holds a command.
     * @param offset where it starts.
     * @return its type.
     */
    public static byte type(final DirectBuffer buffer, final int offset) {
        return buffer.getByte(offset + TYPE_OFFSET);
    }

    /**
     * @param buffer holds a command.
     * @param offset where it starts.
     * @return its flags byte.
     */
    public static int flags(final DirectBuffer buffer, final int offset) {
        return buffer.getByte(offset + FLAGS_OFFSET) & 0xFF;
    }

    /**
     * @param buffer holds a PUT, DELETE_RANGE, RANGE or COMPARE.
     * @param offset where it starts.
     * @return its key length.
     */
    public static int keyLength(final DirectBuffer buffer, final int offset) {
        return buffer.getInt(offset + KEY_LENGTH_OFFSET, ORDER);
    }

    /**
     * @param buffer holds a PUT (value length) or DELETE_RANGE/RANGE/COMPARE (range end length).
     * @param offset where it starts.
     * @return the second variable-length field's length.
     */
    public static int secondLength(final DirectBuffer buffer, final int offset) {
        return buffer.getInt(offset + SECOND_LENGTH_OFFSET, ORDER);
    }

    /**
     * @param buffer holds a command.
     * @param offset where it starts.
     * @return the long at byte 8 (COMPACT revision, LEASE_* ID, ALARM member).
     */
    public static long longArgument(final DirectBuffer buffer, final int offset) {
        return buffer.getLong(offset + LONG_ARGUMENT_OFFSET, ORDER);
    }

    /**
     * @param buffer holds a LEASE_GRANT.
     * @param offset where it starts.
     * @return its TTL in seconds.
     */
    public static long leaseTtl(final DirectBuffer buffer, final int offset) {
        return buffer.getLong(offset + SECOND_LONG_ARGUMENT_OFFSET, ORDER);
    }

    /**
     * @param buffer holds a command.
     * @param offset where it starts.
     * @return where the command proper starts: past an AUTHED envelope, else {@code offset}.
     */
    public static int unwrapped(final DirectBuffer buffer, final int offset) {
        return type(buffer, offset) == AUTHED ? offset + AUTHED_HEADER : offset;
    }

    static int headerLength(final byte type) {
        switch (type) {
            case PUT:
                return PUT_HEADER;
            case DELETE_RANGE:
                return DELETE_HEADER;
            case RANGE:
                return RANGE_HEADER;
            default:
                return -1;
        }
    }

    static int keyOffset(final DirectBuffer buffer, final int offset) {
        return offset + headerLength(type(buffer, offset));
    }

    static int secondOffset(final DirectBuffer buffer, final int offset) {
        return keyOffset(buffer, offset) + keyLength(buffer, offset);
    }

    static int txnCount(final DirectBuffer buffer, final int txnOffset, final int field) {
        return buffer.getShort(txnOffset + field, ORDER);
    }

    /**
     * @return the position of the element after the one whose length prefix is at {@code position}.
     */
    static int nextElement(final DirectBuffer buffer, final int position) {
        return position + ELEMENT_LENGTH_BYTES + buffer.getInt(position, ORDER);
    }

    static int skipElements(final DirectBuffer buffer, final int position, final int count) {
        int at = position;
        for (int i = 0; i < count; i++) {
            at = nextElement(buffer, at);
        }
        return at;
    }

    /**
     * @return the position (of the length prefix) of a txn's first success op.
     */
    static int successOps(final DirectBuffer buffer, final int txnOffset) {
        return skipElements(buffer, txnOffset + TXN_HEADER, txnCount(buffer, txnOffset, TXN_COMPARE_COUNT_OFFSET));
    }

    /**
     * @return the position (of the length prefix) of a txn's first failure op.
     */
    static int failureOps(final DirectBuffer buffer, final int txnOffset) {
        return skipElements(buffer, successOps(buffer, txnOffset),
            txnCount(buffer, txnOffset, TXN_SUCCESS_COUNT_OFFSET));
    }
}
