package io.cairn.engine.mvcc;

import io.cairn.engine.check.Check;
import io.cairn.engine.files.DurableFiles;
import org.agrona.DirectBuffer;
import org.agrona.ExpandableDirectByteBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.collections.IntArrayList;
import org.agrona.collections.LongArrayList;
import org.agrona.concurrent.UnsafeBuffer;
import org.lmdbjava.Cursor;
import org.lmdbjava.CopyFlags;
import org.lmdbjava.Env;
import org.lmdbjava.GetOp;
import org.lmdbjava.LmdbException;
import org.lmdbjava.PutFlags;
import org.lmdbjava.SeekOp;
import org.lmdbjava.Txn;
import org.lmdbjava.TxnFlags;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * etcd's MVCC keyspace on LMDB: every change is a record under its revision (main, sub); each key indexes its
 * revisions newest first; leases and the keys attached to them, alarms and the applied Raft position live in the
 * same environment, so one LMDB transaction moves all of them together. See {@link Tables} for the layout and
 * {@link MvccCommand}/{@link MvccResponse} for what goes in and comes out.
 *
 * <p>The writer applies committed Raft entries in batches: {@link #beginBatch()}, {@link #apply} per command,
 * {@link #commit(long, long)} with the last applied index and term — one LMDB write transaction per batch, the applied
 * index inside it, so a restart neither applies an entry twice nor skips one. Each mutating command is one revision
 * (a txn's ops share it, with sub-revisions in order); reads inside a txn see its own earlier writes. A refused command
 * changes nothing. Single-threaded: the event loop owns the writer; {@link MvccReader}s serve other threads.
 *
 * <p>Durability: LMDB runs without syncing ({@code MDB_NOSYNC}) because the WAL is what makes writes durable; after a
 * process crash LMDB's last committed transaction is intact in the page cache and the WAL replays from its applied
 * index. {@link #sync()} flushes it (at snapshot points, before the WAL below them may go). A power failure between
 * syncs can lose or damage LMDB's recent pages, silently: the member's {@code PowerLossGuard} deletes a store last
 * opened under another boot before it is opened, and the member restores from a snapshot and the log. The map is
 * writable ({@code MDB_WRITEMAP}): transactions write their pages in place instead of copying them out with
 * {@code pwrite} at commit, twice the apply rate; LMDB still writes only free pages and the meta page last, so a
 * process crash leaves the last committed transaction (ARCHITECTURE.md, "MDB_WRITEMAP", says what else it changes).
 *
 * <p>Compaction is logical at once (reads below the compacted revision fail with etcd's error) and physical in steps
 * ({@link #compactStep(int)}), oldest revision first, so that partial progress never changes what a read sees: a
 * record is deleted when a newer revision of its key lies at or below the compacted revision, or when it is a
 * tombstone below it.
 */
public final class MvccStore implements AutoCloseable {
    private static final TxnFlags[] NO_TXN_FLAGS = {};
    /** LMDB's key limit: keys up to it are indexed as they are, longer ones by prefix and digest (IndexKeys). */
    public static final int KEY_BYTES_MAX = 511;
    /** The revision of an empty keyspace (etcd starts at 1; the first write is revision 2). */
    public static final long FIRST_REVISION = 1;
    private static final System.Logger LOG = System.getLogger(MvccStore.class.getName());
    private static final PutFlags[] NO_FLAGS = new PutFlags[0];
    private static final PutFlags[] APPEND = {PutFlags.MDB_APPEND};

    private final MvccConfig config;
    private final MvccValidator validator;
    // Readers hold LMDB read transactions on other threads. Replacing the store file (a snapshot install) or closing
    // the store takes the write side, detaches every reader (each reattaches to the new environment on its next
    // call) and only then closes the environment; readers take the read side for each call.
    private final ReentrantReadWriteLock environmentLock = new ReentrantReadWriteLock();
    private final Set<MvccReader> readers = ConcurrentHashMap.newKeySet();
    private Tables tables;
    private Keyspace keyspace;

    // The state as of the last commit, moved forward by the batch in progress; reloaded if a batch is abandoned.
    private long appliedIndex;
    private long appliedTerm;
    private long revision;
    private long compactRevision;
    /** The auth revision as of the open batch (AUTH and AUTHED commands); {@link #authRevision} once committed. */
    private long authRevisionPending;
    private volatile long authRevision;
    /** AUTH commands committed since open (readers' caches of the auth state compare it). */
    private volatile long authChanges;
    private boolean authTouched;
    private final UnsafeBuffer authRevisionKey = Tables.ascii(Tables.AUTH_REVISION_KEY);
    private final UnsafeBuffer authRevisionValue = Tables.direct(Long.BYTES);
    private final UnsafeBuffer authKey = new UnsafeBuffer(0, 0);
    private final UnsafeBuffer authValue = new UnsafeBuffer(0, 0);
    private final ExpandableDirectByteBuffer authScratch = new ExpandableDirectByteBuffer(1024);
    private final PhysicalCompaction compaction = new PhysicalCompaction();
    private final int[] alarmCounts = new int[3];

    private Txn<DirectBuffer> batch;
    /** A defragmentation renamed a file in the store's directory since the last {@link #sync()}. */
    private volatile boolean renamed;
    /** Copies being written ({@link #copyTo}, on other threads). */
    private final java.util.concurrent.atomic.AtomicInteger copies = new java.util.concurrent.atomic.AtomicInteger();
    /** Every batch committed while a defragmentation's copy catches up, or null. */
    private CommandJournal journal;
    private final UnsafeBuffer compactedValue = new UnsafeBuffer(ByteBuffer.allocateDirect(1));
    private long pendingMain;
    private long sub;
    private int changes;

    private final UnsafeBuffer revisionKey = Tables.direct(Tables.REVISION_KEY_BYTES);
    private final UnsafeBuffer dup = Tables.direct(Tables.REVISION_KEY_BYTES);
    private final UnsafeBuffer leaseKey = Tables.direct(Long.BYTES);
    private final UnsafeBuffer leaseValue = Tables.direct(Long.BYTES);
    private final UnsafeBuffer alarmKey = Tables.direct(1 + Long.BYTES);
    private final UnsafeBuffer alarmValue = Tables.direct(1);
    private final UnsafeBuffer stateValue = Tables.direct(Tables.STATE_BYTES);
    private final UnsafeBuffer formatValue = Tables.direct(Integer.BYTES);
    private final IndexKeys writeKeys = new IndexKeys();
    private final UnsafeBuffer recordWriter = new UnsafeBuffer(0, 0);
    private final ExpandableDirectByteBuffer valueScratch = new ExpandableDirectByteBuffer(1024);
    private final ExpandableDirectByteBuffer collectedKeys = new ExpandableDirectByteBuffer(4096);
    private final IntArrayList collectedKeyAt = new IntArrayList();
    private final LongArrayList collectedLeases = new LongArrayList();
    private final IntArrayList path = new IntArrayList();
    private int pathPosition;
    private int collectedBytes;

    private final RangeVisitor deleteCollector = this::collectForDelete;
    private final RangeEncoder rangeEncoder = new RangeEncoder();
    private final TxnCompares compares = new TxnCompares();
    private MutableDirectBuffer out;
    private int outPosition;
    private boolean collectPrevious;

    private MvccStore(final MvccConfig config) throws IOException {
        this.config = config;
        this.validator = MvccValidator.of(config);
        openEnvironment();
    }

    /**
     * Opens (creating when absent) the keyspace in {@code config.directory()}.
     *
     * @param config where and how big.
     * @return the store, at the state its last commit left.
     * @throws IOException if the directory holds something that is not a Cairn keyspace of a known format.
     */
    public static MvccStore open(final MvccConfig config) throws IOException {
        Files.createDirectories(config.directory());
        final Path unfinished = config.directory().resolve(Defragmentation.DIRECTORY);
        if (Files.exists(unfinished)) {
            LOG.log(System.Logger.Level.WARNING, "deleting {0}: a defragmentation did not finish", unfinished);
            Defragmentation.deleteTree(unfinished);
        }
        return new MvccStore(config);
    }

    private void openEnvironment() throws IOException {
        final Env<DirectBuffer> env = StoreFiles.open(config);
        try {
            tables = new Tables(env);
            keyspace = new Keyspace(tables);
            initialiseIfNew();
            tables.ensureIndexSalt();
            loadState();
        } catch (final RuntimeException ex) {
            env.close();
            throw ex;
        }
    }

    private void initialiseIfNew() {
        try (Txn<DirectBuffer> txn = tables.env.txnWrite()) {
            if (tables.meta.get(txn, tables.formatKey) != null) {
                return;
            }
            formatValue.putInt(0, Tables.FORMAT, KeyValueView.ORDER);
            tables.meta.put(txn, tables.formatKey, formatValue, NO_FLAGS);
            appliedIndex = 0;
            appliedTerm = 0;
            revision = FIRST_REVISION;
            compactRevision = 0;
            compaction.restart();
            writeState(txn);
            txn.commit();
        }
    }

    private void loadState() {
        try (Txn<DirectBuffer> txn = tables.env.txnRead()) {
            final DirectBuffer state = tables.meta.get(txn, tables.stateKey);
            Check.state(state != null && state.capacity() == Tables.STATE_BYTES, "keyspace state record missing");
            appliedIndex = state.getLong(Tables.STATE_APPLIED_INDEX, KeyValueView.ORDER);
            appliedTerm = state.getLong(Tables.STATE_APPLIED_TERM, KeyValueView.ORDER);
            revision = state.getLong(Tables.STATE_REVISION, KeyValueView.ORDER);
            compactRevision = state.getLong(Tables.STATE_COMPACT_REVISION, KeyValueView.ORDER);
            compaction.resume(state.getLong(Tables.STATE_COMPACT_SCAN_MAIN, KeyValueView.ORDER),
                state.getLong(Tables.STATE_COMPACT_SCAN_SUB, KeyValueView.ORDER));
            alarmCounts[MvccCommand.ALARM_NOSPACE] = 0;
            alarmCounts[MvccCommand.ALARM_CORRUPT] = 0;
            try (Cursor<DirectBuffer> cursor = tables.alarms.openCursor(txn)) {
                boolean found = cursor.first();
                while (found) {
                    final int alarm = cursor.key().getByte(0);
                    if (alarm > 0 && alarm < alarmCounts.length) {
                        alarmCounts[alarm]++;
                    }
                    found = cursor.next();
                }
            }
            final DirectBuffer auth = tables.auth.get(txn, authRevisionKey);
            authRevisionPending = auth == null ? 1 : auth.getLong(0, Tables.KEY_ORDER); // etcd starts at 1
            authRevision = authRevisionPending;
            authChanges++;
        }
    }

    private void writeState(final Txn<DirectBuffer> txn) {
        stateValue.putLong(Tables.STATE_APPLIED_INDEX, appliedIndex, KeyValueView.ORDER);
        stateValue.putLong(Tables.STATE_APPLIED_TERM, appliedTerm, KeyValueView.ORDER);
        stateValue.putLong(Tables.STATE_REVISION, revision, KeyValueView.ORDER);
        stateValue.putLong(Tables.STATE_COMPACT_REVISION, compactRevision, KeyValueView.ORDER);
        stateValue.putLong(Tables.STATE_COMPACT_SCAN_MAIN, compaction.nextMain(), KeyValueView.ORDER);
        stateValue.putLong(Tables.STATE_COMPACT_SCAN_SUB, compaction.nextSub(), KeyValueView.ORDER);
        tables.meta.put(txn, tables.stateKey, stateValue, NO_FLAGS);
    }

    /**
     * @return the Raft index of the last entry applied (committed with {@link #commit}).
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
     * @return the current revision (including the batch in progress).
     */
    public long revision() {
        return revision;
    }

    /**
     * @return the revision history was compacted at (reads below it fail), or 0.
     */
    public long compactRevision() {
        return compactRevision;
    }

    /**
     * @param alarm {@link MvccCommand#ALARM_NOSPACE} or {@link MvccCommand#ALARM_CORRUPT}.
     * @return true when some member has that alarm raised.
     */
    public boolean alarmed(final int alarm) {
        return alarmCounts[alarm] > 0;
    }

    /**
     * @return the configuration.
     */
    public MvccConfig config() {
        return config;
    }

    /**
     * Starts a batch: one LMDB write transaction for the commands that follow, until {@link #commit}.
     */
    public void beginBatch() {
        Check.state(batch == null, "a batch is already open");
        batch = tables.env.txn(null, NO_TXN_FLAGS); // txnWrite() would allocate its empty varargs array each time
        keyspace.bind(batch);
    }

    /**
     * Applies one command inside the open batch and writes its response.
     *
     * @param command  holds the command ({@link MvccCommand} layout).
     * @param offset   where it starts.
     * @param length   its length.
     * @param response where the response goes ({@link MvccResponse} layout); must be able to grow (an expandable
     *                 buffer) since a range or a prev_kv may be large.
     * @param at       where in {@code response} to write.
     * @return the response's length. Its status is {@link MvccError#OK} or why the command was refused (then nothing
     *         changed).
     */
    public int apply(
        final DirectBuffer command, final int offset, final int length, final MutableDirectBuffer response,
        final int at) {
        Check.state(batch != null, "apply outside a batch");
        if (journal != null) {
            journal.command(command, offset, length);
        }
        final byte type = length > 0 ? MvccCommand.type(command, offset) : 0;
        final int status = validator.validate(command, offset, length);
        if (status != MvccError.OK) {
            return refuse(response, at, type, status) - at;
        }
        pendingMain = revision + 1;
        sub = 0;
        changes = 0;
        final int inner = MvccCommand.unwrapped(command, offset);
        final byte innerType = MvccCommand.type(command, inner);
        final int end;
        if (innerType != MvccCommand.ALARM && innerType != MvccCommand.RANGE && innerType != MvccCommand.AUTH
            && alarmed(MvccCommand.ALARM_CORRUPT)) {
            // etcd 3.4's corrupt applier: no write (a txn's reads included) until an operator disarms it; reads
            // outside a txn are served, as etcd's are.
            end = refuse(response, at, innerType, MvccError.CORRUPT);
        } else if (type == MvccCommand.AUTHED
            && command.getLong(offset + MvccCommand.LONG_ARGUMENT_OFFSET, MvccCommand.ORDER) < authRevisionPending) {
            end = refuse(response, at, innerType, MvccError.AUTH_OLD_REVISION);
        } else if (type == MvccCommand.AUTH) {
            end = applyAuth(command, offset, response, at);
        } else {
            end = applyCommand(innerType, command, inner, response, at);
        }
        if (changes > 0) {
            revision = pendingMain;
        }
        response.putLong(at + MvccResponse.REVISION_OFFSET, revision, MvccResponse.ORDER);
        return end - at;
    }

    private int applyCommand(final byte type, final DirectBuffer command, final int offset,
        final MutableDirectBuffer response, final int at) {
        final int end;
        switch (type) {
            case MvccCommand.PUT:
                end = applyPut(command, offset, response, at);
                break;
            case MvccCommand.DELETE_RANGE:
                end = deleteOp(command, offset, response, at);
                break;
            case MvccCommand.RANGE:
                end = rangeOp(command, offset, response, at);
                break;
            case MvccCommand.TXN:
                end = applyTxn(command, offset, response, at);
                break;
            case MvccCommand.COMPACT:
                end = applyCompact(command, offset, response, at);
                break;
            case MvccCommand.LEASE_GRANT:
                end = applyLeaseGrant(command, offset, response, at);
                break;
            case MvccCommand.LEASE_REVOKE:
                end = applyLeaseRevoke(command, offset, response, at);
                break;
            default:
                end = applyAlarm(command, offset, response, at);
                break;
        }
        return end;
    }

    /**
     * Ends the batch: records the last applied Raft entry in the same transaction and commits it.
     *
     * @param index the Raft index of the last entry the batch applied.
     * @param term  its term.
     */
    public void commit(final long index, final long term) {
        Check.state(batch != null, "commit without a batch");
        Check.state(index >= appliedIndex, "applied index must not go back", appliedIndex, index);
        appliedIndex = index;
        appliedTerm = term;
        writeState(batch);
        keyspace.release();
        try {
            batch.commit();
        } finally {
            batch.close();
            batch = null;
        }
        if (journal != null) {
            journal.commit(index, term);
        }
        if (authTouched) {
            authTouched = false;
            authRevision = authRevisionPending;
            authChanges++;
        }
    }

    /**
     * Abandons the batch: nothing it did remains.
     */
    public void abortBatch() {
        if (batch == null) {
            return;
        }
        keyspace.release();
        if (journal != null) {
            journal.abort();
        }
        batch.abort();
        batch.close();
        batch = null;
        authTouched = false;
        loadState();
    }

    private long currentRevision() {
        return changes > 0 ? pendingMain : revision;
    }

    private static int header(final MutableDirectBuffer response, final int at, final int status, final byte type) {
        response.putInt(at + MvccResponse.STATUS_OFFSET, status, MvccResponse.ORDER);
        response.putInt(at + MvccResponse.TYPE_OFFSET, type & 0xFF, MvccResponse.ORDER);
        return at + MvccResponse.HEADER;
    }

    private int refuse(final MutableDirectBuffer response, final int at, final byte type, final int status) {
        header(response, at, status, type);
        response.putLong(at + MvccResponse.REVISION_OFFSET, revision, MvccResponse.ORDER);
        return at + MvccResponse.HEADER;
    }

    private DirectBuffer lmdbWriteKey(final DirectBuffer buffer, final int offset, final int length) {
        return writeKeys.of(tables, buffer, offset, length);
    }

    private boolean leaseExists(final long lease) {
        leaseKey.putLong(0, lease, Tables.KEY_ORDER);
        return tables.leases.get(batch, leaseKey) != null;
    }

    // ---------------------------------------------------------------------------------------------------- put

    private int applyPut(final DirectBuffer command, final int offset, final MutableDirectBuffer response,
        final int at) {
        if (alarmed(MvccCommand.ALARM_NOSPACE)) {
            return refuse(response, at, MvccCommand.PUT, MvccError.NO_SPACE);
        }
        final int status = checkPut(command, offset);
        if (status != MvccError.OK) {
            return refuse(response, at, MvccCommand.PUT, status);
        }
        return putOp(command, offset, response, at);
    }

    /** etcd's checks of a put against the state before it: ignore_* need the key; a lease must exist. */
    private int checkPut(final DirectBuffer command, final int offset) {
        final int flags = MvccCommand.flags(command, offset);
        if ((flags & (MvccCommand.FLAG_IGNORE_VALUE | MvccCommand.FLAG_IGNORE_LEASE)) != 0) {
            final long found = keyspace.latest(command, offset + MvccCommand.PUT_HEADER,
                MvccCommand.keyLength(command, offset), revision);
            if (found == Keyspace.NULL_REVISION || keyspace.view().isTombstone()) {
                return MvccError.KEY_NOT_FOUND;
            }
        }
        final long lease = command.getLong(offset + MvccCommand.PUT_LEASE_OFFSET, MvccCommand.ORDER);
        return lease != 0 && !leaseExists(lease) ? MvccError.LEASE_NOT_FOUND : MvccError.OK;
    }

    private int putOp(final DirectBuffer command, final int offset, final MutableDirectBuffer response,
        final int at) {
        header(response, at, MvccError.OK, MvccCommand.PUT);
        final int flags = MvccCommand.flags(command, offset);
        final int keyLength = MvccCommand.keyLength(command, offset);
        final int keyAt = offset + MvccCommand.PUT_HEADER;
        final long previous = keyspace.latestToWrite(command, keyAt, keyLength);
        final KeyValueView kv = keyspace.view();
        final boolean live = previous != Keyspace.NULL_REVISION && !kv.isTombstone();
        final long createRevision = live ? kv.createRevision() : pendingMain;
        final long version = live ? kv.version() + 1 : 1;
        final long previousLease = live ? kv.lease() : 0;
        final int end;
        if ((flags & MvccCommand.FLAG_PREV_KV) != 0 && live) {
            response.putInt(at + MvccResponse.PUT_HAS_PREV_OFFSET, 1, MvccResponse.ORDER);
            end = kv.encodeInto(response, at + MvccResponse.PUT_PREV_KV_OFFSET, false);
        } else {
            response.putInt(at + MvccResponse.PUT_HAS_PREV_OFFSET, 0, MvccResponse.ORDER);
            end = at + MvccResponse.PUT_PREV_KV_OFFSET;
        }
        DirectBuffer value = command;
        int valueAt = keyAt + keyLength;
        int valueLength = MvccCommand.secondLength(command, offset);
        if ((flags & MvccCommand.FLAG_IGNORE_VALUE) != 0 && live) {
            valueLength = kv.valueLength();
            valueScratch.putBytes(0, kv.buffer(), kv.valueOffset(), valueLength);
            value = valueScratch;
            valueAt = 0;
        }
        final long lease = (flags & MvccCommand.FLAG_IGNORE_LEASE) != 0
            ? previousLease : command.getLong(offset + MvccCommand.PUT_LEASE_OFFSET, MvccCommand.ORDER);
        writeRecord(command, keyAt, keyLength, value, valueAt, valueLength, createRevision, version, lease, false);
        if (previousLease != lease) {
            if (previousLease != 0) {
                detach(previousLease, command, keyAt, keyLength);
            }
            if (lease != 0) {
                leaseKey.putLong(0, lease, Tables.KEY_ORDER);
                tables.leaseKeys.put(batch, leaseKey, lmdbWriteKey(command, keyAt, keyLength), NO_FLAGS);
            }
        }
        return end;
    }

    /**
     * Writes one change at (pendingMain, sub): the record under its revision, the revision under its key.
     */
    private void writeRecord(
        final DirectBuffer key, final int keyAt, final int keyLength,
        final DirectBuffer value, final int valueAt, final int valueLength,
        final long createRevision, final long version, final long lease, final boolean tombstone) {
        final int length = KeyValueView.HEADER + keyLength + valueLength;
        Tables.revisionKey(revisionKey, pendingMain, sub);
        final DirectBuffer reserved = tables.revs.reserve(batch, revisionKey, length, APPEND);
        recordWriter.wrap(reserved.addressOffset(), length);
        KeyValueView.writeHeader(recordWriter, 0, tombstone, keyLength, createRevision, version, lease);
        recordWriter.putBytes(KeyValueView.HEADER, key, keyAt, keyLength);
        if (valueLength > 0) {
            recordWriter.putBytes(KeyValueView.HEADER + keyLength, value, valueAt, valueLength);
        }
        Tables.keyRevision(dup, pendingMain, sub);
        keyspace.putRevision(lmdbWriteKey(key, keyAt, keyLength), dup);
        sub++;
        changes++;
    }

    private void detach(final long lease, final DirectBuffer key, final int keyAt, final int keyLength) {
        leaseKey.putLong(0, lease, Tables.KEY_ORDER);
        tables.leaseKeys.delete(batch, leaseKey, lmdbWriteKey(key, keyAt, keyLength));
    }

    // ------------------------------------------------------------------------------------------------- delete

    private int deleteOp(final DirectBuffer command, final int offset, final MutableDirectBuffer response,
        final int at) {
        header(response, at, MvccError.OK, MvccCommand.DELETE_RANGE);
        final boolean previous = (MvccCommand.flags(command, offset) & MvccCommand.FLAG_PREV_KV) != 0;
        final int keyLength = MvccCommand.keyLength(command, offset);
        final int keyAt = offset + MvccCommand.DELETE_HEADER;
        clearCollected();
        out = response;
        outPosition = at + MvccResponse.DELETE_KVS_OFFSET;
        collectPrevious = previous;
        keyspace.scan(command, keyAt, keyLength, command, keyAt + keyLength, MvccCommand.secondLength(command, offset),
            currentRevision(), deleteCollector);
        final int deleted = tombstoneCollected();
        response.putLong(at + MvccResponse.DELETE_DELETED_OFFSET, deleted, MvccResponse.ORDER);
        response.putInt(at + MvccResponse.DELETE_PREV_COUNT_OFFSET, previous ? deleted : 0, MvccResponse.ORDER);
        out = null;
        return outPosition;
    }

    private void clearCollected() {
        collectedBytes = 0;
        collectedKeyAt.clear();
        collectedLeases.clear();
    }

    private void collect(final DirectBuffer key, final int keyAt, final int keyLength, final long lease) {
        collectedKeys.putBytes(collectedBytes, key, keyAt, keyLength);
        collectedKeyAt.addInt(collectedBytes);
        collectedKeyAt.addInt(keyLength);
        collectedLeases.addLong(lease);
        collectedBytes += keyLength;
    }

    private boolean collectForDelete(final KeyValueView kv) {
        collect(kv.buffer(), kv.keyOffset(), kv.keyLength(), kv.lease());
        if (collectPrevious) {
            outPosition = kv.encodeInto(out, outPosition, false);
        }
        return true;
    }

    /** Deletes every collected key: a tombstone each, under one revision, detached from its lease. */
    private int tombstoneCollected() {
        final int count = collectedLeases.size();
        for (int i = 0; i < count; i++) {
            final int keyAt = collectedKeyAt.getInt(2 * i);
            final int keyLength = collectedKeyAt.getInt(2 * i + 1);
            writeRecord(collectedKeys, keyAt, keyLength, null, 0, 0, 0, 0, 0, true);
            final long lease = collectedLeases.getLong(i);
            if (lease != 0) {
                detach(lease, collectedKeys, keyAt, keyLength);
            }
        }
        return count;
    }

    // -------------------------------------------------------------------------------------------------- range

    private int rangeOp(final DirectBuffer command, final int offset, final MutableDirectBuffer response,
        final int at) {
        header(response, at, MvccError.OK, MvccCommand.RANGE);
        final int status = keyspace.range(command, offset, currentRevision(), compactRevision,
            rangeEncoder.begin(response, at, command, offset));
        if (status != MvccError.OK) {
            rangeEncoder.abandon();
            return refuse(response, at, MvccCommand.RANGE, status);
        }
        return rangeEncoder.finish(at, keyspace.rangeCount(), keyspace.rangeMore());
    }

    // ---------------------------------------------------------------------------------------------------- txn

    /**
     * etcd 3.4's Txn: every compare on the path (nested ones too) is evaluated first against the state before the
     * txn; the chosen ops are checked against that state (a put's lease and ignore_* conditions, a range's
     * revision); only then do they run, in order, as one revision.
     */
    private int applyTxn(final DirectBuffer command, final int offset, final MutableDirectBuffer response,
        final int at) {
        if (alarmed(MvccCommand.ALARM_NOSPACE) && TxnCompares.hasDirectPut(command, offset)) {
            return refuse(response, at, MvccCommand.TXN, MvccError.NO_SPACE);
        }
        path.clear();
        compares.evaluatePath(keyspace, revision, command, offset, path);
        pathPosition = 0;
        final int status = checkPath(command, offset);
        if (status != MvccError.OK) {
            return refuse(response, at, MvccCommand.TXN, status);
        }
        pathPosition = 0;
        return executeTxn(command, offset, response, at);
    }

    private int checkPath(final DirectBuffer command, final int txn) {
        final boolean holds = path.getInt(pathPosition++) != 0;
        int op = TxnCompares.branchOps(command, txn, holds);
        final int count = TxnCompares.branchCount(command, txn, holds);
        for (int i = 0; i < count; i++) {
            final int element = op + MvccCommand.ELEMENT_LENGTH_BYTES;
            int status = MvccError.OK;
            switch (MvccCommand.type(command, element)) {
                case MvccCommand.PUT:
                    status = checkPut(command, element);
                    break;
                case MvccCommand.RANGE:
                    final long at = command.getLong(element + MvccCommand.RANGE_REVISION_OFFSET, MvccCommand.ORDER);
                    if (at > revision) {
                        status = MvccError.FUTURE_REVISION;
                    } else if (at > 0 && at < compactRevision) {
                        status = MvccError.COMPACTED;
                    }
                    break;
                case MvccCommand.TXN:
                    status = checkPath(command, element);
                    break;
                default:
                    break;
            }
            if (status != MvccError.OK) {
                return status;
            }
            op = MvccCommand.nextElement(command, op);
        }
        return MvccError.OK;
    }

    private int executeTxn(final DirectBuffer command, final int txn, final MutableDirectBuffer response,
        final int at) {
        header(response, at, MvccError.OK, MvccCommand.TXN);
        final boolean holds = path.getInt(pathPosition++) != 0;
        final int count = TxnCompares.branchCount(command, txn, holds);
        int op = TxnCompares.branchOps(command, txn, holds);
        response.putInt(at + MvccResponse.TXN_SUCCEEDED_OFFSET, holds ? 1 : 0, MvccResponse.ORDER);
        response.putInt(at + MvccResponse.TXN_COUNT_OFFSET, count, MvccResponse.ORDER);
        int position = at + MvccResponse.TXN_RESPONSES_OFFSET;
        for (int i = 0; i < count; i++) {
            final int element = op + MvccCommand.ELEMENT_LENGTH_BYTES;
            final int nested = position + MvccCommand.ELEMENT_LENGTH_BYTES;
            final int end;
            switch (MvccCommand.type(command, element)) {
                case MvccCommand.PUT:
                    end = putOp(command, element, response, nested);
                    break;
                case MvccCommand.DELETE_RANGE:
                    end = deleteOp(command, element, response, nested);
                    break;
                case MvccCommand.RANGE:
                    end = rangeOp(command, element, response, nested);
                    break;
                default:
                    end = executeTxn(command, element, response, nested);
                    break;
            }
            response.putLong(nested + MvccResponse.REVISION_OFFSET, currentRevision(), MvccResponse.ORDER);
            response.putInt(position, end - nested, MvccResponse.ORDER);
            position = end;
            op = MvccCommand.nextElement(command, op);
        }
        return position;
    }

    // ------------------------------------------------------------------------------- compaction, leases, alarms

    private int applyCompact(final DirectBuffer command, final int offset, final MutableDirectBuffer response,
        final int at) {
        final long target = MvccCommand.longArgument(command, offset);
        if (target > revision) {
            return refuse(response, at, MvccCommand.COMPACT, MvccError.FUTURE_REVISION);
        }
        // etcd starts with no compaction at all (its compacted revision is -1): a compaction to revision 0 is taken
        // once, as a no-op. Here 0 also means "none yet", so whether one was applied is kept beside it.
        final long compacted = compactRevision > 0 || compactedEver() ? compactRevision : -1;
        if (target <= compacted) {
            return refuse(response, at, MvccCommand.COMPACT, MvccError.COMPACTED);
        }
        if (compactRevision == 0) {
            compactedValue.putByte(0, (byte)1);
            tables.meta.put(batch, tables.compactedKey, compactedValue, NO_FLAGS);
        }
        compactRevision = target;
        // Records kept by an earlier compaction may be superseded now: the physical pass starts over.
        compaction.restart();
        return header(response, at, MvccError.OK, MvccCommand.COMPACT);
    }

    private boolean compactedEver() {
        return tables.meta.get(batch, tables.compactedKey) != null;
    }

    private int applyLeaseGrant(final DirectBuffer command, final int offset, final MutableDirectBuffer response,
        final int at) {
        final long lease = MvccCommand.longArgument(command, offset);
        final long ttl = MvccCommand.leaseTtl(command, offset);
        if (alarmed(MvccCommand.ALARM_NOSPACE)) {
            return refuse(response, at, MvccCommand.LEASE_GRANT, MvccError.NO_SPACE);
        }
        if (leaseExists(lease)) {
            return refuse(response, at, MvccCommand.LEASE_GRANT, MvccError.LEASE_EXISTS);
        }
        leaseValue.putLong(0, ttl, KeyValueView.ORDER);
        tables.leases.put(batch, leaseKey, leaseValue, NO_FLAGS);
        final int end = header(response, at, MvccError.OK, MvccCommand.LEASE_GRANT);
        response.putLong(at + MvccResponse.LEASE_ID_OFFSET, lease, MvccResponse.ORDER);
        response.putLong(at + MvccResponse.LEASE_TTL_OFFSET, ttl, MvccResponse.ORDER);
        return end + 2 * Long.BYTES;
    }

    /** Revokes a lease: its keys are deleted (in key order, one revision), then the lease. */
    private int applyLeaseRevoke(final DirectBuffer command, final int offset, final MutableDirectBuffer response,
        final int at) {
        final long lease = MvccCommand.longArgument(command, offset);
        if (!leaseExists(lease)) {
            return refuse(response, at, MvccCommand.LEASE_REVOKE, MvccError.LEASE_NOT_FOUND);
        }
        clearCollected();
        try (Cursor<DirectBuffer> cursor = tables.leaseKeys.openCursor(batch)) {
            boolean found = cursor.get(leaseKey, GetOp.MDB_SET_KEY);
            while (found) {
                // lease_keys holds index keys: the key itself comes from its newest record.
                final KeyValueView kv = keyspace.newestOfIndex(cursor.val());
                Check.state(kv != null && !kv.isTombstone() && kv.lease() == lease,
                    "lease_keys names a key not attached to its lease", lease);
                collect(kv.buffer(), kv.keyOffset(), kv.keyLength(), 0);
                found = cursor.seek(SeekOp.MDB_NEXT_DUP);
            }
        }
        final int count = collectedLeases.size();
        for (int i = 0; i < count; i++) {
            final int keyAt = collectedKeyAt.getInt(2 * i);
            final int keyLength = collectedKeyAt.getInt(2 * i + 1);
            writeRecord(collectedKeys, keyAt, keyLength, null, 0, 0, 0, 0, 0, true);
        }
        leaseKey.putLong(0, lease, Tables.KEY_ORDER);
        if (count > 0) {
            tables.leaseKeys.delete(batch, leaseKey);
        }
        tables.leases.delete(batch, leaseKey);
        return header(response, at, MvccError.OK, MvccCommand.LEASE_REVOKE);
    }

    private int applyAlarm(final DirectBuffer command, final int offset, final MutableDirectBuffer response,
        final int at) {
        final int action = command.getByte(offset + MvccCommand.ALARM_ACTION_OFFSET);
        final int alarm = command.getByte(offset + MvccCommand.ALARM_TYPE_OFFSET);
        alarmKey.putByte(0, (byte)alarm);
        alarmKey.putLong(1, MvccCommand.longArgument(command, offset), Tables.KEY_ORDER);
        if (action == MvccCommand.ALARM_ACTIVATE) {
            if (tables.alarms.get(batch, alarmKey) == null) {
                alarmValue.putByte(0, (byte)1);
                tables.alarms.put(batch, alarmKey, alarmValue, NO_FLAGS);
                alarmCounts[alarm]++;
            }
        } else if (tables.alarms.delete(batch, alarmKey)) {
            alarmCounts[alarm]--;
        }
        final int end = header(response, at, MvccError.OK, MvccCommand.ALARM);
        response.putInt(at + MvccResponse.ALARMS_OFFSET, alarmBits(), MvccResponse.ORDER);
        return end + Integer.BYTES;
    }

    /**
     * @return the alarms raised, as bits {@code 1 << alarm}.
     */
    public int alarmBits() {
        int bits = 0;
        for (int alarm = 1; alarm < alarmCounts.length; alarm++) {
            if (alarmCounts[alarm] > 0) {
                bits |= 1 << alarm;
            }
        }
        return bits;
    }

    // ------------------------------------------------------------------------------------------------- auth

    /**
     * An AUTH command: its puts and deletes in the auth table, all or none, and the auth revision moved on (unless
     * told to keep it). The keyspace revision does not move.
     */
    private int applyAuth(final DirectBuffer command, final int offset, final MutableDirectBuffer response,
        final int at) {
        final long expected = MvccCommand.longArgument(command, offset);
        if (expected != MvccCommand.AUTH_REVISION_ANY && expected != authRevisionPending) {
            return refuse(response, at, MvccCommand.AUTH, MvccError.AUTH_OLD_REVISION);
        }
        final int count = command.getInt(offset + MvccCommand.AUTH_COUNT_OFFSET, MvccCommand.ORDER);
        int position = offset + MvccCommand.AUTH_HEADER;
        for (int i = 0; i < count; i++) {
            final int kind = command.getByte(position);
            final int keyLength = command.getInt(position + 1, MvccCommand.ORDER);
            final int valueLength = command.getInt(position + 5, MvccCommand.ORDER);
            final int keyAt = position + MvccCommand.AUTH_OP_HEADER;
            authScratch.putBytes(0, command, keyAt, keyLength + valueLength); // LMDB reads off-heap memory only
            authKey.wrap(authScratch, 0, keyLength);
            if (kind == MvccCommand.AUTH_PUT) {
                authValue.wrap(authScratch, keyLength, valueLength);
                tables.auth.put(batch, authKey, authValue, NO_FLAGS);
            } else {
                tables.auth.delete(batch, authKey);
            }
            position = keyAt + keyLength + valueLength;
        }
        if ((MvccCommand.flags(command, offset) & MvccCommand.FLAG_KEEP_AUTH_REVISION) == 0) {
            authRevisionPending++;
            authRevisionValue.putLong(0, authRevisionPending, Tables.KEY_ORDER);
            tables.auth.put(batch, authRevisionKey, authRevisionValue, NO_FLAGS);
        }
        authTouched = true;
        final int end = header(response, at, MvccError.OK, MvccCommand.AUTH);
        response.putLong(end, authRevisionPending, MvccResponse.ORDER);
        return end + Long.BYTES;
    }

    /**
     * @return the auth revision as of the last commit (1 in a store no AUTH command changed).
     */
    public long authRevision() {
        return authRevision;
    }

    /**
     * @return a number that changes whenever an AUTH command commits or the store is reloaded: a cache of the auth
     *     state read at one value is current while it stays.
     */
    public long authChanges() {
        return authChanges;
    }

    // ------------------------------------------------------------------------------------------------- import

    /**
     * Loads one record of another store's history — etcd's {@code key} bucket, read from its snapshot — into this
     * new store, inside the open batch. Records come in revision order; the store must be new (nothing applied).
     * The keys attached to leases are worked out at {@link #finishImport}.
     *
     * @param main           the record's revision.
     * @param sub            its sub-revision.
     * @param tombstone      a deletion.
     * @param key            the key.
     * @param value          the value (empty for a deletion).
     * @param createRevision the key's create revision (0 for a deletion).
     * @param version        its version (0 for a deletion).
     * @param lease          its lease (0: none).
     * @throws IllegalArgumentException if the record cannot be stored (out of order, a key Cairn cannot hold).
     */
    public void importRecord(final long main, final long sub, final boolean tombstone, final byte[] key,
        final byte[] value, final long createRevision, final long version, final long lease) {
        Check.state(batch != null && appliedIndex == 0, "import into a new store, inside a batch");
        if (main < pendingMain || main == pendingMain && sub < this.sub || main <= FIRST_REVISION) {
            throw new IllegalArgumentException("revision " + main + "." + sub + " out of order");
        }
        if (key.length == 0) {
            throw new IllegalArgumentException("an empty key at revision " + main);
        }
        pendingMain = main;
        this.sub = sub;
        final UnsafeBuffer keyBuffer = new UnsafeBuffer(key);
        writeRecord(keyBuffer, 0, key.length, new UnsafeBuffer(value), 0, value.length, createRevision, version,
            lease, tombstone);
    }

    /**
     * Loads a lease into the new store, inside the open batch.
     *
     * @param lease its ID.
     * @param ttl   its granted TTL in seconds.
     */
    public void importLease(final long lease, final long ttl) {
        Check.state(batch != null && appliedIndex == 0, "import into a new store, inside a batch");
        leaseKey.putLong(0, lease, Tables.KEY_ORDER);
        leaseValue.putLong(0, ttl, KeyValueView.ORDER);
        tables.leases.put(batch, leaseKey, leaseValue, NO_FLAGS);
    }

    /**
     * Loads an entry of the authentication table into the new store, inside the open batch.
     *
     * @param key   the auth table's key.
     * @param value its value.
     */
    public void importAuth(final byte[] key, final byte[] value) {
        Check.state(batch != null && appliedIndex == 0, "import into a new store, inside a batch");
        final UnsafeBuffer keyBuffer = Tables.direct(key.length);
        keyBuffer.putBytes(0, key);
        final UnsafeBuffer valueBuffer = Tables.direct(Math.max(1, value.length));
        valueBuffer.putBytes(0, value);
        tables.auth.put(batch, keyBuffer, new UnsafeBuffer(valueBuffer, 0, value.length), NO_FLAGS);
    }

    /**
     * Ends an import: attaches each live key to its lease (when the lease was imported), sets the revision and the
     * compacted revision (physical compaction then removes whatever the source had not yet), and commits the batch
     * as the given Raft entry.
     *
     * @param lastRevision    the source's revision (at least the last imported record's).
     * @param compactRevision the source's compacted revision (0: none).
     * @param index           the Raft index the store stands for.
     * @param term            its term.
     * @return how many keys were attached to leases.
     */
    public int finishImport(final long lastRevision, final long compactRevision, final long index, final long term) {
        Check.state(batch != null && appliedIndex == 0, "import into a new store, inside a batch");
        int attached = 0;
        try (Cursor<DirectBuffer> cursor = tables.keys.openCursor(batch)) {
            boolean found = cursor.first();
            while (found) {
                final DirectBuffer newest = cursor.val();
                Tables.revisionKey(revisionKey, Tables.keyRevisionMain(newest), Tables.keyRevisionSub(newest));
                final DirectBuffer record = tables.revs.get(batch, revisionKey);
                Check.state(record != null, "keys table names a revision that revs lacks");
                final boolean tombstone =
                    (record.getByte(KeyValueView.FLAGS_OFFSET) & KeyValueView.FLAG_TOMBSTONE) != 0;
                final long lease = record.getLong(KeyValueView.LEASE_OFFSET, KeyValueView.ORDER);
                if (!tombstone && lease != 0 && leaseExists(lease)) {
                    tables.leaseKeys.put(batch, leaseKey, cursor.key(), NO_FLAGS);
                    attached++;
                }
                found = cursor.seek(SeekOp.MDB_NEXT_NODUP);
            }
        }
        revision = Math.max(Math.max(lastRevision, pendingMain), Math.max(compactRevision, FIRST_REVISION));
        changes = 0;
        if (compactRevision > 0) {
            this.compactRevision = compactRevision;
            compactedValue.putByte(0, (byte)1);
            tables.meta.put(batch, tables.compactedKey, compactedValue, NO_FLAGS);
            compaction.restart();
        }
        commit(index, term);
        return attached;
    }

    // ----------------------------------------------------------------------------------- physical compaction

    /**
     * @return true while the physical pass of the last compaction has records left to look at.
     */
    public boolean compactPending() {
        return compaction.pending(compactRevision);
    }

    /**
     * Runs part of the physical compaction in its own write transaction: looks at up to {@code recordsMax} records
     * in revision order and deletes those no read at or above the compacted revision can see. Call between batches
     * until {@link #compactPending()} is false; what it deletes never changes what a read sees.
     *
     * @param recordsMax most records looked at.
     * @return records deleted.
     */
    public int compactStep(final int recordsMax) {
        Check.state(batch == null, "compaction runs between batches");
        if (!compactPending()) {
            return 0;
        }
        final int deleted;
        try (Txn<DirectBuffer> txn = tables.env.txnWrite()) {
            keyspace.bind(txn);
            deleted = compaction.step(tables, keyspace, txn, compactRevision, recordsMax);
            keyspace.release();
            writeState(txn);
            txn.commit();
        }
        return deleted;
    }

    // ---------------------------------------------------------------------------------- readers and snapshots

    /**
     * @return a reader over the latest committed state, for one thread at a time; close it when done.
     */
    public MvccReader newReader() {
        // Attached and registered under one read lock: a swap between the two would miss this reader, leaving it on
        // the closed environment.
        environmentLock.readLock().lock();
        try {
            final MvccReader reader = new MvccReader(this, MvccValidator.of(config));
            readers.add(reader);
            return reader;
        } finally {
            environmentLock.readLock().unlock();
        }
    }

    Lock readLock() {
        return environmentLock.readLock();
    }

    Tables tables() {
        return tables;
    }

    void forget(final MvccReader reader) {
        readers.remove(reader);
    }

    private void detachReaders() {
        for (final MvccReader reader : readers) {
            reader.detach();
        }
    }

    /**
     * Flushes LMDB to the device: after this the store survives a power failure as of its last commit. Safe on any
     * thread (a background snapshot syncs while the owner writes on).
     */
    public void sync() {
        environmentLock.readLock().lock();
        try {
            tables.env.sync(true);
            if (renamed) {
                renamed = false;
                DurableFiles.syncDirectory(config.directory()); // a defragmentation's rename
            }
        } catch (final IOException ex) {
            renamed = true;
            throw new UncheckedIOException("syncing the keyspace directory " + config.directory() + " failed", ex);
        } finally {
            environmentLock.readLock().unlock();
        }
    }

    /**
     * @return bytes of the map in use (LMDB's last page), what etcd's quota and {@code dbSize} measure.
     */
    public long usedBytes() {
        return (tables.env.info().lastPageNumber + 1) * tables.env.stat().pageSize;
    }

    /**
     * @return the quota: past it a write raises NOSPACE ({@link MvccConfig#quotaBytes}).
     */
    public long quotaBytes() {
        return config.quotaBytes();
    }

    /**
     * @return bytes of the pages the store's trees use (every table's branch, leaf and overflow pages, the table of
     *     tables and the two meta pages): {@link #usedBytes} less the free pages a defragmentation would return,
     *     what etcd reports as {@code dbSizeInUse}. Safe on any thread.
     */
    public long inUseBytes() {
        environmentLock.readLock().lock();
        try (Txn<DirectBuffer> txn = tables.env.txnRead()) {
            final org.lmdbjava.Stat main = tables.env.stat();
            long pages = 2 + treePages(main);
            for (final org.lmdbjava.Dbi<DirectBuffer> table : java.util.List.of(tables.revs, tables.keys,
                tables.leases, tables.leaseKeys, tables.alarms, tables.meta, tables.auth)) {
                pages += treePages(table.stat(txn));
            }
            return pages * main.pageSize;
        } finally {
            environmentLock.readLock().unlock();
        }
    }

    private static long treePages(final org.lmdbjava.Stat stat) {
        return stat.branchPages + stat.leafPages + stat.overflowPages;
    }

    /**
     * Writes a consistent copy of the store (LMDB's own copy under one read transaction, compacted of free pages)
     * into an empty directory, while writes go on. May be called from any thread.
     *
     * @param directory an empty directory; the copy is {@code directory/data.mdb}.
     * @return the copy.
     * @throws IOException if the copy fails.
     */
    public Path copyTo(final Path directory) throws IOException {
        Files.createDirectories(directory);
        environmentLock.readLock().lock();
        copies.incrementAndGet();
        try {
            tables.env.copy(directory.toFile(), CopyFlags.MDB_CP_COMPACT);
        } catch (final LmdbException ex) {
            throw new IOException("copy of keyspace into " + directory + " failed: " + ex.getMessage(), ex);
        } finally {
            copies.decrementAndGet();
            environmentLock.readLock().unlock();
        }
        return directory.resolve(StoreFiles.DATA_FILE);
    }

    /**
     * Replaces the whole store with the store file inside a snapshot (the first {@code dataBytes} bytes of
     * {@code snapshotFile}): written beside the current file, synced, renamed over it; then reopened. No batch may be
     * open; readers need not close: they wait for the swap and then see the new state.
     *
     * @param snapshotFile a verified snapshot file.
     * @param dataBytes    the store file's length inside it.
     * @throws IOException if the new file cannot be written or does not open as a keyspace.
     */
    public void replaceWith(final Path snapshotFile, final long dataBytes) throws IOException {
        Check.state(batch == null, "replace with a batch open");
        cancelJournal();
        environmentLock.writeLock().lock();
        try {
            detachReaders();
            tables.env.close();
            StoreFiles.install(snapshotFile, dataBytes, config.directory());
            openEnvironment();
        } finally {
            environmentLock.writeLock().unlock();
        }
        LOG.log(System.Logger.Level.INFO, "keyspace replaced from {0}: applied {1}@{2}, revision {3}",
            snapshotFile, appliedIndex, appliedTerm, revision);
    }

    /**
     * Starts rewriting the store compactly ({@link Defragmentation}): from now on every committed batch is journalled
     * until the copy has caught up. Between batches, on the writer's thread; one at a time.
     *
     * @param journalBytesMax most bytes of batches to hold for the copy; past it the defragmentation is abandoned.
     * @return the defragmentation, to drive and to close.
     */
    public Defragmentation beginDefragmentation(final long journalBytesMax) {
        Check.state(batch == null, "defragmentation starts between batches");
        Check.state(journal == null, "a defragmentation is already under way");
        journal = new CommandJournal(journalBytesMax);
        return new Defragmentation(this, journal, config.directory().resolve(Defragmentation.DIRECTORY));
    }

    void endJournal(final CommandJournal ended) {
        if (journal == ended) {
            journal = null;
        }
    }

    private void cancelJournal() {
        if (journal != null) {
            journal.cancel();
            journal = null;
        }
    }

    /**
     * @return true while a copy ({@link #copyTo}) is being written: a swap now would wait for it.
     */
    public boolean copying() {
        return copies.get() > 0;
    }

    /**
     * Replaces the store with a caught-up copy, open as it is: checks the copy holds exactly the store's state,
     * renames its file over the store's and takes over its environment; readers wait for this and then see the same
     * state. Nothing is unmapped or flushed here, so writes wait only for the rename: the old environment comes back
     * to be closed off the store's thread (its file's blocks are freed then). The new file is as durable as the old
     * one was (not at all until {@link #sync()}; see the class comment); the next {@link #sync()} also makes the
     * rename durable. The environment keeps the copy's lock file (open; the copy's directory may be deleted).
     *
     * @return the old environment, to close.
     */
    Env<DirectBuffer> swapIn(final MvccStore copy, final CommandJournal ended) throws IOException {
        Check.state(batch == null && copy.batch == null, "swap with a batch open");
        Check.state(journal == ended, "the journal of this defragmentation is no longer kept");
        if (copy.appliedIndex != appliedIndex || copy.revision != revision
            || copy.compactRevision != compactRevision) {
            throw new IOException("the defragmented copy is at applied index " + copy.appliedIndex + ", revision "
                + copy.revision + ", compacted " + copy.compactRevision + " where the keyspace is at " + appliedIndex
                + ", " + revision + ", " + compactRevision + ": not swapped in");
        }
        final Tables old = tables;
        environmentLock.writeLock().lock();
        try {
            detachReaders();
            Files.move(copy.config.directory().resolve(StoreFiles.DATA_FILE),
                config.directory().resolve(StoreFiles.DATA_FILE), StandardCopyOption.ATOMIC_MOVE,
                StandardCopyOption.REPLACE_EXISTING);
            renamed = true;
            journal = null;
            tables = copy.tables;
            keyspace = copy.keyspace;
            copy.tables = null;
            copy.keyspace = null;
            loadState();
        } finally {
            environmentLock.writeLock().unlock();
        }
        Check.state(appliedIndex == copy.appliedIndex && revision == copy.revision, "the swapped-in store is at"
            + " another state", appliedIndex, revision);
        return old.env;
    }

    @Override
    public void close() {
        environmentLock.writeLock().lock();
        try {
            if (tables.env.isClosed()) {
                return;
            }
            abortBatch();
            cancelJournal();
            detachReaders();
            tables.env.close();
        } finally {
            environmentLock.writeLock().unlock();
        }
    }
}
