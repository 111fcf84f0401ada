package io.cairn.consensus.keyspace;

import io.cairn.engine.files.DurableFiles;
import io.cairn.engine.mvcc.StoreFiles;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Decides, before a member opens its keyspace, whether LMDB's file can be trusted as it is.
 *
 * <p>The keyspace runs {@code MDB_NOSYNC} with a writable map: the kernel writes its dirty pages back when it likes,
 * in no particular order. After a process crash every page is still in the page cache, and LMDB's last commit is
 * whole. After a power failure (or a kernel crash) some pages reached the disk and some did not: the meta page may
 * point at pages that still hold what a freed page held before — a store that opens without complaint and serves
 * wrong data. The two cannot be told apart from the file, but they can from the kernel's boot ID: this class records
 * it (fsynced) beside the store each time the store is opened, and replaces it with {@value #SYNCED} once a member
 * has synced and closed the store (a clean stop, a planned reboot). A store last opened under another boot and not
 * closed cleanly since — or with no record at all — is discarded. The member then rebuilds it from its latest
 * snapshot (sealed and fsynced) and its log ({@link KeyspaceStateMachine} restores a store that lags the snapshot;
 * the log replays the rest), or from the log alone when it has no snapshot (the log then still starts at index 1).
 *
 * <p>The boot ID is read from {@code /proc/sys/kernel/random/boot_id}; the system property {@code cairn.bootIdFile}
 * names another file (the power-loss test gives each simulated power cycle its own ID this way).
 */
public final class PowerLossGuard {
    private static final System.Logger LOG = System.getLogger(PowerLossGuard.class.getName());
    /** The file beside {@code data.mdb} holding the boot ID under which the store was last opened. */
    static final String BOOT_FILE = "opened-in-boot";
    /** What the record says once the store was synced and closed: every page is on the disk. */
    static final String SYNCED = "synced";
    private static final Path KERNEL_BOOT_ID = Path.of("/proc/sys/kernel/random/boot_id");

    private PowerLossGuard() {
    }

    /**
     * Discards the keyspace in {@code kvDirectory} if the machine may have lost power since it was last open, then
     * records the current boot.
     *
     * @param kvDirectory the keyspace's directory (may not exist yet).
     * @return true if a keyspace was discarded.
     * @throws IOException if the directory cannot be read or written.
     */
    static boolean check(final Path kvDirectory) throws IOException {
        final String boot = currentBoot();
        final Path record = kvDirectory.resolve(BOOT_FILE);
        final Path data = kvDirectory.resolve(StoreFiles.DATA_FILE);
        boolean discarded = false;
        if (Files.exists(data)) {
            final String recorded = Files.exists(record) ? Files.readString(record, StandardCharsets.US_ASCII).trim()
                : "";
            if (!recorded.equals(boot) && !recorded.equals(SYNCED)) {
                LOG.log(System.Logger.Level.WARNING, "the keyspace in {0} was last opened under boot {1}, this is"
                    + " boot {2}: the machine restarted since, so pages the kernel had not written back may be lost"
                    + " or torn (LMDB runs without syncing; the log is the durable record). Discarding it: it is"
                    + " rebuilt from the latest snapshot and the log.", kvDirectory,
                    recorded.isEmpty() ? "(unknown)" : recorded, boot);
                Files.delete(data);
                Files.deleteIfExists(kvDirectory.resolve("lock.mdb"));
                DurableFiles.syncDirectory(kvDirectory);
                discarded = true;
            }
        }
        Files.createDirectories(kvDirectory);
        record(kvDirectory, boot);
        return discarded;
    }

    /**
     * Records that the store in {@code kvDirectory} was synced and closed: a later boot may trust it.
     *
     * @param kvDirectory the keyspace's directory.
     * @throws IOException if the record cannot be written.
     */
    public static void closedSynced(final Path kvDirectory) throws IOException {
        record(kvDirectory, SYNCED);
    }

    private static void record(final Path kvDirectory, final String text) throws IOException {
        final Path temporary = kvDirectory.resolve(BOOT_FILE + ".writing");
        Files.writeString(temporary, text + "\n", StandardCharsets.US_ASCII);
        DurableFiles.moveDurably(temporary, kvDirectory.resolve(BOOT_FILE));
    }

    private static String currentBoot() throws IOException {
        final String override = System.getProperty("cairn.bootIdFile");
        final Path file = override != null ? Path.of(override) : KERNEL_BOOT_ID;
        if (!Files.isReadable(file)) {
            throw new IOException("cannot read the boot ID from " + file + ": needed to tell a process crash from"
                + " a power failure (set -Dcairn.bootIdFile to a file that changes on each boot)");
        }
        return Files.readString(file, StandardCharsets.US_ASCII).trim();
    }
}
