package io.cairn.simulator;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Map;
import java.util.TreeMap;

/**
 * Goal: the simulator's application, small enough to check exactly: a map of integer keys to long registers with
 * put and compare-and-set applied through the log, and get served locally after ReadIndex. Method: commands are a
 * fixed 21-byte layout (op int8, key int32, value int64, expected int64, little-endian); a snapshot is the sorted
 * map serialised. An absent key reads as 0.
 */
final class KvStateMachine {
    static final byte PUT = 1;
    static final byte CAS = 2;
    static final int COMMAND_LENGTH = 21;
    static final long CAS_OK = 1;
    static final long CAS_FAILED = 0;

    private final TreeMap<Integer, Long> values = new TreeMap<>();

    static int encode(final MutableDirectBuffer buffer, final byte op, final int key, final long value,
        final long expected) {
        buffer.putByte(0, op);
        buffer.putInt(1, key, ByteOrder.LITTLE_ENDIAN);
        buffer.putLong(5, value, ByteOrder.LITTLE_ENDIAN);
        buffer.putLong(13, expected, ByteOrder.LITTLE_ENDIAN);
        return COMMAND_LENGTH;
    }

    static byte op(final DirectBuffer buffer, final int offset) {
        return buffer.getByte(offset);
    }

    static int key(final DirectBuffer buffer, final int offset) {
        return buffer.getInt(offset + 1, ByteOrder.LITTLE_ENDIAN);
    }

    static long value(final DirectBuffer buffer, final int offset) {
        return buffer.getLong(offset + 5, ByteOrder.LITTLE_ENDIAN);
    }

    static long expected(final DirectBuffer buffer, final int offset) {
        return buffer.getLong(offset + 13, ByteOrder.LITTLE_ENDIAN);
    }

    long apply(final DirectBuffer buffer, final int offset, final int length) {
        if (length != COMMAND_LENGTH) {
            throw new IllegalStateException("bad command length " + length);
        }
        final int key = key(buffer, offset);
        final long value = value(buffer, offset);
        switch (op(buffer, offset)) {
            case PUT:
                values.put(key, value);
                return 0;
            case CAS:
                if (get(key) == expected(buffer, offset)) {
                    values.put(key, value);
                    return CAS_OK;
                }
                return CAS_FAILED;
            default:
                throw new IllegalStateException("unknown op " + op(buffer, offset));
        }
    }

    long get(final int key) {
        final Long value = values.get(key);
        return value == null ? 0 : value;
    }

    byte[] snapshot() {
        final ByteBuffer bytes = ByteBuffer.allocate(4 + values.size() * 12).order(ByteOrder.LITTLE_ENDIAN);
        bytes.putInt(values.size());
        for (final Map.Entry<Integer, Long> entry : values.entrySet()) {
            bytes.putInt(entry.getKey()).putLong(entry.getValue());
        }
        return bytes.array();
    }

    static boolean isSnapshot(final byte[] bytes) {
        try {
            restore(bytes);
            return true;
        } catch (final RuntimeException ex) {
            return false;
        }
    }

    static KvStateMachine restore(final byte[] snapshot) {
        final KvStateMachine machine = new KvStateMachine();
        if (snapshot == null) {
            return machine;
        }
        final UnsafeBuffer bytes = new UnsafeBuffer(snapshot);
        final int count = bytes.getInt(0, ByteOrder.LITTLE_ENDIAN);
        if (snapshot.length != 4 + count * 12) {
            throw new IllegalStateException("snapshot length " + snapshot.length + " for " + count + " keys");
        }
        for (int i = 0; i < count; i++) {
            machine.values.put(bytes.getInt(4 + i * 12, ByteOrder.LITTLE_ENDIAN),
                bytes.getLong(8 + i * 12, ByteOrder.LITTLE_ENDIAN));
        }
        return machine;
    }

    /**
     * @return a hash of every key and value, in key order (equal maps, equal hashes).
     */
    long stateHash() {
        long hash = 0x6a09e667f3bcc908L;
        for (final Map.Entry<Integer, Long> entry : values.entrySet()) {
            hash = (hash ^ entry.getKey()) * 0x9E3779B97F4A7C15L;
            hash = (hash ^ entry.getValue()) * 0xBF58476D1CE4E5B9L;
        }
        return hash;
    }

    @Override
    public String toString() {
        return values.toString();
    }
}
