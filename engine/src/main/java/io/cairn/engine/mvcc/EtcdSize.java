package io.cairn.engine.mvcc;

import org.agrona.DirectBuffer;

/**
 * The protobuf-encoded length etcd's own messages (PutRequest, DeleteRangeRequest, RangeRequest, TxnRequest, Compare,
 * RequestOp) would have for a command, field by field: proto3 leaves out zero numbers, false flags and empty bytes;
 * a oneof member is written even when zero. Field numbers are etcd's rpc.proto.
 */
final class EtcdSize {
    private EtcdSize() {
    }

    static long op(final DirectBuffer buffer, final int offset) {
        switch (MvccCommand.type(buffer, offset)) {
            case MvccCommand.PUT:
                return put(buffer, offset);
            case MvccCommand.DELETE_RANGE:
                return bytes(MvccCommand.keyLength(buffer, offset)) + bytes(MvccCommand.secondLength(buffer, offset))
                    + flag(MvccCommand.flags(buffer, offset), MvccCommand.FLAG_PREV_KV);
            case MvccCommand.RANGE:
                return range(buffer, offset);
            default:
                return txn(buffer, offset);
        }
    }

    private static long put(final DirectBuffer buffer, final int offset) {
        final int flags = MvccCommand.flags(buffer, offset);
        return bytes(MvccCommand.keyLength(buffer, offset)) + bytes(MvccCommand.secondLength(buffer, offset))
            + number(buffer.getLong(offset + MvccCommand.PUT_LEASE_OFFSET, MvccCommand.ORDER))
            + flag(flags, MvccCommand.FLAG_PREV_KV) + flag(flags, MvccCommand.FLAG_IGNORE_VALUE)
            + flag(flags, MvccCommand.FLAG_IGNORE_LEASE);
    }

    private static long range(final DirectBuffer buffer, final int offset) {
        final int flags = buffer.getByte(offset + MvccCommand.RANGE_FLAGS_OFFSET);
        long size = bytes(MvccCommand.keyLength(buffer, offset)) + bytes(MvccCommand.secondLength(buffer, offset))
            + number(buffer.getByte(offset + MvccCommand.RANGE_SORT_ORDER_OFFSET))
            + number(buffer.getByte(offset + MvccCommand.RANGE_SORT_TARGET_OFFSET))
            + flag(flags, MvccCommand.FLAG_SERIALIZABLE) + flag(flags, MvccCommand.FLAG_KEYS_ONLY)
            + flag(flags, MvccCommand.FLAG_COUNT_ONLY);
        for (int field = MvccCommand.RANGE_LIMIT_OFFSET; field < MvccCommand.RANGE_HEADER; field += Long.BYTES) {
            size += number(buffer.getLong(offset + field, MvccCommand.ORDER));
        }
        return size;
    }

    private static long txn(final DirectBuffer buffer, final int offset) {
        final int count = buffer.getShort(offset + MvccCommand.TXN_COMPARE_COUNT_OFFSET, MvccCommand.ORDER)
            + buffer.getShort(offset + MvccCommand.TXN_SUCCESS_COUNT_OFFSET, MvccCommand.ORDER)
            + buffer.getShort(offset + MvccCommand.TXN_FAILURE_COUNT_OFFSET, MvccCommand.ORDER);
        final int compares = buffer.getShort(offset + MvccCommand.TXN_COMPARE_COUNT_OFFSET, MvccCommand.ORDER);
        long size = 0;
        int position = offset + MvccCommand.TXN_HEADER;
        for (int i = 0; i < count; i++) {
            final int element = position + MvccCommand.ELEMENT_LENGTH_BYTES;
            final long inner = i < compares ? compare(buffer, element) : op(buffer, element);
            // A repeated Compare is a message; a RequestOp wraps the op in its oneof: two levels of length prefix.
            final long wrapped = i < compares ? inner : 1 + varint(inner) + inner;
            size += 1 + varint(wrapped) + wrapped;
            position = element + buffer.getInt(position, MvccCommand.ORDER);
        }
        return size;
    }

    private static long compare(final DirectBuffer buffer, final int offset) {
        final int target = buffer.getByte(offset + MvccCommand.COMPARE_TARGET_OFFSET);
        final int endLength = MvccCommand.secondLength(buffer, offset);
        long size = number(buffer.getByte(offset + MvccCommand.COMPARE_RESULT_OFFSET)) + number(target)
            + bytes(MvccCommand.keyLength(buffer, offset));
        if (target == MvccCommand.COMPARE_VALUE) {
            final int valueLength = buffer.getInt(offset + MvccCommand.COMPARE_VALUE_LENGTH_OFFSET, MvccCommand.ORDER);
            size += 1 + varint(valueLength) + valueLength;
        } else {
            size += 1 + varint(buffer.getLong(offset + MvccCommand.COMPARE_NUMBER_OFFSET, MvccCommand.ORDER));
        }
        if (endLength > 0) {
            size += 2 + varint(endLength) + endLength; // range_end is field 64: a two-byte tag
        }
        return size;
    }

    private static long bytes(final long length) {
        return length == 0 ? 0 : 1 + varint(length) + length;
    }

    private static long number(final long value) {
        return value == 0 ? 0 : 1 + varint(value);
    }

    private static long flag(final int flags, final int flag) {
        return (flags & flag) != 0 ? 2 : 0;
    }

    static int varint(final long value) {
        if (value < 0) {
            return 10;
        }
        return value == 0 ? 1 : (63 - Long.numberOfLeadingZeros(value)) / 7 + 1;
    }
}
