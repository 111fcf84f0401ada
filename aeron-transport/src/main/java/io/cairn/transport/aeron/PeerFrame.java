package io.cairn.transport.aeron;

import org.agrona.BufferUtil;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.checksum.Crc32c;

import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * The frame every peer message travels in over Aeron: a fixed header the receiver checks before anything reaches
 * consensus, then the message bytes (consensus's own encoding) untouched.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-------------------------------+---------------+---------------+
 * |         magic 0xCA1E          |  version (1)  |   reserved    |
 * +-------------------------------+---------------+---------------+
 * |                      sender node ID                           |
 * +---------------------------------------------------------------+
 * |                      payload length                           |
 * +---------------------------------------------------------------+
 * |     CRC32C of the 12 bytes above XOR CRC32C of the payload    |
 * +---------------------------------------------------------------+
 * |                  payload (a consensus message) ...            |
 * </pre>
 *
 * <p>Little-endian. Aeron already checks UDP framing; the checksum (over the header fields and the payload, each
 * CRC32C'd where it lies, so nothing is copied) catches what Aeron cannot: a corrupting NIC or driver, a foreign sender
 * on the port, a bug of ours. A frame that fails any check is dropped and counted.
 */
public final class PeerFrame {
    /** Header length. */
    public static final int HEADER_LENGTH = 16;
    /** Marks a Cairn peer frame. */
    public static final short MAGIC = (short)0xCA1E;
    /** The frame layout's version. */
    public static final byte VERSION = 1;
    static final ByteOrder ORDER = ByteOrder.LITTLE_ENDIAN;
    static final int MAGIC_OFFSET = 0;
    static final int VERSION_OFFSET = 2;
    static final int SENDER_OFFSET = 4;
    static final int LENGTH_OFFSET = 8;
    static final int CHECKSUM_OFFSET = 12;

    /** The frame is whole and its checksum matches. */
    public static final int VALID = 0;
    /** Shorter than a header. */
    public static final int TRUNCATED = 1;
    /** Not a Cairn frame (magic). */
    public static final int FOREIGN = 2;
    /** A version this build does not read. */
    public static final int UNKNOWN_VERSION = 3;
    /** The length field disagrees with the bytes received. */
    public static final int BAD_LENGTH = 4;
    /** The payload does not match its checksum. */
    public static final int BAD_CHECKSUM = 5;

    private PeerFrame() {
    }

    /**
     * Writes a header for a payload.
     *
     * @param crc           reusable checksum state (for payloads on the heap).
     * @param header        where (at least {@link #HEADER_LENGTH} bytes).
     * @param offset        where in it.
     * @param senderId      this node.
     * @param payload       the message.
     * @param payloadOffset where it starts.
     * @param payloadLength its length.
     */
    public static void writeHeader(final CRC32C crc, final MutableDirectBuffer header, final int offset,
        final int senderId, final DirectBuffer payload, final int payloadOffset, final int payloadLength) {
        header.putShort(offset + MAGIC_OFFSET, MAGIC, ORDER);
        header.putByte(offset + VERSION_OFFSET, VERSION);
        header.putByte(offset + VERSION_OFFSET + 1, (byte)0);
        header.putInt(offset + SENDER_OFFSET, senderId, ORDER);
        header.putInt(offset + LENGTH_OFFSET, payloadLength, ORDER);
        header.putInt(offset + CHECKSUM_OFFSET, checksum(crc, header, offset, CHECKSUM_OFFSET)
            ^ checksum(crc, payload, payloadOffset, payloadLength), ORDER);
    }

    /**
     * @param crc    reusable checksum state (for frames on the heap, as Aeron reassembles large ones).
     * @param buffer holds a received frame.
     * @param offset where it starts.
     * @param length the bytes received.
     * @return {@link #VALID} or why it is not.
     */
    public static int check(final CRC32C crc, final DirectBuffer buffer, final int offset, final int length) {
        if (length < HEADER_LENGTH) {
            return TRUNCATED;
        }
        if (buffer.getShort(offset + MAGIC_OFFSET, ORDER) != MAGIC) {
            return FOREIGN;
        }
        if (buffer.getByte(offset + VERSION_OFFSET) != VERSION) {
            return UNKNOWN_VERSION;
        }
        final int payloadLength = buffer.getInt(offset + LENGTH_OFFSET, ORDER);
        if (payloadLength != length - HEADER_LENGTH) {
            return BAD_LENGTH;
        }
        final int expected = buffer.getInt(offset + CHECKSUM_OFFSET, ORDER);
        final int computed = checksum(crc, buffer, offset, CHECKSUM_OFFSET)
            ^ checksum(crc, buffer, offset + HEADER_LENGTH, payloadLength);
        return computed == expected ? VALID : BAD_CHECKSUM;
    }

    /**
     * @param buffer a valid frame.
     * @param offset where it starts.
     * @return the sender's node ID.
     */
    public static int senderId(final DirectBuffer buffer, final int offset) {
        return buffer.getInt(offset + SENDER_OFFSET, ORDER);
    }

    /** CRC32C over off-heap bytes by address (Agrona), over heap bytes through the JDK's reusable state. */
    static int checksum(final CRC32C crc, final DirectBuffer buffer, final int offset, final int length) {
        if (length == 0) {
            return 0;
        }
        final byte[] array = buffer.byteArray();
        if (array == null) {
            return Crc32c.INSTANCE.compute(buffer.addressOffset(), offset, length);
        }
        crc.reset();
        crc.update(array, (int)(buffer.addressOffset() - BufferUtil.ARRAY_BASE_OFFSET) + offset, length);
        return (int)crc.getValue();
    }
}
