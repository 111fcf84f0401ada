package io.cairn.engine.snapshot;

import org.agrona.checksum.Crc32c;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The 64 bytes appended to the store's file to make a snapshot (etcd appends a hash to its bbolt snapshot the same
 * way; LMDB, like bbolt, ignores bytes past its last page, so the data part opens as a store unchanged).
 *
 * <pre>
 *   0          8        12        16               24               32               40               48
 *   +----------+--------+---------+----------------+----------------+----------------+----------------+
 *   | magic    | format | reserved| appliedIndex   | appliedTerm    | revision       | dataBytes      |
 *   | 8 bytes  | int32  | int32   | int64          | int64          | int64          | int64          |
 *   +----------+--------+---------+----------------+----------------+----------------+----------------+
 *   48             52           56             60
 *   +--------------+------------+--------------+
 *   | dataChecksum | reserved   | trailerCrc   | reserved |
 *   | int32 crc32c | int32      | int32 crc32c | int32    |
 *   +--------------+------------+--------------+----------+
 *   little-endian; trailerCrc covers bytes [0, 56).
 * </pre>
 */
public final class SnapshotTrailer {
    /** Trailer length in bytes. */
    public static final int LENGTH = 64;
    /** "CAIRNSNP" as a little-endian long. */
    public static final long MAGIC = 0x504E534E52494143L;
    /** Version of this layout. */
    public static final int FORMAT = 1;

    private static final int FORMAT_OFFSET = 8;
    private static final int INDEX_OFFSET = 16;
    private static final int TERM_OFFSET = 24;
    private static final int REVISION_OFFSET = 32;
    private static final int DATA_BYTES_OFFSET = 40;
    private static final int DATA_CHECKSUM_OFFSET = 48;
    private static final int TRAILER_CHECKSUM_OFFSET = 56;

    private SnapshotTrailer() {
    }

    /**
     * @param meta what to record.
     * @return the trailer's bytes, positioned for writing.
     */
    public static ByteBuffer encode(final SnapshotMeta meta) {
        final ByteBuffer bytes = ByteBuffer.allocateDirect(LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        final UnsafeBuffer buffer = new UnsafeBuffer(bytes);
        buffer.putLong(0, MAGIC, ByteOrder.LITTLE_ENDIAN);
        buffer.putInt(FORMAT_OFFSET, FORMAT, ByteOrder.LITTLE_ENDIAN);
        buffer.putLong(INDEX_OFFSET, meta.appliedIndex(), ByteOrder.LITTLE_ENDIAN);
        buffer.putLong(TERM_OFFSET, meta.appliedTerm(), ByteOrder.LITTLE_ENDIAN);
        buffer.putLong(REVISION_OFFSET, meta.revision(), ByteOrder.LITTLE_ENDIAN);
        buffer.putLong(DATA_BYTES_OFFSET, meta.dataBytes(), ByteOrder.LITTLE_ENDIAN);
        buffer.putInt(DATA_CHECKSUM_OFFSET, meta.dataChecksum(), ByteOrder.LITTLE_ENDIAN);
        buffer.putInt(TRAILER_CHECKSUM_OFFSET, Crc32c.INSTANCE.compute(buffer.addressOffset(), 0,
            TRAILER_CHECKSUM_OFFSET), ByteOrder.LITTLE_ENDIAN);
        return bytes;
    }

    /**
     * @param trailer    the last {@link #LENGTH} bytes of a file (a direct buffer).
     * @param fileBytes  the file's length.
     * @return the meta, or null with {@code why[0]} set when the trailer is not valid.
     */
    static SnapshotMeta decode(final ByteBuffer trailer, final long fileBytes, final String[] why) {
        final UnsafeBuffer buffer = new UnsafeBuffer(trailer);
        if (buffer.getLong(0, ByteOrder.LITTLE_ENDIAN) != MAGIC) {
            why[0] = "no snapshot trailer (not a Cairn snapshot, or truncated)";
            return null;
        }
        final int computed = Crc32c.INSTANCE.compute(buffer.addressOffset(), 0, TRAILER_CHECKSUM_OFFSET);
        if (computed != buffer.getInt(TRAILER_CHECKSUM_OFFSET, ByteOrder.LITTLE_ENDIAN)) {
            why[0] = "trailer checksum mismatch";
            return null;
        }
        final int format = buffer.getInt(FORMAT_OFFSET, ByteOrder.LITTLE_ENDIAN);
        if (format != FORMAT) {
            why[0] = "snapshot format " + format + " unknown (this Cairn reads " + FORMAT + ")";
            return null;
        }
        final SnapshotMeta meta = new SnapshotMeta(
            buffer.getLong(INDEX_OFFSET, ByteOrder.LITTLE_ENDIAN),
            buffer.getLong(TERM_OFFSET, ByteOrder.LITTLE_ENDIAN),
            buffer.getLong(REVISION_OFFSET, ByteOrder.LITTLE_ENDIAN),
            buffer.getLong(DATA_BYTES_OFFSET, ByteOrder.LITTLE_ENDIAN),
            buffer.getInt(DATA_CHECKSUM_OFFSET, ByteOrder.LITTLE_ENDIAN));
        if (meta.fileBytes() != fileBytes) {
            why[0] = "length " + fileBytes + " but the trailer says " + meta.fileBytes();
            return null;
        }
        return meta;
    }
}
