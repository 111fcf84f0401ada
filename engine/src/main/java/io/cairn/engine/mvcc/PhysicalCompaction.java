package io.cairn.engine.mvcc;

import org.agrona.DirectBuffer;
import org.agrona.ExpandableDirectByteBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.lmdbjava.Cursor;
import org.lmdbjava.GetOp;
import org.lmdbjava.PutFlags;
import org.lmdbjava.SeekOp;
import org.lmdbjava.Txn;

/**
 * The physical pass of a compaction: walks the revision records oldest first, up to the compacted revision, and
 * deletes those no read at or above it can see — a record whose key has a newer revision at or below the compacted
 * one, or a tombstone with nothing older left — with the key index entry that points at it. It runs in steps of a
 * bounded number of records, each in its own write transaction between batches, and its position (the next record
 * to look at) is part of the store's state record, so it resumes after a restart; partial progress never changes
 * what a read sees. A new compaction starts the walk over (records an earlier one kept may be superseded now).
 */
final class PhysicalCompaction {
    private static final PutFlags[] NO_FLAGS = new PutFlags[0];

    private final UnsafeBuffer revisionKey = Tables.direct(Tables.REVISION_KEY_BYTES);
    private final UnsafeBuffer keyRevision = Tables.direct(Tables.REVISION_KEY_BYTES);
    private final IndexKeys indexKeys = new IndexKeys();
    private final ExpandableDirectByteBuffer key = new ExpandableDirectByteBuffer(MvccStore.KEY_BYTES_MAX + 1);
    private long nextMain = MvccStore.FIRST_REVISION;
    private long nextSub;

    /** The walk starts over at the oldest record (a new compaction, a new store). */
    void restart() {
        nextMain = MvccStore.FIRST_REVISION;
        nextSub = 0;
    }

    /**
     * Resumes a walk the state record saved.
     *
     * @param main the next record's main revision.
     * @param sub  its sub-revision.
     */
    void resume(final long main, final long sub) {
        nextMain = main;
        nextSub = sub;
    }

    long nextMain() {
        return nextMain;
    }

    long nextSub() {
        return nextSub;
    }

    /**
     * @param compactRevision the compacted revision.
     * @return true while records at or below it are left to look at.
     */
    boolean pending(final long compactRevision) {
        return nextMain <= compactRevision;
    }

    /**
     * One step, inside the caller's write transaction (the keyspace bound to it).
     *
     * @param tables          the store's tables.
     * @param keyspace        the keyspace, bound to {@code txn}.
     * @param txn             the step's write transaction.
     * @param compactRevision the compacted revision.
     * @param recordsMax      most records looked at.
     * @return records deleted.
     */
    int step(final Tables tables, final Keyspace keyspace, final Txn<DirectBuffer> txn, final long compactRevision,
        final int recordsMax) {
        int deleted = 0;
        try (Cursor<DirectBuffer> cursor = tables.revs.openCursor(txn)) {
            Tables.revisionKey(revisionKey, nextMain, nextSub);
            boolean found = cursor.get(revisionKey, GetOp.MDB_SET_RANGE);
            int looked = 0;
            while (found && looked < recordsMax) {
                final long main = cursor.key().getLong(0, Tables.KEY_ORDER);
                final long sub = cursor.key().getLong(8, Tables.KEY_ORDER);
                if (main > compactRevision) {
                    break;
                }
                final DirectBuffer record = cursor.val();
                if (!keyspace.keptByCompaction(record, main, compactRevision)) {
                    final int keyLength = record.getInt(KeyValueView.KEY_LENGTH_OFFSET, KeyValueView.ORDER);
                    key.putBytes(0, record, KeyValueView.HEADER, keyLength);
                    cursor.delete(NO_FLAGS);
                    Tables.keyRevision(keyRevision, main, sub);
                    tables.keys.delete(txn, indexKeys.of(tables, key, 0, keyLength), keyRevision);
                    deleted++;
                }
                nextMain = main;
                nextSub = sub + 1;
                looked++;
                found = cursor.seek(SeekOp.MDB_NEXT);
            }
            if (!found || cursor.key().getLong(0, Tables.KEY_ORDER) > compactRevision) {
                nextMain = compactRevision + 1;
                nextSub = 0;
            }
        }
        return deleted;
    }
}
