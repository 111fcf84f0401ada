package io.cairn.engine.mvcc;

import io.cairn.engine.check.Check;
import io.cairn.engine.lease.LeaseVisitor;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.lmdbjava.Cursor;
import org.lmdbjava.GetOp;
import org.lmdbjava.SeekOp;
import org.lmdbjava.Txn;

import java.util.concurrent.locks.Lock;

/**
 * A read-only view of the keyspace as of one committed state: one LMDB read transaction, reused across
 * {@link #refresh()}es, so a steady reader allocates nothing. Results are views into LMDB's map ({@link #range}) or
 * copies into a response buffer ({@link #rangeInto}). One thread at a time; any number of readers beside the writer.
 */
public final class MvccReader implements AutoCloseable {
    private final MvccStore store;
    private final Lock lock;
    private final MvccValidator validator;
    private Tables tables;
    private Txn<DirectBuffer> txn;
    private Keyspace keyspace;
    private final KeyValueView change = new KeyValueView();
    /** etcd's bucket name, where its HashKV starts. */
    private static final byte[] BUCKET_NAME = {'k', 'e', 'y'};
    private final org.agrona.ExpandableArrayBuffer hashScratch = new org.agrona.ExpandableArrayBuffer(1024);
    private final UnsafeBuffer revisionKey = Tables.direct(Tables.REVISION_KEY_BYTES);
    private final UnsafeBuffer leaseKey = Tables.direct(Long.BYTES);
    private final RangeEncoder encoder = new RangeEncoder();
    private Cursor<DirectBuffer> revsCursor;
    private long revision;
    private long compactRevision;
    private long appliedIndex;
    private long appliedTerm;
    private boolean closed;
    /** The transaction is reset ({@link #park}): renewed, not reset again, by the next use. */
    private boolean parked;


    MvccReader(final MvccStore store, final MvccValidator validator) {
        this.store = store;
        this.lock = store.readLock();
        this.validator = validator;
        lock.lock();
        try {
            attach();
        } finally {
            lock.unlock();
        }
    }

    /** Opens a read transaction on the store's current environment (under the read lock). */
    private void attach() {
        tables = store.tables();
        txn = tables.env.txnRead();
        keyspace = new Keyspace(tables);
        keyspace.bind(txn);
        revsCursor = null;
        loadState();
    }

    /**
     * Lets go of the environment: the store is about to close or replace it (called under the write lock, so no call
     * of this reader is running). The next call reattaches.
     */
    void detach() {
        if (tables == null) {
            return;
        }
        unpark(); // a reset transaction is renewed before it is closed, so that LMDB frees its reader slot
        if (revsCursor != null) {
            revsCursor.close();
            revsCursor = null;
        }
        keyspace.close();
        txn.close();
        txn = null;
        tables = null;
    }

    private void enter() {
        lock.lock();
        Check.state(!closed, "reader closed");
        if (tables == null) {
            attach();
        } else if (parked) {
            renew();
        }
    }

    private void unpark() {
        if (parked) {
            txn.renew();
            parked = false;
        }
    }

    // A parked view used without refresh(): the latest state, as refresh() gives.
    private void renew() {
        unpark();
        keyspace.bind(txn);
        if (revsCursor != null) {
            revsCursor.renew(txn);
        }
        loadState();
    }

    /**
     * Lets go of the snapshot this view holds, as {@link #release} does, but keeps its transaction and cursors
     * (LMDB's {@code mdb_txn_reset}): no page stays pinned, and the next use renews them without allocating. For a
     * reader that is used often and idles in between (a pool, a hot path that must not allocate).
     */
    public void park() {
        lock.lock();
        try {
            if (!closed && tables != null && !parked) {
                txn.reset();
                parked = true;
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Lets go of the state this view holds. An open LMDB read transaction pins its snapshot: pages freed by later
     * writes cannot be reused while it lives, so a reader left idle on an old view makes the file grow with every
     * write. Call this when a reader goes idle between uses (a pool, a loop that reads now and then); the next call
     * opens a fresh view of the latest state (that reattachment allocates a little: keep hot readers attached).
     */
    public void release() {
        lock.lock();
        try {
            if (!closed) {
                detach();
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Moves the view to the latest committed state.
     */
    public void refresh() {
        lock.lock();
        try {
            Check.state(!closed, "reader closed");
            if (tables == null) {
                attach();
                return;
            }
            if (parked) {
                renew();
                return;
            }
            txn.reset();
            txn.renew();
            keyspace.bind(txn);
            if (revsCursor != null) {
                revsCursor.renew(txn);
            }
            loadState();
        } finally {
            lock.unlock();
        }
    }

    private void loadState() {
        final DirectBuffer state = tables.meta.get(txn, tables.stateKey);
        Check.state(state != null, "keyspace state record missing");
        appliedIndex = state.getLong(Tables.STATE_APPLIED_INDEX, KeyValueView.ORDER);
        appliedTerm = state.getLong(Tables.STATE_APPLIED_TERM, KeyValueView.ORDER);
        revision = state.getLong(Tables.STATE_REVISION, KeyValueView.ORDER);
        compactRevision = state.getLong(Tables.STATE_COMPACT_REVISION, KeyValueView.ORDER);
    }

    /**
     * @return the revision this view shows.
     */
    public long revision() {
        return revision;
    }

    /**
     * @return the compacted revision in this view.
     */
    public long compactRevision() {
        return compactRevision;
    }

    /**
     * @return the last Raft index applied in this view (a linearizable read waits until it reaches the read index).
     */
    public long appliedIndex() {
        return appliedIndex;
    }

    /**
     * @return the term of {@link #appliedIndex()}.
     */
    public long appliedTerm() {
        return appliedTerm;
    }

    /**
     * etcd's Range, handing each key-value to {@code visitor} as a view into LMDB (valid until {@link #refresh()}
     * or {@link #close()}); then {@link #count()} and {@link #more()} tell the rest.
     *
     * @param command a RANGE command ({@link MvccCommand} layout), ending at the buffer's capacity or before.
     * @param offset  where it starts.
     * @param visitor receives the key-values, in order.
     * @return {@link MvccError#OK}, or why etcd would refuse it (EMPTY_KEY, COMPACTED, FUTURE_REVISION, ...).
     */
    public int range(final DirectBuffer command, final int offset, final RangeVisitor visitor) {
        enter();
        try {
            if (MvccCommand.type(command, offset) != MvccCommand.RANGE) {
                return MvccError.MALFORMED;
            }
            final int length = MvccCommand.RANGE_HEADER + Math.max(0, MvccCommand.keyLength(command, offset))
                + Math.max(0, MvccCommand.secondLength(command, offset));
            final int status = length <= command.capacity() - offset
                ? validator.validate(command, offset, length) : MvccError.MALFORMED;
            return status != MvccError.OK
                ? status : keyspace.range(command, offset, revision, compactRevision, visitor);
        } finally {
            lock.unlock();
        }
    }

    /**
     * @return the number of keys in the last range (before limit and filters, as etcd counts).
     */
    public long count() {
        return keyspace.rangeCount();
    }

    /**
     * @return true when the last range's limit cut it short.
     */
    public boolean more() {
        return keyspace.rangeMore();
    }

    /**
     * etcd's Range, copied into a response ({@link MvccResponse} RANGE layout).
     *
     * @param command  a RANGE command.
     * @param offset   where it starts.
     * @param response where to write (an expandable buffer).
     * @param at       where in it.
     * @return the response's length.
     */
    public int rangeInto(final DirectBuffer command, final int offset, final MutableDirectBuffer response,
        final int at) {
        final int status = range(command, offset, encoder.begin(response, at, command, offset));
        response.putInt(at + MvccResponse.STATUS_OFFSET, status, MvccResponse.ORDER);
        response.putInt(at + MvccResponse.TYPE_OFFSET, MvccCommand.RANGE, MvccResponse.ORDER);
        response.putLong(at + MvccResponse.REVISION_OFFSET, revision, MvccResponse.ORDER);
        if (status != MvccError.OK) {
            encoder.abandon();
            return MvccResponse.HEADER;
        }
        return encoder.finish(at, count(), more()) - at;
    }

    /**
     * Visits every change to keys in a range with a revision in {@code [fromRevision, toRevision]}, in revision
     * order: how a watcher catches up from a historical revision.
     *
     * @param fromRevision first revision wanted; must not be below the compacted revision.
     * @param toRevision   last revision wanted (capped at this view's revision).
     * @param key          range start.
     * @param keyOffset    where it starts.
     * @param keyLength    its length.
     * @param end          range end: length 0 for the key alone, one zero byte for every key from the key on.
     * @param endOffset    where it starts.
     * @param endLength    its length.
     * @param previous     hand over each change's previous key-value too.
     * @param visitor      gets the changes; returning false stops.
     * @return {@link MvccError#OK} or COMPACTED.
     */
    public int changes(
        final long fromRevision, final long toRevision,
        final DirectBuffer key, final int keyOffset, final int keyLength,
        final DirectBuffer end, final int endOffset, final int endLength,
        final boolean previous, final ChangeVisitor visitor) {
        enter();
        try {
            if (fromRevision < compactRevision) {
                return MvccError.COMPACTED;
            }
            final long last = Math.min(toRevision, revision);
            final Cursor<DirectBuffer> cursor = revsCursor();
            Tables.revisionKey(revisionKey, Math.max(fromRevision, 1), 0);
            boolean found = cursor.get(revisionKey, GetOp.MDB_SET_RANGE);
            final boolean unbounded = endLength == 1 && end.getByte(endOffset) == 0;
            while (found) {
                final long main = cursor.key().getLong(0, Tables.KEY_ORDER);
                if (main > last) {
                    break;
                }
                final DirectBuffer record = cursor.val();
                change.wrap(record, 0, record.capacity(), main);
                if (inRange(key, keyOffset, keyLength, end, endOffset, endLength, unbounded)) {
                    KeyValueView before = null;
                    if (previous) {
                        final long at =
                            keyspace.latest(change.buffer(), change.keyOffset(), change.keyLength(), main - 1);
                        if (at != Keyspace.NULL_REVISION && !keyspace.view().isTombstone()) {
                            before = keyspace.view();
                        }
                    }
                    if (!visitor.onChange(change, before)) {
                        break;
                    }
                }
                found = cursor.seek(SeekOp.MDB_NEXT);
            }
            return MvccError.OK;
        } finally {
            lock.unlock();
        }
    }

    private boolean inRange(
        final DirectBuffer key, final int keyOffset, final int keyLength,
        final DirectBuffer end, final int endOffset, final int endLength, final boolean unbounded) {
        final int fromStart = Tables.compare(change.buffer(), change.keyOffset(), change.keyLength(),
            key, keyOffset, keyLength);
        if (endLength == 0) {
            return fromStart == 0;
        }
        return fromStart >= 0 && (unbounded || Tables.compare(change.buffer(), change.keyOffset(),
            change.keyLength(), end, endOffset, endLength) < 0);
    }

    private Cursor<DirectBuffer> revsCursor() {
        if (revsCursor == null) {
            revsCursor = tables.revs.openCursor(txn);
        }
        return revsCursor;
    }

    /**
     * @param leaseId a lease.
     * @return its granted TTL in seconds, or -1 when it does not exist.
     */
    public long leaseTtl(final long leaseId) {
        enter();
        try {
            leaseKey.putLong(0, leaseId, Tables.KEY_ORDER);
            final DirectBuffer ttl = tables.leases.get(txn, leaseKey);
            return ttl == null ? -1 : ttl.getLong(0, KeyValueView.ORDER);
        } finally {
            lock.unlock();
        }
    }

    /**
     * @param leaseId a lease.
     * @param visitor gets each key attached to it, in key order.
     * @return how many keys.
     */
    public int leaseKeys(final long leaseId, final KeyVisitor visitor) {
        enter();
        try {
            leaseKey.putLong(0, leaseId, Tables.KEY_ORDER);
            int count = 0;
            try (Cursor<DirectBuffer> cursor = tables.leaseKeys.openCursor(txn)) {
                boolean found = cursor.get(leaseKey, GetOp.MDB_SET_KEY);
                while (found) {
                    final KeyValueView kv = keyspace.newestOfIndex(cursor.val()); // the key, not its index key
                    Check.state(kv != null, "lease_keys names a key the keys table lacks", leaseId);
                    visitor.onKey(kv.buffer(), kv.keyOffset(), kv.keyLength());
                    count++;
                    found = cursor.seek(SeekOp.MDB_NEXT_DUP);
                }
            }
            return count;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Reads the whole authentication table (AUTH commands' users, roles, flags), in key order. For a cache that the
     * server keeps per {@link MvccStore#authChanges()}: small, read when it changed, never per request.
     *
     * @param visitor gets each key and value, copied.
     * @return how many entries.
     */
    public int authEntries(final java.util.function.BiConsumer<byte[], byte[]> visitor) {
        enter();
        try {
            int count = 0;
            try (Cursor<DirectBuffer> cursor = tables.auth.openCursor(txn)) {
                boolean found = cursor.first();
                while (found) {
                    final byte[] key = new byte[cursor.key().capacity()];
                    cursor.key().getBytes(0, key);
                    final byte[] value = new byte[cursor.val().capacity()];
                    cursor.val().getBytes(0, value);
                    visitor.accept(key, value);
                    count++;
                    found = cursor.next();
                }
            }
            return count;
        } finally {
            lock.unlock();
        }
    }

    /**
     * @param visitor gets every lease, in ID order.
     * @return how many leases.
     */
    public int leases(final LeaseVisitor visitor) {
        enter();
        try {
            int count = 0;
            try (Cursor<DirectBuffer> cursor = tables.leases.openCursor(txn)) {
                boolean found = cursor.first();
                while (found) {
                    visitor.onLease(cursor.key().getLong(0, Tables.KEY_ORDER),
                        cursor.val().getLong(0, KeyValueView.ORDER));
                    count++;
                    found = cursor.next();
                }
            }
            return count;
        } finally {
            lock.unlock();
        }
    }

    /**
     * @param visitor gets every raised alarm.
     * @return how many.
     */
    public int alarms(final AlarmVisitor visitor) {
        enter();
        try {
            int count = 0;
            try (Cursor<DirectBuffer> cursor = tables.alarms.openCursor(txn)) {
                boolean found = cursor.first();
                while (found) {
                    final DirectBuffer key = cursor.key();
                    visitor.onAlarm(key.getLong(1, Tables.KEY_ORDER), key.getByte(0));
                    count++;
                    found = cursor.next();
                }
            }
            return count;
        } finally {
            lock.unlock();
        }
    }

    /**
     * etcd 3.4's HashKV, byte for byte, so that {@code etcdctl endpoint hashkv} gives the same number on etcd and on
     * Cairn for the same history: the CRC-32C (Castagnoli) of "key" followed by each record of etcd's {@code key}
     * bucket up to the revision, in revision order, as bbolt holds it — the 17-byte revision key (main and sub
     * big-endian around '_', and 't' after a deletion's) and the marshalled {@code mvccpb.KeyValue} (a deletion's
     * holds the key alone). Records above the compacted revision all count; those at or below it count as etcd 3.4.23
     * counts them: the value each live key has at the hashed revision ({@code kvindex.Keep(rev)}), or, when no key is
     * live then, the records etcd's compaction kept (each key's value at the compacted revision). So the hash depends
     * on the history alone, not on how far physical compaction has got, on every member.
     *
     * @param atRevision last revision included (0 = this view's revision).
     * @return the hash (an unsigned 32-bit value).
     */
    public long hashKv(final long atRevision) {
        enter();
        try {
            final long last = atRevision <= 0 ? revision : Math.min(atRevision, revision);
            final java.util.zip.CRC32C keep = new java.util.zip.CRC32C();
            final java.util.zip.CRC32C kept = new java.util.zip.CRC32C();
            keep.update(BUCKET_NAME);
            kept.update(BUCKET_NAME);
            boolean anyLive = false;
            final Cursor<DirectBuffer> cursor = revsCursor();
            boolean found = cursor.first();
            while (found) {
                final DirectBuffer revisionBytes = cursor.key();
                final long main = revisionBytes.getLong(0, Tables.KEY_ORDER);
                if (main > last) {
                    break;
                }
                final DirectBuffer record = cursor.val();
                final boolean above = main > compactRevision;
                // One lookup per record at most while no live key is known, then only for compacted revisions.
                final boolean live = (!above || !anyLive) && keyspace.visibleAt(record, main, last);
                anyLive |= live;
                final boolean keptAtCompaction = !above && keyspace.visibleAt(record, main, compactRevision);
                if (above || live || keptAtCompaction) {
                    final int length = etcdRecord(revisionBytes.getLong(8, Tables.KEY_ORDER), main, record);
                    if (above || live) {
                        keep.update(hashScratch.byteArray(), 0, length);
                    }
                    if (above || keptAtCompaction) {
                        kept.update(hashScratch.byteArray(), 0, length);
                    }
                }
                found = cursor.next();
            }
            return anyLive ? keep.getValue() : kept.getValue();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Hands the whole keyspace to an export from this one view, so that everything exported is the same state
     * (etcd's snapshot of it: see {@link KeyspaceExport}). Holds the view's read transaction for the whole export.
     *
     * @param export gets the keyspace.
     * @throws IOException if the export stops with one.
     */
    public void exportTo(final KeyspaceExport export) throws java.io.IOException {
        enter();
        try {
            export.state(appliedIndex, revision, compactRevision);
            try (Cursor<DirectBuffer> cursor = tables.alarms.openCursor(txn)) {
                boolean found = cursor.first();
                while (found) {
                    export.alarm(cursor.key().getLong(1, Tables.KEY_ORDER), cursor.key().getByte(0));
                    found = cursor.next();
                }
            }
            try (Cursor<DirectBuffer> cursor = tables.auth.openCursor(txn)) {
                boolean found = cursor.first();
                while (found) {
                    final byte[] key = new byte[cursor.key().capacity()];
                    cursor.key().getBytes(0, key);
                    final byte[] value = new byte[cursor.val().capacity()];
                    cursor.val().getBytes(0, value);
                    export.auth(key, value);
                    found = cursor.next();
                }
            }
            final Cursor<DirectBuffer> records = revsCursor();
            boolean found = records.first();
            while (found) {
                final DirectBuffer revisionBytes = records.key();
                final long main = revisionBytes.getLong(0, Tables.KEY_ORDER);
                final DirectBuffer record = records.val();
                if (main > compactRevision || keyspace.visibleAt(record, main, compactRevision)) {
                    final int length = etcdRecord(revisionBytes.getLong(8, Tables.KEY_ORDER), main, record);
                    final boolean tombstone =
                        (record.getByte(KeyValueView.FLAGS_OFFSET) & KeyValueView.FLAG_TOMBSTONE) != 0;
                    export.record(hashScratch.byteArray(), tombstone ? 18 : 17, length);
                }
                found = records.next();
            }
            try (Cursor<DirectBuffer> cursor = tables.leases.openCursor(txn)) {
                boolean more = cursor.first();
                while (more) {
                    export.lease(cursor.key().getLong(0, Tables.KEY_ORDER),
                        cursor.val().getLong(0, KeyValueView.ORDER));
                    more = cursor.next();
                }
            }
        } finally {
            lock.unlock();
        }
    }

    /** Writes etcd's bbolt key and value of a record into {@link #hashScratch}; returns their length. */
    private int etcdRecord(final long sub, final long main, final DirectBuffer record) {
        final org.agrona.ExpandableArrayBuffer out = hashScratch;
        final boolean tombstone = (record.getByte(KeyValueView.FLAGS_OFFSET) & KeyValueView.FLAG_TOMBSTONE) != 0;
        out.putLong(0, main, java.nio.ByteOrder.BIG_ENDIAN);
        out.putByte(8, (byte)'_');
        out.putLong(9, sub, java.nio.ByteOrder.BIG_ENDIAN);
        int at = 17;
        if (tombstone) {
            out.putByte(at++, (byte)'t');
        }
        final int keyLength = record.getInt(KeyValueView.KEY_LENGTH_OFFSET, KeyValueView.ORDER);
        at = bytesField(out, at, 1, record, KeyValueView.HEADER, keyLength);
        if (!tombstone) {
            at = varintField(out, at, 2, record.getLong(KeyValueView.CREATE_OFFSET, KeyValueView.ORDER));
            at = varintField(out, at, 3, main);
            at = varintField(out, at, 4, record.getLong(KeyValueView.VERSION_OFFSET, KeyValueView.ORDER));
            at = bytesField(out, at, 5, record, KeyValueView.HEADER + keyLength,
                record.capacity() - KeyValueView.HEADER - keyLength);
            at = varintField(out, at, 6, record.getLong(KeyValueView.LEASE_OFFSET, KeyValueView.ORDER));
        }
        return at;
    }

    /** A protobuf length-delimited field (omitted when empty, as proto3 marshals). */
    private static int bytesField(final org.agrona.ExpandableArrayBuffer out, final int at, final int field,
        final DirectBuffer source, final int offset, final int length) {
        if (length == 0) {
            return at;
        }
        int position = varint(out, at, field << 3 | 2);
        position = varint(out, position, length);
        out.putBytes(position, source, offset, length);
        return position + length;
    }

    /** A protobuf varint field (omitted when zero, as proto3 marshals). */
    private static int varintField(final org.agrona.ExpandableArrayBuffer out, final int at, final int field,
        final long value) {
        return value == 0 ? at : varint(out, varint(out, at, field << 3), value);
    }

    private static int varint(final org.agrona.ExpandableArrayBuffer out, final int at, final long value) {
        int position = at;
        long rest = value;
        while ((rest & ~0x7FL) != 0) {
            out.putByte(position++, (byte)(rest & 0x7F | 0x80));
            rest >>>= 7;
        }
        out.putByte(position++, (byte)rest);
        return position;
    }

    @Override
    public void close() {
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            detach();
            store.forget(this);
        } finally {
            lock.unlock();
        }
    }
}
