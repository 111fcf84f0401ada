package io.cairn.engine.mvcc;

import io.cairn.engine.check.Check;
import org.agrona.DirectBuffer;
import org.agrona.ExpandableDirectByteBuffer;
import org.lmdbjava.Env;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Rewrites a store compactly while it goes on taking writes, then swaps the compact file in (etcd's defragment,
 * without stopping writes for the copy). LMDB reuses the pages a compaction frees but never gives them back, so the
 * file (etcd's {@code dbSize}) only grows; the compact copy holds the pages in use only.
 *
 * <p>Steps: {@link MvccStore#beginDefragmentation} starts a {@link CommandJournal} of every batch the store commits
 * from then on; {@link #copy()} (any thread) writes LMDB's compacting copy under one read transaction, so it holds the
 * state as of some batch; {@link #open()} opens the copy as a store of its own; {@link #catchUp} applies the
 * journalled batches the copy lacks (a few at a time, between the store's own batches, so the loop's cycles stay
 * short); {@link #finish()} applies the last few batches, checks the copy is at the store's applied index and
 * revision, renames it over the store's file and hands its open environment to the store — the only time writes
 * wait, for a rename ({@link #deleteLeftovers()} then closes the old environment and deletes the copy's directory, off
 * the store's thread). The loop holds the swap back while a snapshot is being copied ({@link MvccStore#copying()}):
 * the swap would wait for the copy's read lock. A snapshot installed meanwhile, or a
 * journal past its bound (writes faster than the copy catches up), abandons the defragmentation and leaves the store
 * as it was.
 *
 * <p>Durability: the store runs unsynced (the WAL is the durable record; after a power failure a member discards its
 * store and rebuilds it from its snapshot and log, see {@code PowerLossGuard}), so the copy needs no flush before it
 * replaces the store: after a process crash the page cache holds all of it. The rename is atomic, and the store's
 * next {@link MvccStore#sync()} (a snapshot's, a clean stop's) syncs the directory too, so the file it flushes is the
 * one the name points at after a power failure. A copy left
 * half-made by a crash is deleted when the store next opens. The WAL is untouched.
 */
public final class Defragmentation implements AutoCloseable {
    /** The directory inside the store's where the copy is made. */
    public static final String DIRECTORY = "defrag";

    private final MvccStore store;
    private final CommandJournal journal;
    private final Path directory;
    private final ExpandableDirectByteBuffer responses = new ExpandableDirectByteBuffer(4096);
    private MvccStore copy;
    private Env<DirectBuffer> retired;
    private long replayed;
    private boolean finished;

    Defragmentation(final MvccStore store, final CommandJournal journal, final Path directory) {
        this.store = store;
        this.journal = journal;
        this.directory = directory;
    }

    /**
     * Writes the compacting copy. Any thread; the store's owner writes on meanwhile.
     *
     * @throws IOException if the copy fails (no space, for one).
     */
    public void copy() throws IOException {
        deleteTree(directory);
        store.copyTo(directory);
    }

    /**
     * Opens the finished copy as a store. The store's thread, between batches.
     *
     * @throws IOException if it does not open.
     */
    public void open() throws IOException {
        Check.state(copy == null, "the copy is already open");
        copy = MvccStore.open(store.config().withDirectory(directory));
    }

    /**
     * Applies up to {@code batchesMax} of the batches the copy lacks. The store's thread, between batches.
     *
     * @param batchesMax most batches.
     * @return batches still to apply.
     * @throws IOException if the defragmentation must be abandoned (see {@link Defragmentation}).
     */
    public int catchUp(final int batchesMax) throws IOException {
        checkJournal();
        replayed += journal.replay(copy, batchesMax, responses);
        return journal.batches();
    }

    /**
     * Applies the batches left and swaps the copy in. The store's thread, between batches; writes wait for this call
     * only.
     *
     * @throws IOException if the copy is not at the store's state, or the swap fails (then the store is as it was,
     *     unless reopening its new file failed too).
     */
    public void finish() throws IOException {
        checkJournal();
        replayed += journal.replay(copy, Integer.MAX_VALUE, responses);
        retired = store.swapIn(copy, journal);
        copy = null;
        finished = true;
    }

    /**
     * Once {@link #finish()} swapped the copy in: closes the store's old environment (unmapping it and freeing its
     * file's blocks take a while: call this off the store's thread), deletes its lock file and the copy's directory.
     * Any thread.
     *
     * @throws IOException if they cannot be deleted (the copy's directory goes when the store next opens).
     */
    public void deleteLeftovers() throws IOException {
        if (retired != null) {
            retired.close();
            retired = null;
            Files.deleteIfExists(store.config().directory().resolve(StoreFiles.LOCK_FILE));
        }
        deleteTree(directory);
    }

    /**
     * @return batches applied to the copy (or found in it) so far.
     */
    public long replayed() {
        return replayed;
    }

    /**
     * @return bytes of batches journalled and not yet applied to the copy.
     */
    public int journalBytes() {
        return journal.bytes();
    }

    private void checkJournal() throws IOException {
        if (journal.cancelled()) {
            throw new IOException("the keyspace was replaced (a snapshot was installed) during the defragmentation");
        }
        if (journal.overflowed()) {
            throw new IOException("writes outran the defragmentation: the batches to apply to the copy passed the"
                + " journal's bound");
        }
    }

    /**
     * Abandons the defragmentation unless it finished (then does {@link #deleteLeftovers()} if not yet done): stops the
     * journal, closes and deletes the copy. The store's thread.
     */
    @Override
    public void close() {
        if (finished) {
            if (retired != null) {
                try {
                    deleteLeftovers();
                } catch (final IOException ex) {
                    System.getLogger(Defragmentation.class.getName()).log(System.Logger.Level.WARNING,
                        "the defragmentation's leftovers in {0} were not deleted: {1}", directory, ex.getMessage());
                }
            }
            return;
        }
        store.endJournal(journal);
        if (copy != null) {
            copy.close();
            copy = null;
        }
        try {
            deleteTree(directory);
        } catch (final IOException ex) {
            System.getLogger(Defragmentation.class.getName()).log(System.Logger.Level.WARNING,
                "the abandoned defragmentation copy in {0} was not deleted: {1}", directory, ex.getMessage());
        }
    }

    static void deleteTree(final Path directory) throws IOException {
        if (!Files.exists(directory)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(directory)) {
            for (final Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(path);
            }
        }
    }
}
