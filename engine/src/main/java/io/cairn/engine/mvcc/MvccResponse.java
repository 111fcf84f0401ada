package io.cairn.engine.mvcc;

import org.agrona.DirectBuffer;

import java.nio.ByteOrder;

/**
 * What {@link MvccStore#apply} and {@link MvccReader#rangeInto} write back: a flat little-endian layout, read in place
 * by the server (which builds etcd's protobuf response from it) and by embedders.
 *
 * <pre>
 * header        0 status (int: {@link MvccError}) | 4 type (byte: the command's) | 5 reserved (3)
 *               8 revision (long: the store's revision after the command; etcd's header revision)
 * PUT           16 has previous KV (int 0/1) | 20 KV (when present)
 * DELETE_RANGE  16 deleted (long) | 24 previous KV count (int) | 28 KVs
 * RANGE         16 count (long) | 24 more (int 0/1) | 28 KV count (int) | 32 KVs
 * TXN           16 succeeded (int 0/1) | 20 response count (int) | 24 responses, each | length (int) | response |
 * LEASE_GRANT   16 lease ID | 24 TTL
 * ALARM         16 active alarms (int bit set: 1 &lt;&lt; alarm)
 * COMPACT, LEASE_REVOKE: the header alone; a refusal (status != 0): the header alone.
 * KV            see {@link KeyValueView}: mod revision (long) | record length (int) | record
 * </pre>
 */
public final class MvccResponse {
    /** Byte order of every field. */
    public static final ByteOrder ORDER = ByteOrder.LITTLE_ENDIAN;
    /** Header length. */
    public static final int HEADER = 16;
    static final int STATUS_OFFSET = 0;
    static final int TYPE_OFFSET = 4;
    static final int REVISION_OFFSET = 8;
    static final int PUT_HAS_PREV_OFFSET = 16;
    static final int PUT_PREV_KV_OFFSET = 20;
    static final int DELETE_DELETED_OFFSET = 16;
    static final int DELETE_PREV_COUNT_OFFSET = 24;
    static final int DELETE_KVS_OFFSET = 28;
    static final int RANGE_COUNT_OFFSET = 16;
    static final int RANGE_MORE_OFFSET = 24;
    static final int RANGE_KV_COUNT_OFFSET = 28;
    static final int RANGE_KVS_OFFSET = 32;
    static final int TXN_SUCCEEDED_OFFSET = 16;
    static final int TXN_COUNT_OFFSET = 20;
    static final int TXN_RESPONSES_OFFSET = 24;
    static final int LEASE_ID_OFFSET = 16;
    static final int LEASE_TTL_OFFSET = 24;
    static final int ALARMS_OFFSET = 16;

    private MvccResponse() {
    }

    /**
     * @param buffer a response.
     * @param offset where it starts.
     * @return its {@link MvccError} code.
     */
    public static int status(final DirectBuffer buffer, final int offset) {
        return buffer.getInt(offset + STATUS_OFFSET, ORDER);
    }

    /**
     * @param buffer a response.
     * @param offset where it starts.
     * @return the type of the command it answers.
     */
    public static byte type(final DirectBuffer buffer, final int offset) {
        return buffer.getByte(offset + TYPE_OFFSET);
    }

    /**
     * @param buffer a response.
     * @param offset where it starts.
     * @return the header revision.
     */
    public static long revision(final DirectBuffer buffer, final int offset) {
        return buffer.getLong(offset + REVISION_OFFSET, ORDER);
    }

    /**
     * @param buffer a PUT response.
     * @param offset where it starts.
     * @return the offset of the previous KV, or -1 when none was asked for or none existed.
     */
    public static int putPrevKv(final DirectBuffer buffer, final int offset) {
        return buffer.getInt(offset + PUT_HAS_PREV_OFFSET, ORDER) != 0 ? offset + PUT_PREV_KV_OFFSET : -1;
    }

    /**
     * @param buffer a DELETE_RANGE response.
     * @param offset where it starts.
     * @return how many keys were deleted.
     */
    public static long deleted(final DirectBuffer buffer, final int offset) {
        return buffer.getLong(offset + DELETE_DELETED_OFFSET, ORDER);
    }

    /**
     * @param buffer a DELETE_RANGE response.
     * @param offset where it starts.
     * @return how many previous KVs follow.
     */
    public static int deletePrevKvCount(final DirectBuffer buffer, final int offset) {
        return buffer.getInt(offset + DELETE_PREV_COUNT_OFFSET, ORDER);
    }

    /**
     * @param offset where a DELETE_RANGE response starts.
     * @return where its first previous KV starts (walk on with {@link KeyValueView#wrapEncoded}).
     */
    public static int deletePrevKvs(final int offset) {
        return offset + DELETE_KVS_OFFSET;
    }

    /**
     * @param buffer a RANGE response.
     * @param offset where it starts.
     * @return the number of keys in the range (before limit and filters, as etcd counts).
     */
    public static long rangeCount(final DirectBuffer buffer, final int offset) {
        return buffer.getLong(offset + RANGE_COUNT_OFFSET, ORDER);
    }

    /**
     * @param buffer a RANGE response.
     * @param offset where it starts.
     * @return true when the limit cut the result short.
     */
    public static boolean rangeMore(final DirectBuffer buffer, final int offset) {
        return buffer.getInt(offset + RANGE_MORE_OFFSET, ORDER) != 0;
    }

    /**
     * @param buffer a RANGE response.
     * @param offset where it starts.
     * @return how many KVs follow.
     */
    public static int rangeKvCount(final DirectBuffer buffer, final int offset) {
        return buffer.getInt(offset + RANGE_KV_COUNT_OFFSET, ORDER);
    }

    /**
     * @param offset where a RANGE response starts.
     * @return where its first KV starts (walk on with {@link KeyValueView#wrapEncoded}).
     */
    public static int rangeKvs(final int offset) {
        return offset + RANGE_KVS_OFFSET;
    }

    /**
     * @param buffer a TXN response.
     * @param offset where it starts.
     * @return true when the compares held and the success branch ran.
     */
    public static boolean txnSucceeded(final DirectBuffer buffer, final int offset) {
        return buffer.getInt(offset + TXN_SUCCEEDED_OFFSET, ORDER) != 0;
    }

    /**
     * @param buffer a TXN response.
     * @param offset where it starts.
     * @return how many op responses follow.
     */
    public static int txnResponseCount(final DirectBuffer buffer, final int offset) {
        return buffer.getInt(offset + TXN_COUNT_OFFSET, ORDER);
    }

    /**
     * @param offset where a TXN response starts.
     * @return where the length of its first op response is.
     */
    public static int txnResponses(final int offset) {
        return offset + TXN_RESPONSES_OFFSET;
    }

    /**
     * @param buffer a LEASE_GRANT response.
     * @param offset where it starts.
     * @return the lease ID granted.
     */
    public static long leaseId(final DirectBuffer buffer, final int offset) {
        return buffer.getLong(offset + LEASE_ID_OFFSET, ORDER);
    }

    /**
     * @param buffer a LEASE_GRANT response.
     * @param offset where it starts.
     * @return the TTL granted.
     */
    public static long leaseTtl(final DirectBuffer buffer, final int offset) {
        return buffer.getLong(offset + LEASE_TTL_OFFSET, ORDER);
    }

    /**
     * @param buffer an ALARM response.
     * @param offset where it starts.
     * @return the set of alarms now raised, as bits {@code 1 << alarm}.
     */
    public static int alarms(final DirectBuffer buffer, final int offset) {
        return buffer.getInt(offset + ALARMS_OFFSET, ORDER);
    }

    /**
     * @param buffer holds an AUTH command's response.
     * @param offset where it starts.
     * @return the auth revision after it.
     */
    public static long authRevision(final DirectBuffer buffer, final int offset) {
        return buffer.getLong(offset + HEADER, ORDER);
    }
}
