package io.cairn.engine.mvcc;

import io.cairn.engine.check.Check;
import org.agrona.DirectBuffer;
import org.agrona.collections.IntArrayList;
import org.agrona.collections.LongArrayList;
import org.agrona.concurrent.UnsafeBuffer;
import org.lmdbjava.Cursor;
import org.lmdbjava.GetOp;
import org.lmdbjava.PutFlags;
import org.lmdbjava.SeekOp;
import org.lmdbjava.Txn;

/**
 * Reads of the keyspace inside one LMDB transaction (a reader's, or the writer's): the latest revision of a key at a
 * revision, scans of a range at a revision, and etcd's Range semantics (count, limit, more, filters, sort). Shared by
 * {@link MvccStore} (inside its write transaction, so reads see the batch's own writes) and {@link MvccReader}.
 *
 * <p>A key's revisions are the dups of its entry in {@code keys}, newest first: the first dup is the latest, and
 * {@code MDB_GET_BOTH_RANGE} with {@code Long.MAX_VALUE - rev} finds the latest at or below {@code rev} in one
 * descent. Views handed out point into LMDB's map and stay valid until the transaction ends or writes.
 */
final class Keyspace {
    static final long NULL_REVISION = 0;
    private static final int KEY_SCRATCH_BYTES = 512;
    private static final PutFlags[] NO_PUT_FLAGS = {};

    private final Tables tables;
    private final KeyValueView kv = new KeyValueView();
    private final KeyValueView other = new KeyValueView();
    private final UnsafeBuffer keyView = new UnsafeBuffer(0, 0);
    private final IndexKeys indexKeys = new IndexKeys();
    private final LongArrayList groupAddress = new LongArrayList();
    private final IntArrayList groupLength = new IntArrayList();
    private final LongArrayList groupMod = new LongArrayList();
    private final UnsafeBuffer groupPrefix = Tables.direct(IndexKeys.GROUP_PREFIX);
    private int[] groupOrder = new int[16];
    private final UnsafeBuffer keyScratch = Tables.direct(KEY_SCRATCH_BYTES);
    private final UnsafeBuffer resumeKey = Tables.direct(KEY_SCRATCH_BYTES);
    private final UnsafeBuffer resumeView = new UnsafeBuffer(0, 0);
    private final UnsafeBuffer heldKey = new UnsafeBuffer(0, 0);
    private final UnsafeBuffer probe = Tables.direct(Tables.REVISION_KEY_BYTES);
    private final UnsafeBuffer revisionKey = Tables.direct(Tables.REVISION_KEY_BYTES);
    private final LongArrayList collectedAddress = new LongArrayList();
    private final IntArrayList collectedLength = new IntArrayList();
    private final LongArrayList collectedMod = new LongArrayList();
    private int[] order = new int[64];
    private int[] orderScratch = new int[64];
    private final RangeVisitor collector = this::collect;
    private Txn<DirectBuffer> txn;
    private Cursor<DirectBuffer> keysCursor;

    // One range in progress (fields, so the scan callback allocates nothing).
    private RangeVisitor rangeOut;
    private long rangeCount;
    private long rangeEmitted;
    private long rangeLimit;
    private boolean rangeCollect;
    private boolean rangeCountOnly;
    private boolean rangeMore;
    private long minMod;
    private long maxMod;
    private long minCreate;
    private long maxCreate;
    private int sortTarget;

    Keyspace(final Tables tables) {
        this.tables = tables;
    }

    void bind(final Txn<DirectBuffer> txn) {
        this.txn = txn;
        if (keysCursor != null) {
            if (txn.isReadOnly()) {
                keysCursor.renew(txn);
            } else {
                keysCursor = null;
            }
        }
    }

    /**
     * Closes what belongs to a write transaction; call before it commits or aborts.
     */
    void release() {
        if (keysCursor != null && !txn.isReadOnly()) {
            keysCursor.close();
            keysCursor = null;
        }
        txn = null;
    }

    /**
     * Closes the cursor whatever the transaction (a reader closing for good).
     */
    void close() {
        if (keysCursor != null) {
            keysCursor.close();
            keysCursor = null;
        }
        txn = null;
    }

    KeyValueView view() {
        return kv;
    }

    DirectBuffer lmdbKey(final DirectBuffer buffer, final int offset, final int length) {
        return indexKeys.of(tables, buffer, offset, length);
    }

    /**
     * @param indexKey an index key ({@link IndexKeys}: from {@code lease_keys} or the keys table).
     * @return {@link #view()} over its key's newest record (which says the key), or null when it has none.
     */
    KeyValueView newestOfIndex(final DirectBuffer indexKey) {
        final DirectBuffer newest = tables.keys.get(txn, Tables.offHeap(indexKey, 0, indexKey.capacity(), keyView,
            keyScratch));
        if (newest == null) {
            return null;
        }
        record(Tables.keyRevisionMain(newest), Tables.keyRevisionSub(newest));
        return kv;
    }

    /** Where the index key may be a digest, the record found must be the key's own (a digest collision is not). */
    private long checked(final long main, final DirectBuffer key, final int offset, final int length) {
        if (main != NULL_REVISION && IndexKeys.checkRecord(length)) {
            Check.state(Tables.compare(kv.buffer(), kv.keyOffset(), kv.keyLength(), key, offset, length) == 0,
                "two keys share an index key", length);
        }
        return main;
    }

    /**
     * Finds the key's latest revision at or below {@code atRevision} and wraps {@link #view()} over its record
     * (which may be a tombstone).
     *
     * @return its mod revision, or {@link #NULL_REVISION} when the key had no revision by then.
     */
    long latest(final DirectBuffer key, final int offset, final int length, final long atRevision) {
        final DirectBuffer lmdbKey = lmdbKey(key, offset, length);
        final DirectBuffer newest = tables.keys.get(txn, lmdbKey);
        if (newest == null) {
            return NULL_REVISION;
        }
        final long main = Tables.keyRevisionMain(newest);
        if (main <= atRevision) {
            return checked(record(main, Tables.keyRevisionSub(newest)), key, offset, length);
        }
        final Cursor<DirectBuffer> cursor = keysCursor();
        Tables.keyRevision(probe, atRevision, 0);
        if (!cursor.get(lmdbKey, probe, SeekOp.MDB_GET_BOTH_RANGE)) {
            return NULL_REVISION;
        }
        final DirectBuffer dup = cursor.val();
        return checked(record(Tables.keyRevisionMain(dup), Tables.keyRevisionSub(dup)), key, offset, length);
    }

    /**
     * The writer's {@link #latest} before it writes the key: the newest revision, found with the keys cursor so that
     * {@link #putRevision} on the same key finds the cursor already on the key's leaf page and skips a second
     * descent of the tree (LMDB's cursor-set fast path). Only inside a write transaction, never during a scan.
     *
     * @return the key's newest mod revision with {@link #view()} over its record, or {@link #NULL_REVISION}.
     */
    long latestToWrite(final DirectBuffer key, final int offset, final int length) {
        final Cursor<DirectBuffer> cursor = keysCursor();
        if (!cursor.get(lmdbKey(key, offset, length), GetOp.MDB_SET_KEY)) {
            return NULL_REVISION;
        }
        final DirectBuffer newest = cursor.val();
        return checked(record(Tables.keyRevisionMain(newest), Tables.keyRevisionSub(newest)), key, offset, length);
    }

    /**
     * Adds a revision to a key in the write transaction, through the keys cursor (see {@link #latestToWrite}).
     *
     * @param lmdbKey the key, in memory LMDB can read (off-heap).
     * @param dup     its revision ({@link Tables#keyRevision}).
     */
    void putRevision(final DirectBuffer lmdbKey, final DirectBuffer dup) {
        keysCursor().put(lmdbKey, dup, NO_PUT_FLAGS);
    }

    private long record(final long main, final long sub) {
        Tables.revisionKey(revisionKey, main, sub);
        final DirectBuffer record = tables.revs.get(txn, revisionKey);
        Check.state(record != null, "keys table names a revision that revs lacks", main, sub);
        kv.wrap(record, 0, record.capacity(), main);
        return main;
    }

    /**
     * Visits every live key in the range at {@code atRevision}, in key order.
     *
     * @param end       range end: length 0 for the key alone, one zero byte for every key from the key on.
     * @param visitor   gets each live key-value; returning false stops the scan.
     */
    void scan(
        final DirectBuffer key, final int keyOffset, final int keyLength,
        final DirectBuffer end, final int endOffset, final int endLength,
        final long atRevision, final RangeVisitor visitor) {
        if (endLength == 0) {
            if (latest(key, keyOffset, keyLength, atRevision) != NULL_REVISION && !kv.isTombstone()) {
                visitor.onKeyValue(kv);
            }
            return;
        }
        final boolean unbounded = endLength == 1 && end.getByte(endOffset) == 0;
        if (!unbounded && Tables.compare(key, keyOffset, keyLength, end, endOffset, endLength) >= 0) {
            return;
        }
        final Cursor<DirectBuffer> cursor = keysCursor();
        // A start key that may fall inside a group starts at its group's beginning: digests say nothing of order.
        boolean found = cursor.get(lmdbKey(key, keyOffset, Math.min(keyLength, IndexKeys.GROUP_PREFIX)),
            GetOp.MDB_SET_RANGE);
        while (found) {
            final DirectBuffer current = cursor.key();
            if (IndexKeys.grouped(current.capacity())) {
                if (!unbounded
                    && Tables.compare(current, 0, IndexKeys.GROUP_PREFIX, end, endOffset, endLength) >= 0) {
                    return;
                }
                final int next = scanGroup(cursor, key, keyOffset, keyLength, end, endOffset, endLength, unbounded,
                    atRevision, visitor);
                if (next < 0) {
                    return;
                }
                found = next > 0;
                continue;
            }
            if (!unbounded && Tables.compare(current, 0, current.capacity(), end, endOffset, endLength) >= 0) {
                return;
            }
            final DirectBuffer newest = cursor.val();
            long main = Tables.keyRevisionMain(newest);
            long sub = Tables.keyRevisionSub(newest);
            if (main > atRevision) {
                heldKey.wrap(current.addressOffset(), current.capacity());
                main = olderRevision(cursor, atRevision);
                sub = main == NULL_REVISION ? 0 : Tables.keyRevisionSub(cursor.val());
            }
            if (main != NULL_REVISION) {
                record(main, sub);
                if (!kv.isTombstone() && !visitor.onKeyValue(kv)) {
                    return;
                }
            }
            found = cursor.seek(SeekOp.MDB_NEXT_NODUP);
        }
    }

    /**
     * A group of index keys ({@link IndexKeys}) in a scan: every key of it live at the revision, taken from its
     * record and visited in the keys' own order, those in the range only. The cursor starts on the group's first
     * index key and ends past its last.
     *
     * @return -1 when the visitor stopped, 1 when the cursor is on the next index key, 0 at the table's end.
     */
    private int scanGroup(final Cursor<DirectBuffer> cursor,
        final DirectBuffer key, final int keyOffset, final int keyLength,
        final DirectBuffer end, final int endOffset, final int endLength, final boolean unbounded,
        final long atRevision, final RangeVisitor visitor) {
        groupPrefix.putBytes(0, cursor.key(), 0, IndexKeys.GROUP_PREFIX);
        groupAddress.clear();
        groupLength.clear();
        groupMod.clear();
        boolean found = true;
        while (found) {
            final DirectBuffer current = cursor.key();
            if (!IndexKeys.grouped(current.capacity())
                || Tables.compare(current, 0, IndexKeys.GROUP_PREFIX, groupPrefix, 0, IndexKeys.GROUP_PREFIX) != 0) {
                break;
            }
            final DirectBuffer newest = cursor.val();
            long main = Tables.keyRevisionMain(newest);
            long sub = Tables.keyRevisionSub(newest);
            if (main > atRevision) {
                heldKey.wrap(current.addressOffset(), current.capacity());
                main = olderRevision(cursor, atRevision);
                sub = main == NULL_REVISION ? 0 : Tables.keyRevisionSub(cursor.val());
            }
            if (main != NULL_REVISION) {
                record(main, sub);
                if (!kv.isTombstone()
                    && Tables.compare(kv.buffer(), kv.keyOffset(), kv.keyLength(), key, keyOffset, keyLength) >= 0
                    && (unbounded || Tables.compare(kv.buffer(), kv.keyOffset(), kv.keyLength(),
                    end, endOffset, endLength) < 0)) {
                    groupAddress.addLong(kv.buffer().addressOffset());
                    groupLength.addInt(kv.recordLength());
                    groupMod.addLong(main);
                }
            }
            found = cursor.seek(SeekOp.MDB_NEXT_NODUP);
        }
        final int n = groupAddress.size();
        if (groupOrder.length < n) {
            groupOrder = new int[Math.max(n, groupOrder.length * 2)];
        }
        for (int i = 0; i < n; i++) { // insertion sort by key: groups are small
            int j = i;
            while (j > 0 && compareGroup(groupOrder[j - 1], i) > 0) {
                groupOrder[j] = groupOrder[j - 1];
                j--;
            }
            groupOrder[j] = i;
        }
        for (int i = 0; i < n; i++) {
            final int at = groupOrder[i];
            kv.wrapAddress(groupAddress.getLong(at), groupLength.getInt(at), groupMod.getLong(at));
            if (!visitor.onKeyValue(kv)) {
                return -1;
            }
        }
        return found ? 1 : 0;
    }

    private int compareGroup(final int a, final int b) {
        kv.wrapAddress(groupAddress.getLong(a), groupLength.getInt(a), groupMod.getLong(a));
        other.wrapAddress(groupAddress.getLong(b), groupLength.getInt(b), groupMod.getLong(b));
        return Tables.compare(kv.buffer(), kv.keyOffset(), kv.keyLength(),
            other.buffer(), other.keyOffset(), other.keyLength());
    }

    /**
     * Positions the cursor, which sits on {@link #heldKey}'s newest revision, on its latest revision at or below
     * {@code atRevision}; when there is none, puts it back on the key so that {@code MDB_NEXT_NODUP} moves on.
     */
    private long olderRevision(final Cursor<DirectBuffer> cursor, final long atRevision) {
        Tables.keyRevision(probe, atRevision, 0);
        if (cursor.get(heldKey, probe, SeekOp.MDB_GET_BOTH_RANGE)) {
            return Tables.keyRevisionMain(cursor.val());
        }
        resumeKey.putBytes(0, heldKey, 0, heldKey.capacity());
        resumeView.wrap(resumeKey, 0, heldKey.capacity());
        Check.state(cursor.get(resumeView, GetOp.MDB_SET_KEY), "key vanished during a scan");
        return NULL_REVISION;
    }

    private Cursor<DirectBuffer> keysCursor() {
        if (keysCursor == null) {
            keysCursor = tables.keys.openCursor(txn);
        }
        return keysCursor;
    }

    /**
     * etcd's Range on a RANGE command: count every live key in the range at the revision; prune by the revision
     * filters; sort; cut at the limit and say whether there was more. What survives goes to {@code out}.
     *
     * @return {@link MvccError#OK}, or COMPACTED / FUTURE_REVISION (nothing visited).
     */
    int range(
        final DirectBuffer command, final int offset, final long currentRevision, final long compactRevision,
        final RangeVisitor out) {
        long revision = command.getLong(offset + MvccCommand.RANGE_REVISION_OFFSET, MvccCommand.ORDER);
        if (revision > currentRevision) {
            return MvccError.FUTURE_REVISION;
        }
        if (revision <= 0) {
            revision = currentRevision;
        }
        if (revision < compactRevision) {
            return MvccError.COMPACTED;
        }
        final int flags = command.getByte(offset + MvccCommand.RANGE_FLAGS_OFFSET) & 0xFF;
        int sortOrder = command.getByte(offset + MvccCommand.RANGE_SORT_ORDER_OFFSET);
        sortTarget = command.getByte(offset + MvccCommand.RANGE_SORT_TARGET_OFFSET);
        minMod = command.getLong(offset + MvccCommand.RANGE_MIN_MOD_OFFSET, MvccCommand.ORDER);
        maxMod = command.getLong(offset + MvccCommand.RANGE_MAX_MOD_OFFSET, MvccCommand.ORDER);
        minCreate = command.getLong(offset + MvccCommand.RANGE_MIN_CREATE_OFFSET, MvccCommand.ORDER);
        maxCreate = command.getLong(offset + MvccCommand.RANGE_MAX_CREATE_OFFSET, MvccCommand.ORDER);
        if (sortTarget != MvccCommand.TARGET_KEY && sortOrder == MvccCommand.SORT_NONE) {
            sortOrder = MvccCommand.SORT_ASCEND; // etcd: a sort target without an order sorts ascending
        }
        rangeOut = out;
        rangeCount = 0;
        rangeEmitted = 0;
        rangeMore = false;
        rangeLimit = command.getLong(offset + MvccCommand.RANGE_LIMIT_OFFSET, MvccCommand.ORDER);
        rangeCountOnly = (flags & MvccCommand.FLAG_COUNT_ONLY) != 0;
        rangeCollect = !rangeCountOnly && (sortOrder == MvccCommand.SORT_DESCEND
            || sortTarget != MvccCommand.TARGET_KEY || minMod != 0 || maxMod != 0 || minCreate != 0 || maxCreate != 0);
        collectedAddress.clear();
        collectedLength.clear();
        collectedMod.clear();

        final int keyLength = MvccCommand.keyLength(command, offset);
        final int endLength = MvccCommand.secondLength(command, offset);
        final int keyOffset = offset + MvccCommand.RANGE_HEADER;
        scan(command, keyOffset, keyLength, command, keyOffset + keyLength, endLength, revision, collector);
        if (rangeCollect) {
            emitCollected(sortOrder);
        }
        rangeOut = null;
        return MvccError.OK;
    }

    long rangeCount() {
        return rangeCount;
    }

    boolean rangeMore() {
        return rangeMore;
    }

    private boolean collect(final KeyValueView found) {
        rangeCount++;
        if (rangeCountOnly) {
            return true;
        }
        if (rangeCollect) {
            if (passesFilters(found)) {
                collectedAddress.addLong(found.buffer().addressOffset());
                collectedLength.addInt(found.recordLength());
                collectedMod.addLong(found.modRevision());
            }
            return true;
        }
        if (rangeLimit > 0 && rangeEmitted >= rangeLimit) {
            rangeMore = true;
            return true;
        }
        rangeEmitted++;
        rangeOut.onKeyValue(found);
        return true;
    }

    private boolean passesFilters(final KeyValueView found) {
        return (minMod == 0 || found.modRevision() >= minMod)
            && (maxMod == 0 || found.modRevision() <= maxMod)
            && (minCreate == 0 || found.createRevision() >= minCreate)
            && (maxCreate == 0 || found.createRevision() <= maxCreate);
    }

    private void emitCollected(final int sortOrder) {
        final int n = collectedAddress.size();
        if (order.length < n) {
            order = new int[Math.max(n, order.length * 2)];
            orderScratch = new int[order.length];
        }
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        if (sortOrder != MvccCommand.SORT_NONE && !(sortOrder == MvccCommand.SORT_ASCEND
            && sortTarget == MvccCommand.TARGET_KEY)) {
            mergeSort(0, n, sortOrder == MvccCommand.SORT_DESCEND);
        }
        final long emit = rangeLimit > 0 ? Math.min(rangeLimit, n) : n;
        rangeMore = emit < n;
        for (int i = 0; i < emit; i++) {
            final int at = order[i];
            kv.wrapAddress(collectedAddress.getLong(at), collectedLength.getInt(at), collectedMod.getLong(at));
            rangeOut.onKeyValue(kv);
        }
    }

    /** Stable merge sort of {@code order[from, to)} by the sort target; ties keep key order. */
    private void mergeSort(final int from, final int to, final boolean descend) {
        if (to - from < 2) {
            return;
        }
        final int middle = (from + to) >>> 1;
        mergeSort(from, middle, descend);
        mergeSort(middle, to, descend);
        int left = from;
        int right = middle;
        int out = from;
        while (left < middle && right < to) {
            final int c = compareCollected(order[left], order[right]);
            if (descend ? c >= 0 : c <= 0) {
                orderScratch[out++] = order[left++];
            } else {
                orderScratch[out++] = order[right++];
            }
        }
        while (left < middle) {
            orderScratch[out++] = order[left++];
        }
        while (right < to) {
            orderScratch[out++] = order[right++];
        }
        System.arraycopy(orderScratch, from, order, from, to - from);
    }

    private int compareCollected(final int a, final int b) {
        kv.wrapAddress(collectedAddress.getLong(a), collectedLength.getInt(a), collectedMod.getLong(a));
        other.wrapAddress(collectedAddress.getLong(b), collectedLength.getInt(b), collectedMod.getLong(b));
        switch (sortTarget) {
            case MvccCommand.TARGET_VERSION:
                return Long.compare(kv.version(), other.version());
            case MvccCommand.TARGET_CREATE:
                return Long.compare(kv.createRevision(), other.createRevision());
            case MvccCommand.TARGET_MOD:
                return Long.compare(kv.modRevision(), other.modRevision());
            case MvccCommand.TARGET_VALUE:
                return Tables.compare(kv.buffer(), kv.valueOffset(), kv.valueLength(),
                    other.buffer(), other.valueOffset(), other.valueLength());
            default:
                return Tables.compare(kv.buffer(), kv.keyOffset(), kv.keyLength(),
                    other.buffer(), other.keyOffset(), other.keyLength());
        }
    }

    /**
     * Compaction's rule. A record at or below the compacted revision stays only if it is its key's latest revision
     * at that point and not a tombstone below it (a tombstone at it stays, so that a watch from the compacted
     * revision still sees the deletes made there). Deleting the others never changes what a read at or above the
     * compacted revision sees.
     *
     * @param record a record from {@code revs} (LMDB memory).
     * @param main   its revision.
     */
    /**
     * @return true if {@code record} (of revision {@code main}) is its key's value as of {@code atRevision}: the key's
     *     latest revision by then, and not a deletion.
     */
    boolean visibleAt(final DirectBuffer record, final long main, final long atRevision) {
        if ((record.getByte(KeyValueView.FLAGS_OFFSET) & KeyValueView.FLAG_TOMBSTONE) != 0) {
            return false;
        }
        final int keyLength = record.getInt(KeyValueView.KEY_LENGTH_OFFSET, KeyValueView.ORDER);
        heldKey.wrap(record, KeyValueView.HEADER, keyLength);
        return latest(heldKey, 0, keyLength, atRevision) == main;
    }

    boolean keptByCompaction(final DirectBuffer record, final long main, final long compactRevision) {
        final int keyLength = record.getInt(KeyValueView.KEY_LENGTH_OFFSET, KeyValueView.ORDER);
        final boolean tombstone = (record.getByte(KeyValueView.FLAGS_OFFSET) & KeyValueView.FLAG_TOMBSTONE) != 0;
        heldKey.wrap(record, KeyValueView.HEADER, keyLength);
        return latest(heldKey, 0, keyLength, compactRevision) == main && !(tombstone && main < compactRevision);
    }
}
