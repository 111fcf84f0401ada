package io.cairn.consensus.keyspace;

import io.cairn.consensus.Membership;
import io.cairn.consensus.SnapshotSink;
import io.cairn.consensus.SnapshotSource;
import io.cairn.engine.check.Check;
import io.cairn.engine.files.DurableFiles;
import io.cairn.engine.mvcc.MvccStore;
import io.cairn.engine.snapshot.CorruptSnapshotException;
import io.cairn.engine.snapshot.SnapshotFiles;
import io.cairn.engine.snapshot.SnapshotMeta;
import io.cairn.engine.snapshot.SnapshotReceiver;
import io.cairn.engine.snapshot.SnapshotSender;
import io.cairn.engine.snapshot.Snapshots;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

/**
 * A member's snapshots on disk, as the Raft core sees them: the latest one is what the leader streams
 * ({@link SnapshotSource}) and what a follower receives into ({@link SnapshotSink}).
 *
 * <pre>
 * snapshots/
 *   snap-00000000000000001234.snap      a sealed keyspace copy (engine's snapshot file: data + checksummed trailer)
 *   snap-00000000000000001234.members   the configuration at that index: | length | Membership | CRC32C |
 *   incoming.snap.receiving             a transfer in progress (deleted when abandoned)
 * </pre>
 *
 * <p>A snapshot counts only once both files are whole: the members file is written (fsynced, renamed) before the
 * snapshot file is renamed into place, and at open the newest pair that verifies is the latest. Older snapshots are
 * deleted once a newer one is in place (a transfer still streaming an older one keeps its mapping).
 * Single-threaded: the event loop's.
 */
public final class SnapshotDirectory implements SnapshotSource, SnapshotSink, AutoCloseable {
    private static final System.Logger LOG = System.getLogger(SnapshotDirectory.class.getName());
    private static final String PREFIX = "snap-";
    private static final String DATA_SUFFIX = ".snap";
    private static final String MEMBERS_SUFFIX = ".members";

    private final Path directory;
    private final int chunkBytes;
    private final Membership membership = new Membership();
    private final CRC32C crc = new CRC32C();
    private SnapshotMeta latest;
    private Path latestFile;
    private SnapshotSender sender;
    private SnapshotReceiver receiver;
    private long receivingIndex;
    private long receivingTerm;

    private SnapshotDirectory(final Path directory, final int chunkBytes) {
        this.directory = directory;
        this.chunkBytes = chunkBytes;
    }

    /**
     * Opens the directory and finds the latest whole snapshot (damaged ones are reported and skipped).
     *
     * @param directory  where snapshots live (created when absent).
     * @param chunkBytes bytes per chunk streamed: a power of two, at most the core's snapshot chunk limit.
     * @return the store.
     * @throws IOException if the directory cannot be read.
     */
    public static SnapshotDirectory open(final Path directory, final int chunkBytes) throws IOException {
        Check.state(Integer.bitCount(chunkBytes) == 1 && chunkBytes <= 64 << 20, "chunkBytes", chunkBytes);
        Files.createDirectories(directory);
        final SnapshotDirectory files = new SnapshotDirectory(directory, chunkBytes);
        files.findLatest();
        return files;
    }

    private void findLatest() throws IOException {
        final Path[] candidates;
        try (Stream<Path> listing = Files.list(directory)) {
            candidates = listing.filter(p -> p.getFileName().toString().startsWith(PREFIX)
                && p.getFileName().toString().endsWith(DATA_SUFFIX)).sorted().toArray(Path[]::new);
        }
        for (int i = candidates.length - 1; i >= 0; i--) {
            try {
                final SnapshotMeta meta = SnapshotFiles.verify(candidates[i]);
                if (readMembers(membersFile(meta.appliedIndex()))) {
                    latest = meta;
                    latestFile = candidates[i];
                    return;
                }
                LOG.log(System.Logger.Level.WARNING, "snapshot {0} has no whole members file; skipped", candidates[i]);
            } catch (final CorruptSnapshotException ex) {
                LOG.log(System.Logger.Level.WARNING, "skipped: {0}", ex.getMessage());
            }
        }
    }

    private Path dataFile(final long index) {
        return directory.resolve(String.format("%s%020d%s", PREFIX, index, DATA_SUFFIX));
    }

    private Path membersFile(final long index) {
        return directory.resolve(String.format("%s%020d%s", PREFIX, index, MEMBERS_SUFFIX));
    }

    private boolean readMembers(final Path file) throws IOException {
        if (!Files.exists(file)) {
            return false;
        }
        final byte[] bytes = Files.readAllBytes(file);
        final UnsafeBuffer buffer = new UnsafeBuffer(bytes);
        if (bytes.length < 8) {
            return false;
        }
        final int length = buffer.getInt(0);
        if (length < 0 || length + 8 != bytes.length) {
            return false;
        }
        crc.reset();
        crc.update(bytes, 4, length);
        return (int)crc.getValue() == buffer.getInt(4 + length) && membership.decode(buffer, 4, length);
    }

    private void writeMembers(final long index, final Membership members) throws IOException {
        final byte[] bytes = new byte[8 + members.encodedLength()];
        final UnsafeBuffer buffer = new UnsafeBuffer(bytes);
        final int length = members.encode(buffer, 4);
        buffer.putInt(0, length);
        crc.reset();
        crc.update(bytes, 4, length);
        buffer.putInt(4 + length, (int)crc.getValue());
        final Path temporary = directory.resolve("members.writing");
        Files.write(temporary, bytes);
        DurableFiles.moveDurably(temporary, membersFile(index));
    }

    /**
     * Takes a snapshot of the store (at its applied index: call between runs) and makes it the latest.
     *
     * @param store      the keyspace.
     * @param members    the configuration at its applied index.
     * @return what it holds.
     * @throws IOException if it cannot be written.
     */
    public SnapshotMeta take(final MvccStore store, final Membership members) throws IOException {
        final Path taking = directory.resolve("taking.snap");
        final SnapshotMeta meta = Snapshots.take(store, taking);
        writeMembers(meta.appliedIndex(), members);
        DurableFiles.moveDurably(taking, dataFile(meta.appliedIndex()));
        becomeLatest(meta);
        deleteSuperseded(meta.appliedIndex());
        return meta;
    }

    /**
     * The slow half of {@link #take}, safe on any thread while the loop writes on: copies the store into a file not
     * yet counted as a snapshot. One at a time.
     *
     * @param store the keyspace.
     * @return what the copy holds (its applied index is the one the copy saw).
     * @throws IOException if it cannot be written.
     */
    public SnapshotMeta copy(final MvccStore store) throws IOException {
        final Path taking = directory.resolve("taking.snap");
        Files.deleteIfExists(taking);
        store.sync(); // LMDB runs unsynced; once the log below this snapshot goes, the store must not lag it much
        return Snapshots.take(store, taking);
    }

    /**
     * The quick half, on the loop's thread: seals a {@link #copy} with its configuration and makes it the latest. The
     * snapshots it supersedes stay until {@link #deleteSuperseded} (on the snapshot thread).
     *
     * @param meta    what {@link #copy} returned.
     * @param members the configuration at its applied index.
     * @throws IOException if it cannot be written.
     */
    public void seal(final SnapshotMeta meta, final Membership members) throws IOException {
        writeMembers(meta.appliedIndex(), members);
        DurableFiles.moveDurably(directory.resolve("taking.snap"), dataFile(meta.appliedIndex()));
        becomeLatest(meta);
    }

    /**
     * Drops an unsealed copy.
     *
     * @throws IOException if it cannot be deleted.
     */
    public void discardCopy() throws IOException {
        Files.deleteIfExists(directory.resolve("taking.snap"));
    }

    private void becomeLatest(final SnapshotMeta meta) throws IOException {
        latest = meta;
        latestFile = dataFile(meta.appliedIndex());
        if (!readMembers(membersFile(meta.appliedIndex()))) {
            throw new IOException("members file of snapshot " + meta.appliedIndex() + " unreadable just after writing");
        }
        closeSender();
    }

    /**
     * Deletes the files of every snapshot older than {@code keptIndex}. Safe on any thread (it touches only files
     * named for older indexes); the loop leaves it to the snapshot thread after {@link #seal}, since unlinking a
     * file the size of the keyspace took ext4 hundreds of milliseconds (loop stalls of 200–680 ms at 800 MB,
     * 2026-12-02).
     *
     * @param keptIndex the latest snapshot's index.
     * @throws IOException if the directory cannot be listed or a file deleted.
     */
    public void deleteSuperseded(final long keptIndex) throws IOException {
        try (Stream<Path> listing = Files.list(directory)) {
            for (final Path file : listing.toList()) {
                final String name = file.getFileName().toString();
                final int digitsEnd = PREFIX.length() + 20;
                if (name.startsWith(PREFIX) && name.length() >= digitsEnd
                    && Long.parseLong(name.substring(PREFIX.length(), digitsEnd)) < keptIndex) {
                    Files.deleteIfExists(file);
                }
            }
        }
    }

    /**
     * @return the latest snapshot's metadata, or null when there is none.
     */
    public SnapshotMeta latest() {
        return latest;
    }

    /**
     * @return the latest snapshot's file, or null.
     */
    public Path latestFile() {
        return latestFile;
    }

    @Override
    public long index() {
        return latest == null ? NULL_INDEX : latest.appliedIndex();
    }

    @Override
    public long term() {
        return latest == null ? 0 : latest.appliedTerm();
    }

    @Override
    public Membership membership() {
        return membership;
    }

    @Override
    public long totalBytes() {
        return latest == null ? 0 : latest.fileBytes();
    }

    @Override
    public DirectBuffer chunk(final long offset, final int lengthMax) {
        Check.state(lengthMax >= chunkBytes, "the core's chunk limit is below ours", lengthMax, chunkBytes);
        Check.state(offset % chunkBytes == 0, "chunk offsets are sums of our chunks", offset);
        if (latest == null) {
            return null;
        }
        try {
            if (sender == null) {
                sender = new SnapshotSender(latestFile, chunkBytes);
            }
            return sender.chunk(offset / chunkBytes);
        } catch (final IOException ex) {
            LOG.log(System.Logger.Level.WARNING, "snapshot {0} unreadable: {1}", latestFile, ex.getMessage());
            closeSender();
            return null;
        }
    }

    @Override
    public int chunkChecksum() {
        return sender.chunkChecksum();
    }

    private void closeSender() {
        if (sender != null) {
            try {
                sender.close();
            } catch (final IOException ex) {
                LOG.log(System.Logger.Level.DEBUG, "closing snapshot sender: {0}", ex.getMessage());
            }
            sender = null;
        }
    }

    @Override
    public void begin(final long index, final long term, final long totalBytes) {
        abort();
        try {
            receiver = new SnapshotReceiver(directory.resolve("incoming.snap"), chunkBytes * 4);
        } catch (final IOException ex) {
            throw new UncheckedIOException("cannot receive a snapshot into " + directory, ex);
        }
        receivingIndex = index;
        receivingTerm = term;
    }

    @Override
    public long expectedOffset() {
        return receiver == null ? 0 : receiver.expectedOffset();
    }

    @Override
    public int accept(final long offset, final DirectBuffer buffer, final int bufferOffset, final int length,
        final int checksum) {
        if (receiver == null) {
            return OUT_OF_ORDER;
        }
        try {
            return receiver.accept(offset, buffer, bufferOffset, length, checksum);
        } catch (final IOException ex) {
            throw new UncheckedIOException("cannot write a received snapshot chunk in " + directory, ex);
        }
    }

    @Override
    public boolean finish(final Membership members) {
        if (receiver == null) {
            return false;
        }
        final SnapshotReceiver finishing = receiver;
        receiver = null;
        try {
            final SnapshotMeta meta = finishing.finish();
            if (meta.appliedIndex() != receivingIndex || meta.appliedTerm() != receivingTerm) {
                LOG.log(System.Logger.Level.WARNING, "received snapshot holds {0}@{1}, announced {2}@{3}; rejected",
                    meta.appliedIndex(), meta.appliedTerm(), receivingIndex, receivingTerm);
                Files.deleteIfExists(directory.resolve("incoming.snap"));
                return false;
            }
            writeMembers(meta.appliedIndex(), members);
            DurableFiles.moveDurably(directory.resolve("incoming.snap"), dataFile(meta.appliedIndex()));
            becomeLatest(meta);
            deleteSuperseded(meta.appliedIndex());
            return true;
        } catch (final CorruptSnapshotException ex) {
            LOG.log(System.Logger.Level.WARNING, "received snapshot rejected: {0}", ex.getMessage());
            return false;
        } catch (final IOException ex) {
            throw new UncheckedIOException("cannot keep a received snapshot in " + directory, ex);
        } finally {
            closeQuietly(finishing);
        }
    }

    @Override
    public void abort() {
        if (receiver != null) {
            closeQuietly(receiver);
            receiver = null;
        }
    }

    /**
     * Lets go of the open files: the snapshot being streamed (its channel; its mapped chunks go with their buffers)
     * and a transfer being received (abandoned, its temporary file deleted). The snapshots stay on disk (a later
     * {@link #chunk} would open the latest again).
     */
    @Override
    public void close() {
        closeSender();
        abort();
    }

    private static void closeQuietly(final SnapshotReceiver closing) {
        try {
            closing.close();
        } catch (final IOException ex) {
            LOG.log(System.Logger.Level.DEBUG, "closing snapshot receiver: {0}", ex.getMessage());
        }
    }
}
