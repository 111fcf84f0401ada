package io.cairn.engine.snapshot;

import io.cairn.engine.mvcc.MvccStore;
import io.cairn.engine.mvcc.StoreFiles;
import io.cairn.engine.wal.Wal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Taking, installing and restoring snapshots of the keyspace. A snapshot is LMDB's own consistent copy of the store
 * (one read transaction, taken while writes go on) sealed with a trailer that says which Raft entry it reflects
 * ({@link SnapshotFiles}); streamed in chunks by {@link SnapshotSender}/{@link SnapshotReceiver}. Nothing is
 * serialised or parsed anywhere: the store's file format is the snapshot's format.
 */
public final class Snapshots {
    private static final int ETCD_BLOCK = 512;
    private static final int SHA256_BYTES = 32;
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
            final StoreFiles.StoreState state = StoreFiles.readState(work);
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
        if (Files.exists(directory.resolve(StoreFiles.DATA_FILE))) {
            throw new IOException(directory + " already holds a keyspace; restore into a new directory");
        }
        StoreFiles.install(snapshot, meta.dataBytes(), directory);
        final StoreFiles.StoreState state = StoreFiles.readState(directory);
        if (state.appliedIndex() != meta.appliedIndex()) {
            throw new CorruptSnapshotException(snapshot, "trailer and store disagree on the applied index");
        }
        return meta;
    }

    /**
     * Takes the snapshot file out of a client download: the Snapshot RPC streams it as etcd frames its database, padded
     * with zeros to a multiple of 512 bytes and followed by the SHA-256 of all that ({@code etcdctl snapshot save}
     * checks both). A plain snapshot file is copied as it is.
     *
     * @param download what the client saved.
     * @param target   where the snapshot file goes (replaced if present).
     * @return what it holds (verified, whole).
     * @throws CorruptSnapshotException if the hash or the snapshot inside does not verify.
     * @throws IOException              if the files cannot be read or written.
     */
    public static SnapshotMeta unframe(final Path download, final Path target) throws IOException {
        final long bytes = Files.size(download);
        long length = bytes;
        if (bytes % ETCD_BLOCK == SHA256_BYTES) {
            final MessageDigest sha;
            try {
                sha = MessageDigest.getInstance("SHA-256");
            } catch (final NoSuchAlgorithmException ex) {
                throw new IOException("no SHA-256 in this JVM", ex);
            }
            final byte[] expected = new byte[SHA256_BYTES];
            try (FileChannel in = FileChannel.open(download, StandardOpenOption.READ)) {
                final ByteBuffer chunk = ByteBuffer.allocate(1 << 16);
                long position = 0;
                while (position < bytes - SHA256_BYTES) {
                    chunk.clear().limit((int)Math.min(chunk.capacity(), bytes - SHA256_BYTES - position));
                    position += in.read(chunk, position);
                    chunk.flip();
                    sha.update(chunk);
                }
                in.read(ByteBuffer.wrap(expected), bytes - SHA256_BYTES);
            }
            if (!MessageDigest.isEqual(sha.digest(), expected)) {
                throw new CorruptSnapshotException(download, "SHA-256 at the end does not match the contents");
            }
            length = trailerEnd(download, bytes - SHA256_BYTES);
        }
        Files.deleteIfExists(target);
        try (FileChannel in = FileChannel.open(download, StandardOpenOption.READ);
            FileChannel out = FileChannel.open(target, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            long copied = 0;
            while (copied < length) {
                copied += in.transferTo(copied, length - copied, out);
            }
            out.force(true);
        }
        return SnapshotFiles.verify(target);
    }

    // The snapshot file's length inside a padded download: the trailer ends somewhere in the last 512 bytes.
    private static long trailerEnd(final Path download, final long padded) throws IOException {
        final ByteBuffer trailer = ByteBuffer.allocateDirect(SnapshotTrailer.LENGTH);
        try (FileChannel in = FileChannel.open(download, StandardOpenOption.READ)) {
            for (long end = padded; end >= Math.max(SnapshotTrailer.LENGTH, padded - ETCD_BLOCK + 1); end--) {
                trailer.clear();
                in.read(trailer, end - SnapshotTrailer.LENGTH);
                trailer.flip();
                if (SnapshotTrailer.decode(trailer, end, new String[1]) != null) {
                    return end;
                }
            }
        }
        throw new CorruptSnapshotException(download, "no snapshot trailer before the padding");
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
