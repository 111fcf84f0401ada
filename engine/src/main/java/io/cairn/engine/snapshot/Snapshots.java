package io.cairn.engine.snapshot;

import io.cairn.engine.mvcc.MvccStore;
import io.cairn.engine.wal.Wal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Taking, installing and restoring snapshots of the keyspace. A snapshot is LMDB's own consistent copy of the store
 * (one read transaction, taken while writes go on) sealed with a trailer that says which Raft entry it reflects
 * ({@link SnapshotFiles}); streamed in chunks by {@link SnapshotSender}/{@link SnapshotReceiver}. Nothing is
 * serialised or parsed anywhere: the store's file format is the snapshot's format.
 */
public final class Snapshots {
    private Snapshots() {
    }

    /**
     * Takes a snapshot of a live store. Safe on any thread while the store's owner keeps applying batches; the
     * snapshot reflects whichever batch had committed when LMDB's copy began, and its trailer says which.
     *
     * @param store  the keyspace.
     * @param target the snapshot file to write (replaced atomically if present).
     * @return what it holds.
     * @throws IOException if it cannot be written.
     */
    public static SnapshotMeta take(final MvccStore store, final Path target) throws IOException {
        final Path work = target.resolveSibling(target.getFileName() + ".taking");
        deleteTree(work);
        try {
            final Path copy = store.copyTo(work);
            final MvccStore.StoreState state = MvccStore.readState(work);
            return SnapshotFiles.seal(copy, state.appliedIndex(), state.appliedTerm(), state.revision(), target);
        } finally {
            deleteTree(work);
        }
    }

    /**
     * Installs a snapshot received from the leader (§7): the store file is swapped for the snapshot's, then the WAL is
     * cut to start after the snapshot point. The store goes first: a crash in between leaves a store ahead of its
     * log, which the owner repairs on start by resetting the WAL to the store's applied index (the reverse order
     * would leave a log with a hole the store could never fill).
     *
     * @param snapshot a snapshot file (verified here, whole, before anything changes).
     * @param store    the keyspace to replace (no batch open, no reader open).
     * @param wal      the log to cut.
     * @return what was installed.
     * @throws CorruptSnapshotException if the file is not a whole, valid snapshot (nothing changed).
     * @throws IOException              if the store cannot be replaced.
     */
    public static SnapshotMeta install(final Path snapshot, final MvccStore store, final Wal wal)
        throws IOException {
        final SnapshotMeta meta = SnapshotFiles.verify(snapshot);
        store.replaceWith(snapshot, meta.dataBytes());
        if (store.appliedIndex() != meta.appliedIndex() || store.revision() != meta.revision()) {
            throw new CorruptSnapshotException(snapshot, "trailer says index " + meta.appliedIndex() + " revision "
                + meta.revision() + " but the store inside is at index " + store.appliedIndex() + " revision "
                + store.revision());
        }
        wal.reset(meta.appliedIndex(), meta.appliedTerm());
        return meta;
    }

    /**
     * Restores a keyspace directory from a snapshot file ({@code etcdctl snapshot restore}'s job): the new member
     * starts from it with an empty log based at the snapshot point.
     *
     * @param snapshot  a snapshot file.
     * @param directory the keyspace directory to create (must not hold a keyspace yet).
     * @return what was restored.
     * @throws CorruptSnapshotException if the file is not a whole, valid snapshot.
     * @throws IOException              if the directory holds a keyspace already or cannot be written.
     */
    public static SnapshotMeta restore(final Path snapshot, final Path directory) throws IOException {
        final SnapshotMeta meta = SnapshotFiles.verify(snapshot);
        if (Files.exists(directory.resolve(MvccStore.DATA_FILE))) {
            throw new IOException(directory + " already holds a keyspace; restore into a new directory");
        }
        MvccStore.install(snapshot, meta.dataBytes(), directory);
        final MvccStore.StoreState state = MvccStore.readState(directory);
        if (state.appliedIndex() != meta.appliedIndex()) {
            throw new CorruptSnapshotException(snapshot, "trailer and store disagree on the applied index");
        }
        return meta;
    }

    private static void deleteTree(final Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            for (final Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(path);
            }
        }
    }
}
