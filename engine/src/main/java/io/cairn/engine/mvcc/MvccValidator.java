package io.cairn.engine.mvcc;

import org.agrona.DirectBuffer;
import org.agrona.collections.IntArrayList;

/**
 * etcd 3.4's checks on a request before it may be applied, over the command layout ({@link MvccCommand}): the
 * structure decodes within its bounds; keys are present and not too long; ignore_value/ignore_lease do not come with
 * a value/lease; txn branches hold at most {@code txnOpsMax} ops; no key is written twice in one txn (etcd's
 * {@code checkIntervals}); and the request, counted as etcd counts it, fits the request limit.
 *
 * <p>Pure and allocation-free once its lists have grown: the server runs it before proposing (nothing invalid
 * reaches consensus), and the store runs it again before applying (an embedded caller may skip the server).
 *
 * <p>Request size: etcd refuses a request whose Raft encoding ({@code InternalRaftRequest}: a 13-byte header with a
 * 9-byte request ID, then the request) exceeds {@code --max-request-bytes}. {@link #requestBytes} computes that
 * encoding's length from the fields, so a put of key + value of 1,572,841 bytes (one-byte key) is accepted at the
 * default 1.5 MiB and one byte more is refused, exactly as etcd does.
 */
public final class MvccValidator {
    /** etcd's largest lease TTL in seconds. */
    public static final long LEASE_TTL_MAX = 9_000_000_000L;
    static final int RAFT_HEADER_BYTES = 13;

    private final int requestBytesMax;
    private final int txnOpsMax;
    private final int keyBytesMax;
    // (offset, length) pairs of keys put, and (key offset, key length, end offset, end length) of deletes.
    private final IntArrayList puts = new IntArrayList();
    private final IntArrayList deletes = new IntArrayList();
    private DirectBuffer command;

    /**
     * @param requestBytesMax etcd's {@code --max-request-bytes}.
     * @param txnOpsMax       etcd's {@code --max-txn-ops}.
     * @param keyBytesMax     longest key (LMDB's key limit).
     */
    public MvccValidator(final int requestBytesMax, final int txnOpsMax, final int keyBytesMax) {
        this.requestBytesMax = requestBytesMax;
        this.txnOpsMax = txnOpsMax;
        this.keyBytesMax = keyBytesMax;
    }

    /**
     * @param config the keyspace's limits.
     * @return a validator for them (LMDB's 511-byte key limit).
     */
    public static MvccValidator of(final MvccConfig config) {
        // Keys of any length up to the request size (long ones are indexed by prefix and digest: IndexKeys).
        return new MvccValidator(config.requestBytesMax(), config.txnOpsMax(), Integer.MAX_VALUE);
    }

    /**
     * @param buffer holds the command.
     * @param offset where it starts.
     * @param length its length.
     * @return {@link MvccError#OK} or the reason etcd would refuse it.
     */
    public int validate(final DirectBuffer buffer, final int offset, final int length) {
        command = buffer;
        try {
            if (length < 1) {
                return MvccError.MALFORMED;
            }
            if (MvccCommand.type(buffer, offset) == MvccCommand.AUTHED) {
                // An envelope around one write: the write is what is checked (never a RANGE, AUTH or another one).
                if (length <= MvccCommand.AUTHED_HEADER) {
                    return MvccError.MALFORMED;
                }
                final byte inner = MvccCommand.type(buffer, offset + MvccCommand.AUTHED_HEADER);
                if (inner == MvccCommand.RANGE || inner == MvccCommand.AUTH || inner == MvccCommand.AUTHED
                    || inner == MvccCommand.ALARM) {
                    return MvccError.MALFORMED;
                }
                return validate(buffer, offset + MvccCommand.AUTHED_HEADER, length - MvccCommand.AUTHED_HEADER);
            }
            final byte type = MvccCommand.type(buffer, offset);
            final int status;
            switch (type) {
                case MvccCommand.PUT:
                case MvccCommand.DELETE_RANGE:
                case MvccCommand.RANGE:
                    status = checkOp(offset, length);
                    break;
                case MvccCommand.TXN:
                    status = checkTopTxn(offset, length);
                    break;
                case MvccCommand.COMPACT:
                    return length == MvccCommand.COMPACT_LENGTH ? MvccError.OK : MvccError.MALFORMED;
                case MvccCommand.LEASE_GRANT:
                    return checkLeaseGrant(offset, length);
                case MvccCommand.LEASE_REVOKE:
                    return length == MvccCommand.LEASE_REVOKE_LENGTH ? MvccError.OK : MvccError.MALFORMED;
                case MvccCommand.ALARM:
                    return checkAlarm(offset, length);
                case MvccCommand.AUTH:
                    return checkAuth(offset, length);
                default:
                    return MvccError.MALFORMED;
            }
            if (status != MvccError.OK || type == MvccCommand.RANGE) {
                return status; // etcd serves ranges by ReadIndex, never through Raft: no request-size check
            }
            return requestBytes(buffer, offset) > requestBytesMax ? MvccError.REQUEST_TOO_LARGE : MvccError.OK;
        } finally {
            command = null;
        }
    }

    private int checkLeaseGrant(final int offset, final int length) {
        if (length != MvccCommand.LEASE_GRANT_LENGTH) {
            return MvccError.MALFORMED;
        }
        if (MvccCommand.longArgument(command, offset) == 0) {
            return MvccError.LEASE_ID_REQUIRED;
        }
        return MvccCommand.leaseTtl(command, offset) > LEASE_TTL_MAX ? MvccError.LEASE_TTL_TOO_LARGE : MvccError.OK;
    }

    /** Ops that fill the command exactly, each with a key of 1 to the key limit and a known kind. */
    private int checkAuth(final int offset, final int length) {
        if (length < MvccCommand.AUTH_HEADER) {
            return MvccError.MALFORMED;
        }
        final int count = command.getInt(offset + MvccCommand.AUTH_COUNT_OFFSET, MvccCommand.ORDER);
        long position = offset + MvccCommand.AUTH_HEADER;
        final long end = (long)offset + length;
        for (int i = 0; i < count; i++) {
            if (position + MvccCommand.AUTH_OP_HEADER > end) {
                return MvccError.MALFORMED;
            }
            final int kind = command.getByte((int)position);
            final int keyLength = command.getInt((int)position + 1, MvccCommand.ORDER);
            final int valueLength = command.getInt((int)position + 5, MvccCommand.ORDER);
            if ((kind != MvccCommand.AUTH_PUT && kind != MvccCommand.AUTH_DELETE) || keyLength < 1
                || keyLength > keyBytesMax || valueLength < 0
                || (kind == MvccCommand.AUTH_DELETE && valueLength != 0)) {
                return MvccError.MALFORMED;
            }
            position += MvccCommand.AUTH_OP_HEADER + (long)keyLength + valueLength;
        }
        return count >= 0 && position == end ? MvccError.OK : MvccError.MALFORMED;
    }

    private int checkAlarm(final int offset, final int length) {
        if (length != MvccCommand.ALARM_LENGTH) {
            return MvccError.MALFORMED;
        }
        final int action = command.getByte(offset + MvccCommand.ALARM_ACTION_OFFSET);
        final int alarm = command.getByte(offset + MvccCommand.ALARM_TYPE_OFFSET);
        final boolean known = (action == MvccCommand.ALARM_ACTIVATE || action == MvccCommand.ALARM_DEACTIVATE)
            && (alarm == MvccCommand.ALARM_NOSPACE || alarm == MvccCommand.ALARM_CORRUPT);
        return known ? MvccError.OK : MvccError.MALFORMED;
    }

    /** A PUT, DELETE_RANGE, RANGE or TXN op occupying exactly {@code length} bytes. */
    private int checkOp(final int offset, final int length) {
        final byte type = MvccCommand.type(command, offset);
        if (type == MvccCommand.TXN) {
            return checkTxn(offset, length);
        }
        final int header = MvccCommand.headerLength(type);
        if (header < 0 || length < header) {
            return MvccError.MALFORMED;
        }
        final int keyLength = MvccCommand.keyLength(command, offset);
        final int secondLength = MvccCommand.secondLength(command, offset);
        if (keyLength < 0 || secondLength < 0 || (long)header + keyLength + secondLength != length) {
            return MvccError.MALFORMED;
        }
        if (keyLength == 0) {
            return MvccError.EMPTY_KEY;
        }
        if (type == MvccCommand.PUT) {
            final int flags = MvccCommand.flags(command, offset);
            if ((flags & MvccCommand.FLAG_IGNORE_VALUE) != 0 && secondLength != 0) {
                return MvccError.VALUE_PROVIDED;
            }
            if ((flags & MvccCommand.FLAG_IGNORE_LEASE) != 0
                && command.getLong(offset + MvccCommand.PUT_LEASE_OFFSET, MvccCommand.ORDER) != 0) {
                return MvccError.LEASE_PROVIDED;
            }
        }
        return keyLength > keyBytesMax ? MvccError.KEY_TOO_LONG : MvccError.OK;
    }

    private int checkTopTxn(final int offset, final int length) {
        final int status = checkTxn(offset, length);
        if (status != MvccError.OK) {
            return status;
        }
        puts.clear();
        deletes.clear();
        int duplicate = checkIntervals(MvccCommand.successOps(command, offset),
            txnCount(offset, MvccCommand.TXN_SUCCESS_COUNT_OFFSET));
        if (duplicate == MvccError.OK) {
            puts.clear();
            deletes.clear();
            duplicate = checkIntervals(MvccCommand.failureOps(command, offset),
                txnCount(offset, MvccCommand.TXN_FAILURE_COUNT_OFFSET));
        }
        return duplicate;
    }

    /** Structure, op counts and each element, recursively. */
    private int checkTxn(final int offset, final int length) {
        if (length < MvccCommand.TXN_HEADER) {
            return MvccError.MALFORMED;
        }
        final int compares = txnCount(offset, MvccCommand.TXN_COMPARE_COUNT_OFFSET);
        final int successes = txnCount(offset, MvccCommand.TXN_SUCCESS_COUNT_OFFSET);
        final int failures = txnCount(offset, MvccCommand.TXN_FAILURE_COUNT_OFFSET);
        if (compares < 0 || successes < 0 || failures < 0) {
            return MvccError.MALFORMED;
        }
        if (compares > txnOpsMax || successes > txnOpsMax || failures > txnOpsMax) {
            return MvccError.TOO_MANY_OPS;
        }
        final int end = offset + length;
        int position = offset + MvccCommand.TXN_HEADER;
        for (int i = 0; i < compares + successes + failures; i++) {
            if (position + MvccCommand.ELEMENT_LENGTH_BYTES > end) {
                return MvccError.MALFORMED;
            }
            final int elementLength = command.getInt(position, MvccCommand.ORDER);
            final int element = position + MvccCommand.ELEMENT_LENGTH_BYTES;
            if (elementLength < 1 || elementLength > end - element) {
                return MvccError.MALFORMED;
            }
            final int status = i < compares ? checkCompare(element, elementLength) : checkOp(element, elementLength);
            if (status != MvccError.OK) {
                return status;
            }
            position = element + elementLength;
        }
        return position == end ? MvccError.OK : MvccError.MALFORMED;
    }

    private int checkCompare(final int offset, final int length) {
        if (length < MvccCommand.COMPARE_HEADER) {
            return MvccError.MALFORMED;
        }
        final int keyLength = MvccCommand.keyLength(command, offset);
        final int endLength = MvccCommand.secondLength(command, offset);
        final int valueLength = command.getInt(offset + MvccCommand.COMPARE_VALUE_LENGTH_OFFSET, MvccCommand.ORDER);
        final int result = command.getByte(offset + MvccCommand.COMPARE_RESULT_OFFSET);
        final int target = command.getByte(offset + MvccCommand.COMPARE_TARGET_OFFSET);
        if (keyLength < 0 || endLength < 0 || valueLength < 0
            || (long)MvccCommand.COMPARE_HEADER + keyLength + endLength + valueLength != length
            || result < MvccCommand.COMPARE_EQUAL || result > MvccCommand.COMPARE_NOT_EQUAL
            || target < MvccCommand.COMPARE_VERSION || target > MvccCommand.COMPARE_LEASE) {
            return MvccError.MALFORMED;
        }
        if (keyLength == 0) {
            return MvccError.EMPTY_KEY;
        }
        return keyLength > keyBytesMax ? MvccError.KEY_TOO_LONG : MvccError.OK;
    }

    /**
     * etcd's {@code checkIntervals} over one branch's ops: this level's deletes first; then each nested txn, whose
     * branches exclude each other, so a key may be put in both; then this level's puts. A key put twice, or put inside
     * a range deleted on the same path, is a duplicate. Appends this branch's puts and deletes to the lists.
     */
    private int checkIntervals(final int opsAt, final int opCount) {
        final int putsBase = puts.size();
        final int deletesBase = deletes.size();
        int position = opsAt;
        for (int i = 0; i < opCount; i++) {
            final int op = position + MvccCommand.ELEMENT_LENGTH_BYTES;
            if (MvccCommand.type(command, op) == MvccCommand.DELETE_RANGE) {
                final int keyLength = MvccCommand.keyLength(command, op);
                deletes.addInt(op + MvccCommand.DELETE_HEADER);
                deletes.addInt(keyLength);
                deletes.addInt(op + MvccCommand.DELETE_HEADER + keyLength);
                deletes.addInt(MvccCommand.secondLength(command, op));
            }
            position = next(position);
        }
        position = opsAt;
        for (int i = 0; i < opCount; i++) {
            final int op = position + MvccCommand.ELEMENT_LENGTH_BYTES;
            if (MvccCommand.type(command, op) == MvccCommand.TXN) {
                final int status = checkNestedIntervals(op, putsBase, deletesBase);
                if (status != MvccError.OK) {
                    return status;
                }
            }
            position = next(position);
        }
        position = opsAt;
        for (int i = 0; i < opCount; i++) {
            final int op = position + MvccCommand.ELEMENT_LENGTH_BYTES;
            if (MvccCommand.type(command, op) == MvccCommand.PUT) {
                final int keyAt = op + MvccCommand.PUT_HEADER;
                final int keyLength = MvccCommand.keyLength(command, op);
                if (isPut(keyAt, keyLength, putsBase, puts.size())
                    || isDeleted(keyAt, keyLength, deletesBase, deletes.size())) {
                    return MvccError.DUPLICATE_KEY;
                }
                puts.addInt(keyAt);
                puts.addInt(keyLength);
            }
            position = next(position);
        }
        return MvccError.OK;
    }

    private int checkNestedIntervals(final int txn, final int putsBase, final int deletesBase) {
        final int putsBefore = puts.size();
        final int deletesBefore = deletes.size();
        int status = checkIntervals(MvccCommand.successOps(command, txn),
            txnCount(txn, MvccCommand.TXN_SUCCESS_COUNT_OFFSET));
        if (status != MvccError.OK) {
            return status;
        }
        status = checkIntervals(MvccCommand.failureOps(command, txn),
            txnCount(txn, MvccCommand.TXN_FAILURE_COUNT_OFFSET));
        if (status != MvccError.OK) {
            return status;
        }
        // Both branches' puts against what came before at this level (puts of earlier nested txns, and the deletes
        // of this level and of earlier nested txns); never against each other.
        for (int i = putsBefore; i < puts.size(); i += 2) {
            final int keyAt = puts.getInt(i);
            final int keyLength = puts.getInt(i + 1);
            if (isPut(keyAt, keyLength, putsBase, putsBefore) || isDeleted(keyAt, keyLength, deletesBase,
                deletesBefore)) {
                return MvccError.DUPLICATE_KEY;
            }
        }
        return MvccError.OK;
    }

    private boolean isPut(final int keyAt, final int keyLength, final int from, final int to) {
        for (int i = from; i < to; i += 2) {
            if (Tables.compare(command, keyAt, keyLength, command, puts.getInt(i), puts.getInt(i + 1)) == 0) {
                return true;
            }
        }
        return false;
    }

    private boolean isDeleted(final int keyAt, final int keyLength, final int from, final int to) {
        for (int i = from; i < to; i += 4) {
            final int startAt = deletes.getInt(i);
            final int startLength = deletes.getInt(i + 1);
            final int endAt = deletes.getInt(i + 2);
            final int endLength = deletes.getInt(i + 3);
            final int fromStart = Tables.compare(command, keyAt, keyLength, command, startAt, startLength);
            if (endLength == 0) {
                if (fromStart == 0) {
                    return true;
                }
            } else if (fromStart >= 0 && ((endLength == 1 && command.getByte(endAt) == 0)
                || Tables.compare(command, keyAt, keyLength, command, endAt, endLength) < 0)) {
                return true;
            }
        }
        return false;
    }

    private int txnCount(final int txn, final int field) {
        return MvccCommand.txnCount(command, txn, field);
    }

    private int next(final int elementPosition) {
        return MvccCommand.nextElement(command, elementPosition);
    }

    /**
     * The length of etcd's Raft encoding of this request ({@code InternalRaftRequest} with a 9-byte ID).
     *
     * @param buffer holds a valid PUT, DELETE_RANGE, RANGE or TXN.
     * @param offset where it starts.
     * @return bytes.
     */
    public static long requestBytes(final DirectBuffer buffer, final int offset) {
        final long body = EtcdSize.op(buffer, offset);
        return RAFT_HEADER_BYTES + 1 + EtcdSize.varint(body) + body;
    }
}
