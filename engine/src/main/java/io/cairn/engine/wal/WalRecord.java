package io.cairn.engine.wal;

import org.agrona.BufferUtil;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.checksum.Crc32c;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * Flyweight over one WAL record: the framing Cairn writes inside each Chronicle Queue excerpt. Chronicle's own
 * header (length and "complete" bit) surrounds it; this framing is ours so that a record can be validated without
 * trusting Chronicle, and so that the Raft index travels with the record (Chronicle's indexes are
 * {@code cycle << shift | sequence}, not dense).
 *
 * <pre>
 *   0        4        8      9      10       12                20                28         32
 *   +--------+--------+------+------+--------+-----------------+-----------------+----------+----------------+
 *   | magic  | crc32c | kind | type | format | index (int64)   | term (int64)    | length   | payload ...    |
 *   | int32  | int32  | int8 | int8 | int16  |                 |                 | int32    | length bytes   |
 *   +--------+--------+------+------+--------+-----------------+-----------------+----------+----------------+
 *   little-endian; crc32c covers bytes [8, 32 + length): everything after the checksum.
 * </pre>
 *
 * What {@code index}, {@code term} and the payload mean depends on the kind:
 * <ul>
 *   <li>{@link #KIND_ENTRY}: a Raft log entry; {@code type} is the entry type the caller chose.</li>
 *   <li>{@link #KIND_TRUNCATE}: every entry after {@code index} written before this record is dropped.</li>
 *   <li>{@link #KIND_BASE}: the log now starts after {@code index}, whose term is {@code term} (snapshot point);
 *       entries at or below it are dropped.</li>
 *   <li>{@link #KIND_HARD_STATE}: {@code term} is the current term, {@code index} the commit index, and the
 *       payload holds the vote (int64).</li>
 * </ul>
 */
public final class WalRecord {
    /** "CAIR" little-endian: tells a Cairn record from garbage before the checksum is computed. */
    public static final int MAGIC = 0x52494143;
    /** Version of this framing; a record of another version is reported, never guessed at. */
    public static final short FORMAT_VERSION = 1;

    /** A Raft log entry. */
    public static final byte KIND_ENTRY = 1;
    /** Logical truncation of the suffix after {@code index}. */
    public static final byte KIND_TRUNCATE = 2;
    /** The log's new base (snapshot point). */
    public static final byte KIND_BASE = 3;
    /** Term, vote and commit index. */
    public static final byte KIND_HARD_STATE = 4;

    static final int MAGIC_OFFSET = 0;
    static final int CHECKSUM_OFFSET = 4;
    static final int KIND_OFFSET = 8;
    static final int TYPE_OFFSET = 9;
    static final int FORMAT_OFFSET = 10;
    static final int INDEX_OFFSET = 12;
    static final int TERM_OFFSET = 20;
    static final int LENGTH_OFFSET = 28;
    /** Bytes before the payload. */
    public static final int HEADER_LENGTH = 32;

    /** Result of {@link #validate}: the record is whole and its checksum matches. */
    public static final int VALID = 0;
    /** Fewer bytes than a header, or than the header says. */
    public static final int TRUNCATED = 1;
    /** The magic number is wrong: not a Cairn record. */
    public static final int BAD_MAGIC = 2;
    /** The checksum does not match the bytes. */
    public static final int BAD_CHECKSUM = 3;
    /** A format version or kind this code does not know. */
    public static final int UNKNOWN_FORMAT = 4;

    private final UnsafeBuffer buffer = new UnsafeBuffer(0, 0);

    /**
     * Points this flyweight at a record.
     *
     * @param source   the bytes (must be backed by an address or an array).
     * @param offset   where the record starts.
     * @param length   bytes available for the record.
     * @return this.
     */
    public WalRecord wrap(final DirectBuffer source, final int offset, final int length) {
        buffer.wrap(source, offset, length);
        return this;
    }

    /**
     * Points this flyweight at a record in native memory.
     *
     * @param address where the record starts.
     * @param length  bytes available for the record.
     * @return this.
     */
    public WalRecord wrap(final long address, final int length) {
        buffer.wrap(address, length);
        return this;
    }

    /**
     * Checks framing, version and checksum of the wrapped bytes.
     *
     * @return {@link #VALID} or the reason the record is not.
     */
    public int validate() {
        final int available = buffer.capacity();
        if (available < HEADER_LENGTH) {
            return TRUNCATED;
        }
        if (buffer.getInt(MAGIC_OFFSET, ByteOrder.LITTLE_ENDIAN) != MAGIC) {
            return BAD_MAGIC;
        }
        final int payloadLength = payloadLength();
        if (payloadLength < 0 || payloadLength > available - HEADER_LENGTH) {
            return TRUNCATED;
        }
        final int computed = checksum(buffer, 0, HEADER_LENGTH + payloadLength);
        if (computed != buffer.getInt(CHECKSUM_OFFSET, ByteOrder.LITTLE_ENDIAN)) {
            return BAD_CHECKSUM;
        }
        final byte kind = kind();
        if (format() != FORMAT_VERSION || kind < KIND_ENTRY || kind > KIND_HARD_STATE) {
            return UNKNOWN_FORMAT;
        }
        return VALID;
    }

    /**
     * @return the record kind, one of the {@code KIND_*} constants.
     */
    public byte kind() {
        return buffer.getByte(KIND_OFFSET);
    }

    /**
     * @return the entry type the caller chose (entries only).
     */
    public byte type() {
        return buffer.getByte(TYPE_OFFSET);
    }

    /**
     * @return the framing version.
     */
    public short format() {
        return buffer.getShort(FORMAT_OFFSET, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @return the Raft index (see the class comment for each kind).
     */
    public long index() {
        return buffer.getLong(INDEX_OFFSET, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @return the Raft term (see the class comment for each kind).
     */
    public long term() {
        return buffer.getLong(TERM_OFFSET, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @return payload bytes.
     */
    public int payloadLength() {
        return buffer.getInt(LENGTH_OFFSET, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @return the whole record's length: header plus payload.
     */
    public int recordLength() {
        return HEADER_LENGTH + payloadLength();
    }

    /**
     * @return the wrapped bytes; the payload starts at {@link #HEADER_LENGTH}.
     */
    public DirectBuffer buffer() {
        return buffer;
    }

    /**
     * Writes a whole record, checksum included.
     *
     * @param target        where to write.
     * @param offset        where the record starts in {@code target}.
     * @param kind          one of the {@code KIND_*} constants.
     * @param type          the entry type.
     * @param index         the Raft index.
     * @param term          the Raft term.
     * @param payload       the payload bytes.
     * @param payloadOffset where the payload starts.
     * @param payloadLength payload bytes.
     * @return bytes written.
     */
    public static int encode(
        final MutableDirectBuffer target,
        final int offset,
        final byte kind,
        final byte type,
        final long index,
        final long term,
        final DirectBuffer payload,
        final int payloadOffset,
        final int payloadLength) {
        target.putInt(offset + MAGIC_OFFSET, MAGIC, ByteOrder.LITTLE_ENDIAN);
        target.putByte(offset + KIND_OFFSET, kind);
        target.putByte(offset + TYPE_OFFSET, type);
        target.putShort(offset + FORMAT_OFFSET, FORMAT_VERSION, ByteOrder.LITTLE_ENDIAN);
        target.putLong(offset + INDEX_OFFSET, index, ByteOrder.LITTLE_ENDIAN);
        target.putLong(offset + TERM_OFFSET, term, ByteOrder.LITTLE_ENDIAN);
        target.putInt(offset + LENGTH_OFFSET, payloadLength, ByteOrder.LITTLE_ENDIAN);
        if (payloadLength > 0) {
            target.putBytes(offset + HEADER_LENGTH, payload, payloadOffset, payloadLength);
        }
        final int recordLength = HEADER_LENGTH + payloadLength;
        target.putInt(offset + CHECKSUM_OFFSET, checksum(target, offset, recordLength), ByteOrder.LITTLE_ENDIAN);
        return recordLength;
    }

    /**
     * Writes a whole record whose payload is one int64 (used by hard state), checksum included.
     *
     * @param target  where to write.
     * @param offset  where the record starts.
     * @param kind    one of the {@code KIND_*} constants.
     * @param type    the type byte.
     * @param index   the Raft index.
     * @param term    the Raft term.
     * @param value   the payload.
     * @return bytes written.
     */
    public static int encodeLong(
        final MutableDirectBuffer target,
        final int offset,
        final byte kind,
        final byte type,
        final long index,
        final long term,
        final long value) {
        target.putLong(offset + HEADER_LENGTH, value, ByteOrder.LITTLE_ENDIAN);
        return encode(target, offset, kind, type, index, term, target, offset + HEADER_LENGTH, Long.BYTES);
    }

    /**
     * @return the payload of a record made by {@link #encodeLong}.
     */
    public long payloadLong() {
        return buffer.getLong(HEADER_LENGTH, ByteOrder.LITTLE_ENDIAN);
    }

    private static int checksum(final DirectBuffer source, final int offset, final int recordLength) {
        final int from = offset + KIND_OFFSET;
        final int length = recordLength - KIND_OFFSET;
        final byte[] array = source.byteArray();
        if (array != null) {
            // Cold path (tests and tools): the WAL itself stages records off-heap.
            final CRC32C crc = new CRC32C();
            crc.update(array, (int)(source.addressOffset() - BufferUtil.ARRAY_BASE_OFFSET) + from, length);
            return (int)crc.getValue();
        }
        return Crc32c.INSTANCE.compute(source.addressOffset(), from, length);
    }
}
