package io.cairn.engine.mvcc;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.ByteOrder;

/**
 * One key-value at one revision, as a view: the same layout serves LMDB's stored records (the view points into the
 * mapped file) and the KVs inside encoded responses, so nothing is parsed on either side.
 *
 * <pre>
 * record (LMDB value in the {@code revs} table, keyed by revision):
 *   0  flags (byte: TOMBSTONE 1) | 1 reserved (3) | 4 key length (int)
 *   8  create revision (long) | 16 version (long) | 24 lease (long)
 *   32 key | value (the rest)
 * in a response:  0 mod revision (long) | 8 record length (int) | 12 record
 * </pre>
 *
 * <p>The mod revision is the record's own revision (its LMDB key), so it is not repeated inside the record. A view
 * over LMDB memory is valid until its transaction ends (read) or its next write (write); copy what must outlive that.
 */
public final class KeyValueView {
    /** Byte order of the numbers. */
    public static final ByteOrder ORDER = ByteOrder.LITTLE_ENDIAN;
    static final byte FLAG_TOMBSTONE = 1;
    static final int FLAGS_OFFSET = 0;
    static final int KEY_LENGTH_OFFSET = 4;
    static final int CREATE_OFFSET = 8;
    static final int VERSION_OFFSET = 16;
    static final int LEASE_OFFSET = 24;
    static final int HEADER = 32;
    static final int RESPONSE_PREFIX = 12;

    private final UnsafeBuffer record = new UnsafeBuffer(0, 0);
    private long modRevision;

    /**
     * @param buffer      holds a record.
     * @param offset      where it starts.
     * @param length      its length.
     * @param modRevision the revision it was written at.
     * @return this.
     */
    public KeyValueView wrap(final DirectBuffer buffer, final int offset, final int length, final long modRevision) {
        record.wrap(buffer, offset, length);
        this.modRevision = modRevision;
        return this;
    }

    /**
     * Wraps a KV inside an encoded response.
     *
     * @param buffer the response.
     * @param offset where the KV starts.
     * @return the offset just past it.
     */
    public int wrapEncoded(final DirectBuffer buffer, final int offset) {
        final int length = buffer.getInt(offset + 8, ORDER);
        wrap(buffer, offset + RESPONSE_PREFIX, length, buffer.getLong(offset, ORDER));
        return offset + RESPONSE_PREFIX + length;
    }

    void wrapAddress(final long address, final int length, final long modRevision) {
        record.wrap(address, length);
        this.modRevision = modRevision;
    }

    /**
     * @return true when this records a deletion.
     */
    public boolean isTombstone() {
        return (record.getByte(FLAGS_OFFSET) & FLAG_TOMBSTONE) != 0;
    }

    /**
     * @return the buffer holding the key and value (see {@link #keyOffset()}, {@link #valueOffset()}).
     */
    public DirectBuffer buffer() {
        return record;
    }

    /**
     * @return where the key starts in {@link #buffer()}.
     */
    public int keyOffset() {
        return HEADER;
    }

    /**
     * @return key bytes.
     */
    public int keyLength() {
        return record.getInt(KEY_LENGTH_OFFSET, ORDER);
    }

    /**
     * @return where the value starts in {@link #buffer()}.
     */
    public int valueOffset() {
        return HEADER + keyLength();
    }

    /**
     * @return value bytes.
     */
    public int valueLength() {
        return record.capacity() - HEADER - keyLength();
    }

    /**
     * @return the revision that created this key (of this generation of it).
     */
    public long createRevision() {
        return record.getLong(CREATE_OFFSET, ORDER);
    }

    /**
     * @return the revision of this change.
     */
    public long modRevision() {
        return modRevision;
    }

    /**
     * @return how many times the key was written since it was created.
     */
    public long version() {
        return record.getLong(VERSION_OFFSET, ORDER);
    }

    /**
     * @return the lease attached, or 0.
     */
    public long lease() {
        return record.getLong(LEASE_OFFSET, ORDER);
    }

    /**
     * @return the record's length.
     */
    public int recordLength() {
        return record.capacity();
    }

    /**
     * @return a copy of the key (allocates: for tests and tools).
     */
    public byte[] keyBytes() {
        final byte[] bytes = new byte[keyLength()];
        record.getBytes(HEADER, bytes);
        return bytes;
    }

    /**
     * @return a copy of the value (allocates: for tests and tools).
     */
    public byte[] valueBytes() {
        final byte[] bytes = new byte[valueLength()];
        record.getBytes(valueOffset(), bytes);
        return bytes;
    }

    /**
     * Copies this KV into a response in the encoded form.
     *
     * @param target   the response.
     * @param offset   where to write.
     * @param keysOnly leave the value out.
     * @return the offset just past what was written.
     */
    int encodeInto(final MutableDirectBuffer target, final int offset, final boolean keysOnly) {
        final int length = keysOnly ? HEADER + keyLength() : record.capacity();
        target.putLong(offset, modRevision, ORDER);
        target.putInt(offset + 8, length, ORDER);
        target.putBytes(offset + RESPONSE_PREFIX, record, 0, length);
        return offset + RESPONSE_PREFIX + length;
    }

    static void writeHeader(
        final MutableDirectBuffer target, final int offset, final boolean tombstone, final int keyLength,
        final long createRevision, final long version, final long lease) {
        target.putInt(offset + FLAGS_OFFSET, tombstone ? FLAG_TOMBSTONE : 0, ORDER);
        target.putInt(offset + KEY_LENGTH_OFFSET, keyLength, ORDER);
        target.putLong(offset + CREATE_OFFSET, createRevision, ORDER);
        target.putLong(offset + VERSION_OFFSET, version, ORDER);
        target.putLong(offset + LEASE_OFFSET, lease, ORDER);
    }

    @Override
    public String toString() {
        return "KeyValue{key=" + new String(keyBytes(), java.nio.charset.StandardCharsets.UTF_8)
            + ", create=" + createRevision() + ", mod=" + modRevision + ", version=" + version()
            + ", lease=" + lease() + ", valueLength=" + valueLength() + (isTombstone() ? ", tombstone" : "") + '}';
    }
}
