package io.cairn.simulator;

import io.cairn.consensus.Membership;
import io.cairn.consensus.SnapshotSink;
import io.cairn.consensus.SnapshotSource;
import io.cairn.consensus.keyspace.KeyspaceStateMachine;
import io.cairn.consensus.keyspace.SnapshotDirectory;
import io.cairn.engine.mvcc.CommandEncoder;
import io.cairn.engine.mvcc.KeyValueView;
import io.cairn.engine.mvcc.MvccCommand;
import io.cairn.engine.mvcc.MvccConfig;
import io.cairn.engine.mvcc.MvccError;
import io.cairn.engine.mvcc.MvccReader;
import io.cairn.engine.mvcc.MvccResponse;
import io.cairn.engine.mvcc.MvccStore;
import io.cairn.engine.mvcc.RangeVisitor;
import io.cairn.engine.mvcc.StoreFiles;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Random;
import java.util.stream.Stream;

/**
 * Goal: the simulator's keyspace mode: a member's application is the production one, the real keyspace
 * ({@link MvccStore} on LMDB) applied through {@link KeyspaceStateMachine} with its snapshots as real store files in
 * a {@link SnapshotDirectory} (which is also the core's snapshot source and sink, as in {@code KeyspaceMember}), so
 * that the faults of the simulator reach the apply, snapshot and restore paths of the engine. Method: each member
 * owns a directory (temporary, deleted by {@link #close()}):
 *
 * <pre>
 * node-N/
 *   kv/          MvccStore: data.mdb (LMDB, never synced between snapshots)
 *   snapshots/   SnapshotDirectory: sealed store copies and their configurations
 * </pre>
 *
 * <p>Client registers are keys {@code sim/K} holding 8-byte little-endian values: a put is a PUT command; a
 * compare-and-set is a TXN that compares the key's mod revision (the one the client saw with the value it expects;
 * 0 for an absent key, which etcd compares as zeros) or, on odd op ids when a value is expected, the value itself,
 * and then puts; a get is a range on the local store after ReadIndex, through an {@link MvccReader}.
 *
 * <p>Crashes: the store is closed and reopened from its files. LMDB runs without syncs (the WAL is what is durable),
 * so a process crash keeps its last commit but a power failure takes it back to its last sync, which is the latest
 * snapshot (taking one syncs the store; installing one writes the file durably). One crash in three is such a power
 * failure, modelled by deleting the store: reopening, {@link KeyspaceStateMachine} finds it behind the latest
 * snapshot and restores it, and the core replays the rest from the WAL.
 */
final class KeyspaceApplication implements SimApplication {
    private static final String KEY_PREFIX = "sim/";
    private static final int VALUE_BYTES = Long.BYTES;
    private static final ByteOrder ORDER = ByteOrder.LITTLE_ENDIAN;
    private static final long MAP_BYTES = 64 << 20;
    private static final long QUOTA_BYTES = 32 << 20;
    private static final int READERS_MAX = 8;
    private static final KeyspaceStateMachine.RevisionListener NO_WATCHERS = revision -> {
    };

    private final Path directory;
    private final int chunkBytes;
    private final MvccConfig config;
    private final UnsafeBuffer[] keys;
    private final UnsafeBuffer value = new UnsafeBuffer(new byte[VALUE_BYTES]);
    private final UnsafeBuffer expected = new UnsafeBuffer(new byte[VALUE_BYTES]);
    private final CommandEncoder writes = new CommandEncoder();
    private final CommandEncoder reads = new CommandEncoder();
    private final RangeVisitor readVisitor = this::onRead;
    private MvccStore store;
    private SnapshotDirectory snapshots;
    private KeyspaceStateMachine machine;
    private MvccReader reader;
    private long readValue;
    private long readRevision;
    private int readCount;
    private long rollbacks;

    /**
     * @param directory  the member's directory (created here).
     * @param chunkBytes snapshot chunk size: a power of two.
     * @param keyCount   client keys (0 .. keyCount-1).
     */
    KeyspaceApplication(final Path directory, final int chunkBytes, final int keyCount) {
        this.directory = directory;
        this.chunkBytes = chunkBytes;
        this.config = new MvccConfig(directory.resolve("kv"), MAP_BYTES, QUOTA_BYTES,
            MvccConfig.REQUEST_BYTES_MAX_DEFAULT, MvccConfig.TXN_OPS_MAX_DEFAULT, READERS_MAX);
        this.keys = new UnsafeBuffer[keyCount];
        for (int i = 0; i < keyCount; i++) {
            keys[i] = new UnsafeBuffer((KEY_PREFIX + i).getBytes(StandardCharsets.US_ASCII));
        }
    }

    @Override
    public SnapshotSource snapshotSource() {
        return snapshots;
    }

    @Override
    public SnapshotSink snapshotSink() {
        return snapshots;
    }

    @Override
    public void open() {
        try {
            store = MvccStore.open(config);
            snapshots = SnapshotDirectory.open(directory.resolve("snapshots"), chunkBytes);
            machine = new KeyspaceStateMachine(store, snapshots, null, NO_WATCHERS);
            reader = store.newReader();
        } catch (final IOException ex) {
            closeFiles();
            throw new UncheckedIOException("cannot open the keyspace in " + directory, ex);
        }
    }

    @Override
    public void crash(final Random random) {
        final long applied = store.appliedIndex();
        final long snapshotIndex = snapshots.index();
        closeFiles();
        if (random.nextInt(3) == 0) {
            try {
                Files.deleteIfExists(config.directory().resolve(StoreFiles.DATA_FILE));
                Files.deleteIfExists(config.directory().resolve("lock.mdb"));
            } catch (final IOException ex) {
                throw new UncheckedIOException("cannot drop the store in " + directory, ex);
            }
            if (applied > snapshotIndex) {
                rollbacks++;
            }
        }
    }

    @Override
    public void close() {
        closeFiles();
        if (!Files.exists(directory)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(directory)) {
            for (final Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(path);
            }
        } catch (final IOException ex) {
            throw new UncheckedIOException("cannot delete " + directory, ex);
        }
    }

    private void closeFiles() {
        if (reader != null) {
            reader.close();
            reader = null;
        }
        if (snapshots != null) {
            snapshots.close();
            snapshots = null;
        }
        if (store != null) {
            store.close();
            store = null;
        }
        machine = null;
    }

    @Override
    public int encodeWrite(final History.Op op) {
        final UnsafeBuffer key = keys[op.key];
        value.putLong(0, op.value, ORDER);
        writes.reset();
        if (op.kind == History.PUT) {
            writes.put(key, 0, key.capacity(), value, 0, VALUE_BYTES, 0, 0);
            return writes.length();
        }
        writes.beginTxn();
        if (op.expected != 0 && (op.id & 1) == 1) {
            expected.putLong(0, op.expected, ORDER);
            writes.compareValue(MvccCommand.COMPARE_EQUAL, key, 0, key.capacity(), null, 0, 0, expected, 0,
                VALUE_BYTES);
        } else {
            writes.compare(MvccCommand.COMPARE_EQUAL, MvccCommand.COMPARE_MOD, key, 0, key.capacity(), null, 0, 0,
                op.expectedRevision);
        }
        writes.success();
        writes.put(key, 0, key.capacity(), value, 0, VALUE_BYTES, 0, 0);
        writes.endTxn();
        return writes.length();
    }

    @Override
    public DirectBuffer command() {
        return writes.buffer();
    }

    @Override
    public long writeOutput(final History.Op op, final long result) {
        final DirectBuffer responses = machine.responses();
        final int at = KeyspaceStateMachine.responseOffset(result);
        final int status = MvccResponse.status(responses, at);
        if (KeyspaceStateMachine.responseLength(result) < MvccResponse.HEADER || status != MvccError.OK) {
            throw new IllegalStateException("the keyspace refused " + op + ": status " + status);
        }
        op.revision = MvccResponse.revision(responses, at);
        if (op.kind == History.PUT) {
            return 0;
        }
        return MvccResponse.txnSucceeded(responses, at) ? KvStateMachine.CAS_OK : KvStateMachine.CAS_FAILED;
    }

    @Override
    public long read(final History.Op op, final long readIndex) {
        reader.refresh();
        if (reader.appliedIndex() < readIndex) {
            throw new IllegalStateException("read of " + op + " at read index " + readIndex + " sees the store at "
                + reader.appliedIndex());
        }
        final UnsafeBuffer key = keys[op.key];
        reads.reset().range(key, 0, key.capacity(), null, 0, 0, 0, 0, 0);
        readValue = 0;
        readRevision = 0;
        readCount = 0;
        final int status = reader.range(reads.buffer(), 0, readVisitor);
        if (status != MvccError.OK || readCount > 1) {
            throw new IllegalStateException("range for " + op + ": status " + status + ", " + readCount + " keys");
        }
        op.revision = readRevision;
        return readValue;
    }

    private boolean onRead(final KeyValueView kv) {
        if (kv.valueLength() != VALUE_BYTES) {
            throw new IllegalStateException("register holds " + kv.valueLength() + " bytes: " + kv);
        }
        readValue = kv.buffer().getLong(kv.valueOffset(), ORDER);
        readRevision = kv.modRevision();
        readCount++;
        return true;
    }

    @Override
    public long fingerprint() {
        return store.revision();
    }

    @Override
    public long contentHash() {
        reader.refresh();
        return reader.hashKv(0) * 31 + reader.revision();
    }

    @Override
    public long rollbacks() {
        return rollbacks;
    }

    @Override
    public long appliedIndex() {
        return machine.appliedIndex();
    }

    @Override
    public void beginRun(final long firstIndex) {
        machine.beginRun(firstIndex);
    }

    @Override
    public long apply(final long index, final long term, final byte type, final DirectBuffer buffer,
        final int offset, final int length) {
        return machine.apply(index, term, type, buffer, offset, length);
    }

    @Override
    public void endRun(final long lastIndex, final long lastTerm) {
        machine.endRun(lastIndex, lastTerm);
    }

    @Override
    public boolean takeSnapshot(final long index, final long term, final Membership membership) {
        if (!machine.takeSnapshot(index, term, membership)) {
            throw new IllegalStateException("snapshot at " + index + " failed on a healthy disk in " + directory);
        }
        return true;
    }

    @Override
    public void installSnapshot(final long index, final long term) {
        machine.installSnapshot(index, term);
    }

    @Override
    public String toString() {
        return store == null ? "keyspace closed"
            : "keyspace applied=" + store.appliedIndex() + " revision=" + store.revision();
    }
}
