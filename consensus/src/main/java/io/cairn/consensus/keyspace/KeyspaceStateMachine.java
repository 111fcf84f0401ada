package io.cairn.consensus.keyspace;

import io.cairn.consensus.EntryType;
import io.cairn.consensus.Membership;
import io.cairn.consensus.StateMachine;
import io.cairn.engine.check.Check;
import io.cairn.engine.mvcc.MvccCommand;
import io.cairn.engine.mvcc.MvccError;
import io.cairn.engine.mvcc.MvccResponse;
import io.cairn.engine.mvcc.MvccStore;
import io.cairn.engine.snapshot.SnapshotMeta;
import org.agrona.DirectBuffer;
import org.agrona.ExpandableDirectByteBuffer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;

/**
 * The keyspace as Raft's replicated state machine. A run of committed entries is one LMDB write transaction (its last
 * index and term inside it); each application entry is a keyspace command ({@link MvccCommand}) whose response
 * ({@link MvccResponse}) is written into {@link #responses()} and handed to the proposer as
 * {@code offset << 32 | length} — read it before the next run starts. After each run: watchers are told the new
 * revision, the leader's lease keeper learns of grants and revokes, and a bounded step of physical compaction runs.
 *
 * <p>Snapshots are the store's own file ({@link SnapshotDirectory}); taking one syncs LMDB first (it runs without
 * syncs, the WAL being the durable record), so the WAL below it may go. At construction a store that lags the latest
 * snapshot (a crash between a snapshot install's two steps, or LMDB pages lost to a power failure) is replaced by it.
 * Loop thread only.
 */
public final class KeyspaceStateMachine implements StateMachine {
    /** Told of each new revision once its run is durable in the store (watchers then read the changes). */
    @FunctionalInterface
    public interface RevisionListener {
        /**
         * @param revision the store's revision now.
         */
        void onRevision(long revision);
    }

    /** History records physical compaction looks at per run. */
    static final int COMPACTION_STEP_RECORDS = 4096;
    private static final System.Logger LOG = System.getLogger(KeyspaceStateMachine.class.getName());

    private final MvccStore store;
    private final SnapshotDirectory snapshots;
    private final LeaseKeeper leases;
    private final RevisionListener revisions;
    private final ExpandableDirectByteBuffer responses = new ExpandableDirectByteBuffer(64 * 1024);
    private final Membership copyMembership = new Membership();
    private final LazyWorker copier = new LazyWorker("cairn-snapshot");
    private Future<SnapshotMeta> copying;
    private int responsePosition;
    private long runStartRevision;

    /**
     * @param store     the keyspace (this takes over writing it).
     * @param snapshots the member's snapshots.
     * @param leases    the lease keeper, or null when nobody keeps lease time (tools, tests).
     * @param revisions told of new revisions.
     * @throws IOException if the store lags the latest snapshot and cannot be replaced by it.
     */
    public KeyspaceStateMachine(final MvccStore store, final SnapshotDirectory snapshots, final LeaseKeeper leases,
        final RevisionListener revisions) throws IOException {
        this.store = store;
        this.snapshots = snapshots;
        this.leases = leases;
        this.revisions = revisions;
        final SnapshotMeta latest = snapshots.latest();
        if (latest != null && store.appliedIndex() < latest.appliedIndex()) {
            LOG.log(System.Logger.Level.WARNING, "keyspace at applied index {0} lags snapshot {1}: restoring it",
                store.appliedIndex(), latest.appliedIndex());
            store.replaceWith(snapshots.latestFile(), latest.dataBytes());
        }
    }

    /**
     * @return the responses of the last run; a proposer's result {@code r} names its bytes at
     *     {@code (int)(r >>> 32)}, {@code (int)r} long.
     */
    public DirectBuffer responses() {
        return responses;
    }

    /**
     * @param result a proposer's result.
     * @return where its response starts in {@link #responses()}.
     */
    public static int responseOffset(final long result) {
        return (int)(result >>> 32);
    }

    /**
     * @param result a proposer's result.
     * @return its response's length.
     */
    public static int responseLength(final long result) {
        return (int)result;
    }

    @Override
    public long appliedIndex() {
        return store.appliedIndex();
    }

    @Override
    public void beginRun(final long firstIndex) {
        Check.state(firstIndex == store.appliedIndex() + 1, "runs must follow the applied index", firstIndex,
            store.appliedIndex());
        store.beginBatch();
        responsePosition = 0;
        runStartRevision = store.revision();
    }

    @Override
    public long apply(final long index, final long term, final byte type, final DirectBuffer buffer,
        final int offset, final int length) {
        if (!EntryType.isApplication(type)) {
            return 0;
        }
        final int at = responsePosition;
        final int written = store.apply(buffer, offset, length, responses, at);
        responsePosition += written;
        if (leases != null && length > 0 && MvccResponse.status(responses, at) == MvccError.OK) {
            final int inner = MvccCommand.unwrapped(buffer, offset); // past an AUTHED envelope
            final byte command = MvccCommand.type(buffer, inner);
            if (command == MvccCommand.LEASE_GRANT) {
                leases.onGranted(MvccCommand.longArgument(buffer, inner), MvccCommand.leaseTtl(buffer, inner));
            } else if (command == MvccCommand.LEASE_REVOKE) {
                leases.onRevoked(MvccCommand.longArgument(buffer, inner));
            }
        }
        return (long)at << 32 | written;
    }

    @Override
    public void endRun(final long lastIndex, final long lastTerm) {
        store.commit(lastIndex, lastTerm);
        if (store.revision() != runStartRevision) {
            revisions.onRevision(store.revision());
        }
        if (store.compactPending()) {
            store.compactStep(COMPACTION_STEP_RECORDS);
        }
    }

    @Override
    public boolean takeSnapshot(final long index, final long term, final Membership membership) {
        Check.state(store.appliedIndex() == index, "snapshots are taken at the applied index", index);
        try {
            final SnapshotMeta meta = snapshots.take(store, membership);
            return meta.appliedIndex() == index;
        } catch (final IOException ex) {
            LOG.log(System.Logger.Level.WARNING, "snapshot at {0} failed: {1}", index, ex.getMessage());
            return false;
        }
    }

    @Override
    public long snapshotCostBytes() {
        return store.usedBytes(); // the compacting copy writes at most the pages in use
    }

    /**
     * Copies the store on a background thread (LMDB's copy reads a consistent view while the loop writes on) and
     * seals it on the loop once done, so a snapshot of a large keyspace never stalls appends and commits. The copy's
     * configuration is the one given when it started; if the configuration differs when the copy is sealed, the copy
     * is dropped and another started (a change landed while copying).
     */
    @Override
    public long snapshotInBackground(final long index, final long term, final Membership membership) {
        if (copying == null) {
            copyMembership.copyFrom(membership);
            copying = copier.executor().submit(() -> snapshots.copy(store));
            return 0;
        }
        if (!copying.isDone()) {
            return 0;
        }
        final Future<SnapshotMeta> done = copying;
        copying = null;
        try {
            final SnapshotMeta meta = done.get();
            if (!copyMembership.sameAs(membership) || meta.appliedIndex() <= snapshots.index()
                || meta.appliedIndex() > index) {
                snapshots.discardCopy();
                return 0;
            }
            snapshots.seal(meta, copyMembership);
            final long kept = meta.appliedIndex();
            copier.executor().submit(() -> {
                try {
                    snapshots.deleteSuperseded(kept);
                } catch (final IOException ex) {
                    LOG.log(System.Logger.Level.WARNING, "superseded snapshots before {0} not deleted: {1}", kept,
                        ex.getMessage());
                }
            });
            return meta.appliedIndex();
        } catch (final ExecutionException | IOException ex) {
            LOG.log(System.Logger.Level.WARNING, "snapshot near {0} failed: {1}", index,
                ex.getCause() != null ? ex.getCause().getMessage() : ex.getMessage());
            return 0;
        } catch (final InterruptedException ex) {
            Thread.currentThread().interrupt();
            return 0;
        }
    }

    /**
     * Waits for a copy in progress and stops the copying thread (the member is closing).
     */
    public void close() {
        copier.close();
        copying = null;
    }

    @Override
    public void installSnapshot(final long index, final long term) {
        final SnapshotMeta latest = snapshots.latest();
        Check.state(latest != null && latest.appliedIndex() == index, "the installed snapshot is the latest", index);
        try {
            store.replaceWith(snapshots.latestFile(), latest.dataBytes());
        } catch (final IOException ex) {
            throw new UncheckedIOException("installing snapshot " + index + " into the keyspace failed", ex);
        }
        Check.state(store.appliedIndex() == index, "the installed store holds the snapshot's index", index);
        if (leases != null) {
            leases.onInstalled();
        }
        revisions.onRevision(store.revision());
    }
}
