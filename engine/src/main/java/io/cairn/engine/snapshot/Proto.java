package io.cairn.engine.snapshot;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * The few protobuf messages etcd's backend holds, read and written by hand (the engine has no protobuf runtime):
 * {@code mvccpb.KeyValue}, {@code leasepb.Lease} and {@code etcdserverpb.AlarmMember}. Reading is strict — a
 * truncated varint or a length past the end is corruption — and skips fields it does not know, as protobuf does.
 */
final class Proto {
    private static final int VARINT = 0;
    private static final int FIXED64 = 1;
    private static final int BYTES = 2;
    private static final int FIXED32 = 5;

    private Proto() {
    }

    /** {@code mvccpb.KeyValue}: key 1, create_revision 2, mod_revision 3, version 4, value 5, lease 6. */
    record KeyValue(byte[] key, long createRevision, long modRevision, long version, byte[] value, long lease) {
    }

    static KeyValue keyValue(final byte[] bytes, final Path file) throws CorruptSnapshotException {
        final Fields fields = new Fields(bytes, file);
        byte[] key = new byte[0];
        byte[] value = new byte[0];
        final long[] numbers = new long[7];
        while (fields.next()) {
            switch (fields.number) {
                case 1 -> key = fields.bytes();
                case 5 -> value = fields.bytes();
                case 2, 3, 4, 6 -> numbers[fields.number] = fields.varint();
                default -> fields.skip();
            }
        }
        return new KeyValue(key, numbers[2], numbers[3], numbers[4], value, numbers[6]);
    }

    /**
     * @return the varint fields 1..count of a message (0 where absent): {@code leasepb.Lease} is ID 1, TTL 2,
     *     RemainingTTL 3.
     */
    static long[] varints(final byte[] bytes, final int count, final Path file) throws CorruptSnapshotException {
        final Fields fields = new Fields(bytes, file);
        final long[] numbers = new long[count];
        while (fields.next()) {
            if (fields.number >= 1 && fields.number <= count) {
                numbers[fields.number - 1] = fields.varint();
            } else {
                fields.skip();
            }
        }
        return numbers;
    }

    /** A message's fields in turn. */
    private static final class Fields {
        private final byte[] bytes;
        private final Path file;
        private int at;
        int number;
        private int wireType;

        Fields(final byte[] bytes, final Path file) {
            this.bytes = bytes;
            this.file = file;
        }

        boolean next() throws CorruptSnapshotException {
            if (at == bytes.length) {
                return false;
            }
            final long tag = read();
            number = (int)(tag >>> 3);
            wireType = (int)(tag & 7);
            if (number <= 0 || tag >>> 3 > Integer.MAX_VALUE) {
                throw corrupt("field number " + (tag >>> 3));
            }
            return true;
        }

        long varint() throws CorruptSnapshotException {
            if (wireType != VARINT) {
                throw corrupt("field " + number + " has wire type " + wireType + ", not a varint");
            }
            return read();
        }

        byte[] bytes() throws CorruptSnapshotException {
            if (wireType != BYTES) {
                throw corrupt("field " + number + " has wire type " + wireType + ", not bytes");
            }
            final long length = read();
            if (length < 0 || length > bytes.length - at) {
                throw corrupt("field " + number + " of " + length + " bytes runs past the message");
            }
            final byte[] value = Arrays.copyOfRange(bytes, at, at + (int)length);
            at += (int)length;
            return value;
        }

        void skip() throws CorruptSnapshotException {
            switch (wireType) {
                case VARINT -> read();
                case BYTES -> bytes();
                case FIXED64 -> advance(8);
                case FIXED32 -> advance(4);
                default -> throw corrupt("field " + number + " has wire type " + wireType);
            }
        }

        private void advance(final int count) throws CorruptSnapshotException {
            if (count > bytes.length - at) {
                throw corrupt("field " + number + " runs past the message");
            }
            at += count;
        }

        private long read() throws CorruptSnapshotException {
            long value = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                if (at == bytes.length) {
                    throw corrupt("a varint runs past the message");
                }
                final int b = bytes[at++];
                value |= (long)(b & 0x7F) << shift;
                if ((b & 0x80) == 0) {
                    return value;
                }
            }
            throw corrupt("a varint longer than ten bytes");
        }

        private CorruptSnapshotException corrupt(final String reason) {
            return new CorruptSnapshotException(file, "protobuf record: " + reason);
        }
    }

    /** Writes varint fields (proto3: zero omitted). */
    static final class Writer {
        private byte[] bytes = new byte[64];
        private int at;

        Writer reset() {
            at = 0;
            return this;
        }

        Writer varint(final int field, final long value) {
            if (value != 0) {
                raw((long)field << 3 | VARINT);
                raw(value);
            }
            return this;
        }

        byte[] toBytes() {
            return Arrays.copyOf(bytes, at);
        }

        private void raw(final long value) {
            if (at + 10 > bytes.length) {
                bytes = Arrays.copyOf(bytes, bytes.length * 2);
            }
            long rest = value;
            while ((rest & ~0x7FL) != 0) {
                bytes[at++] = (byte)(rest & 0x7F | 0x80);
                rest >>>= 7;
            }
            bytes[at++] = (byte)rest;
        }
    }
}
