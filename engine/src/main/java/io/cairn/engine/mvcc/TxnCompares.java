package io.cairn.engine.mvcc;

import org.agrona.DirectBuffer;
import org.agrona.collections.IntArrayList;

/**
 * A txn's compares, etcd 3.4's way: every compare on the chosen path (nested txns too) is evaluated against the
 * state before the txn runs; a compare holds when it holds for every key in its range, and a missing key compares as
 * zeros (never by value). Also how a txn's branches are found in the command. The store checks and runs the chosen
 * ops; this class only decides which. Reused: no allocation per txn.
 */
final class TxnCompares {
    private final RangeVisitor compareVisitor = this::compareOne;
    private DirectBuffer compareCommand;
    private int compareOffset;
    private boolean compareSeen;
    private boolean compareHolds;

    /** etcd's quota only weighs a txn's own puts (in either branch), not those of nested txns. */
    static boolean hasDirectPut(final DirectBuffer command, final int txn) {
        final int ops = MvccCommand.txnCount(command, txn, MvccCommand.TXN_SUCCESS_COUNT_OFFSET)
            + MvccCommand.txnCount(command, txn, MvccCommand.TXN_FAILURE_COUNT_OFFSET);
        int position = MvccCommand.successOps(command, txn);
        for (int i = 0; i < ops; i++) {
            if (MvccCommand.type(command, position + MvccCommand.ELEMENT_LENGTH_BYTES) == MvccCommand.PUT) {
                return true;
            }
            position = MvccCommand.nextElement(command, position);
        }
        return false;
    }

    static int branchOps(final DirectBuffer command, final int txn, final boolean holds) {
        return holds ? MvccCommand.successOps(command, txn) : MvccCommand.failureOps(command, txn);
    }

    static int branchCount(final DirectBuffer command, final int txn, final boolean holds) {
        return MvccCommand.txnCount(command, txn,
            holds ? MvccCommand.TXN_SUCCESS_COUNT_OFFSET : MvccCommand.TXN_FAILURE_COUNT_OFFSET);
    }

    /**
     * Evaluates the compares of a txn and of every nested txn on the branch they choose, against the state before
     * the txn, and records each outcome in visiting order: 1 if its compares held (the success branch), 0 if not.
     *
     * @param keyspace the keyspace, bound to the batch's transaction.
     * @param revision the revision the txn sees (before its own).
     * @param command  the command.
     * @param txn      where the txn starts in it.
     * @param path     gets one outcome per txn visited.
     */
    void evaluatePath(final Keyspace keyspace, final long revision, final DirectBuffer command, final int txn,
        final IntArrayList path) {
        final int compares = MvccCommand.txnCount(command, txn, MvccCommand.TXN_COMPARE_COUNT_OFFSET);
        boolean holds = true;
        int position = txn + MvccCommand.TXN_HEADER;
        for (int i = 0; i < compares && holds; i++) {
            holds = compare(keyspace, revision, command, position + MvccCommand.ELEMENT_LENGTH_BYTES);
            position = MvccCommand.nextElement(command, position);
        }
        path.addInt(holds ? 1 : 0);
        int op = branchOps(command, txn, holds);
        final int count = branchCount(command, txn, holds);
        for (int i = 0; i < count; i++) {
            final int element = op + MvccCommand.ELEMENT_LENGTH_BYTES;
            if (MvccCommand.type(command, element) == MvccCommand.TXN) {
                evaluatePath(keyspace, revision, command, element, path);
            }
            op = MvccCommand.nextElement(command, op);
        }
    }

    /** Does the compare hold for every key in its range (etcd: a missing key compares as zeros, never by value)? */
    private boolean compare(final Keyspace keyspace, final long revision, final DirectBuffer command,
        final int offset) {
        compareCommand = command;
        compareOffset = offset;
        compareSeen = false;
        compareHolds = true;
        final int keyLength = MvccCommand.keyLength(command, offset);
        final int keyAt = offset + MvccCommand.COMPARE_HEADER;
        keyspace.scan(command, keyAt, keyLength, command, keyAt + keyLength, MvccCommand.secondLength(command, offset),
            revision, compareVisitor);
        compareCommand = null;
        if (compareSeen) {
            return compareHolds;
        }
        final int target = command.getByte(offset + MvccCommand.COMPARE_TARGET_OFFSET);
        return target != MvccCommand.COMPARE_VALUE && outcome(command, offset,
            Long.compare(0, command.getLong(offset + MvccCommand.COMPARE_NUMBER_OFFSET, MvccCommand.ORDER)));
    }

    private boolean compareOne(final KeyValueView kv) {
        compareSeen = true;
        final DirectBuffer command = compareCommand;
        final int offset = compareOffset;
        final long number = command.getLong(offset + MvccCommand.COMPARE_NUMBER_OFFSET, MvccCommand.ORDER);
        final int c;
        switch (command.getByte(offset + MvccCommand.COMPARE_TARGET_OFFSET)) {
            case MvccCommand.COMPARE_VALUE:
                final int valueAt = offset + MvccCommand.COMPARE_HEADER + MvccCommand.keyLength(command, offset)
                    + MvccCommand.secondLength(command, offset);
                c = Tables.compare(kv.buffer(), kv.valueOffset(), kv.valueLength(), command, valueAt,
                    command.getInt(offset + MvccCommand.COMPARE_VALUE_LENGTH_OFFSET, MvccCommand.ORDER));
                break;
            case MvccCommand.COMPARE_CREATE:
                c = Long.compare(kv.createRevision(), number);
                break;
            case MvccCommand.COMPARE_MOD:
                c = Long.compare(kv.modRevision(), number);
                break;
            case MvccCommand.COMPARE_LEASE:
                c = Long.compare(kv.lease(), number);
                break;
            default:
                c = Long.compare(kv.version(), number);
                break;
        }
        if (!outcome(command, offset, c)) {
            compareHolds = false;
            return false;
        }
        return true;
    }

    private static boolean outcome(final DirectBuffer command, final int offset, final int comparison) {
        switch (command.getByte(offset + MvccCommand.COMPARE_RESULT_OFFSET)) {
            case MvccCommand.COMPARE_EQUAL:
                return comparison == 0;
            case MvccCommand.COMPARE_GREATER:
                return comparison > 0;
            case MvccCommand.COMPARE_LESS:
                return comparison < 0;
            default:
                return comparison != 0;
        }
    }
}
