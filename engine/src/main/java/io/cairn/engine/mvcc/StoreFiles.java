package io.cairn.engine.mvcc;

import io.cairn.engine.check.Check;
import io.cairn.engine.files.DurableFiles;
import org.agrona.DirectBuffer;
import org.lmdbjava.Dbi;
import org.lmdbjava.DbiFlags;
import org.lmdbjava.DirectBufferProxy;
import org.lmdbjava.Env;
import org.lmdbjava.EnvFlags;
import org.lmdbjava.LmdbException;
import org.lmdbjava.Txn;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The keyspace's files: the LMDB environment a store opens (its flags, the key limit it was built with, the format
 * number it must carry), a store file installed from a snapshot, and the state recorded in a file that is not open.
 * {@link MvccStore} is the one writer of an open environment; this class is everything about the files around it.
 */
public final class StoreFiles {
    /** The file LMDB keeps the keyspace in. */
    public static final String DATA_FILE = "data.mdb";
    /** LMDB's reader table beside it (rebuilt on open; stale after a file is replaced). */
    static final String LOCK_FILE = "lock.mdb";

    static {
        LmdbLibrary.prepare(); // before lmdbjava copies its library out (on the first environment)
    }

    private StoreFiles() {
    }

    /**
     * Opens the environment a store writes: {@code MDB_NOSYNC} (the WAL makes writes durable), {@code MDB_NOTLS}
     * (readers move between threads), {@code MDB_NORDAHEAD}, {@code MDB_WRITEMAP} (see {@link MvccStore}); checks
     * the key limit and a format number if the file has one.
     *
     * @param config where and how big.
     * @return the open environment.
     * @throws IOException if it is not an LMDB file, or a keyspace of another format.
     */
    static Env<DirectBuffer> open(final MvccConfig config) throws IOException {
        final Env<DirectBuffer> env;
        try {
            env = Env.create(DirectBufferProxy.PROXY_DB)
                .setMapSize(config.mapBytes())
                .setMaxDbs(Tables.DATABASES)
                .setMaxReaders(config.readersMax())
                .open(config.directory().toFile(), EnvFlags.MDB_NOSYNC, EnvFlags.MDB_NOTLS, EnvFlags.MDB_NORDAHEAD,
                    EnvFlags.MDB_WRITEMAP);
        } catch (final LmdbException ex) {
            throw new IOException("keyspace " + config.directory() + " cannot be opened (not an LMDB file?): "
                + ex.getMessage(), ex);
        }
        try {
            Check.state(env.getMaxKeySize() == MvccStore.KEY_BYTES_MAX, "LMDB built with another key limit",
                env.getMaxKeySize());
            checkFormat(env, config.directory());
            return env;
        } catch (final IOException | RuntimeException ex) {
            env.close();
            throw ex;
        }
    }

    private static void checkFormat(final Env<DirectBuffer> env, final Path directory) throws IOException {
        final Dbi<DirectBuffer> meta = env.openDbi("meta", DbiFlags.MDB_CREATE);
        try (Txn<DirectBuffer> txn = env.txnRead()) {
            final DirectBuffer format = meta.get(txn, Tables.ascii(Tables.FORMAT_KEY));
            if (format != null && Tables.formatOf(format) != Tables.FORMAT) {
                throw new IOException("keyspace " + directory + " has format " + Tables.formatOf(format)
                    + "; this build reads format " + Tables.FORMAT + " only");
            }
        }
    }

    /**
     * Writes the store file inside a snapshot into {@code directory} as its keyspace (restoring a data directory).
     *
     * @param snapshotFile a verified snapshot file.
     * @param dataBytes    the store file's length inside it.
     * @param directory    the keyspace directory (created when absent; any keyspace there is replaced).
     * @throws IOException if it cannot be written.
     */
    public static void install(final Path snapshotFile, final long dataBytes, final Path directory)
        throws IOException {
        Files.createDirectories(directory);
        final Path temporary = directory.resolve(DATA_FILE + ".installing");
        try (FileChannel source = FileChannel.open(snapshotFile, StandardOpenOption.READ);
            FileChannel target = FileChannel.open(temporary, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            long copied = 0;
            while (copied < dataBytes) {
                final long moved = source.transferTo(copied, dataBytes - copied, target);
                Check.state(moved > 0, "snapshot ended early", copied);
                copied += moved;
            }
        }
        DurableFiles.moveDurably(temporary, directory.resolve(DATA_FILE));
        Files.deleteIfExists(directory.resolve(LOCK_FILE));
    }

    /**
     * Reads the state recorded in a store file (a copy, or a closed store), without opening it for writing.
     *
     * @param directory holds {@code data.mdb}.
     * @return applied index and term, revision and compacted revision.
     * @throws IOException if it is not a keyspace of a known format.
     */
    public static StoreState readState(final Path directory) throws IOException {
        try (Env<DirectBuffer> env = Env.create(DirectBufferProxy.PROXY_DB).setMaxDbs(Tables.DATABASES)
            .open(directory.toFile(), EnvFlags.MDB_RDONLY_ENV, EnvFlags.MDB_NOLOCK, EnvFlags.MDB_NOTLS)) {
            final Dbi<DirectBuffer> meta = env.openDbi("meta");
            try (Txn<DirectBuffer> txn = env.txnRead()) {
                // Both gets hand back the transaction's one value view: read the first before the second.
                final boolean known = Tables.formatOf(meta.get(txn, Tables.ascii(Tables.FORMAT_KEY))) == Tables.FORMAT;
                final DirectBuffer state = meta.get(txn, Tables.ascii(Tables.STATE_KEY));
                if (!known || state == null) {
                    throw new IOException(directory + " holds no keyspace of format " + Tables.FORMAT);
                }
                return new StoreState(state.getLong(Tables.STATE_APPLIED_INDEX, KeyValueView.ORDER),
                    state.getLong(Tables.STATE_APPLIED_TERM, KeyValueView.ORDER),
                    state.getLong(Tables.STATE_REVISION, KeyValueView.ORDER),
                    state.getLong(Tables.STATE_COMPACT_REVISION, KeyValueView.ORDER));
            }
        } catch (final LmdbException ex) {
            throw new IOException(directory + " cannot be read as a keyspace: " + ex.getMessage(), ex);
        }
    }

    /**
     * What a store file records about itself.
     *
     * @param appliedIndex    the last Raft index applied.
     * @param appliedTerm     its term.
     * @param revision        the keyspace revision.
     * @param compactRevision the compacted revision.
     */
    public record StoreState(long appliedIndex, long appliedTerm, long revision, long compactRevision) {
    }
}
