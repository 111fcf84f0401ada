package io.cairn.embedded;

import io.cairn.engine.mvcc.CommandEncoder;
import io.cairn.engine.mvcc.MvccCommand;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A full disk must not fail a WAL write (the loop would stop, and a mapped write past the end of the disk can fault):
 * below {@code --disk-reserve-bytes} free, this member raises etcd's NOSPACE alarm by proposing it, so every member
 * refuses puts, txns with puts and lease grants with etcd's "database space exceeded" while reads, deletes and
 * compaction go on; with twice the reserve free again it disarms the alarm it raised. It also raises NOSPACE when
 * the keyspace passes its quota ({@code --quota-backend-bytes}). Checked once a second on the node's watchdog; one
 * proposal in flight at a time.
 */
final class DiskGuard {
    private static final System.Logger LOG = System.getLogger(DiskGuard.class.getName());

    private final CairnNode node;
    private final String name;
    private final Path dataDir;
    private final long reserveBytes;
    private final CommandEncoder encoder = new CommandEncoder();
    private final AtomicBoolean pending = new AtomicBoolean();
    private volatile boolean raised;

    /**
     * @param node         the member whose disk is watched.
     * @param name         its name, for the log.
     * @param dataDir      its data directory (the disk is the one that holds it).
     * @param reserveBytes free space below which it raises NOSPACE.
     */
    DiskGuard(final CairnNode node, final String name, final Path dataDir, final long reserveBytes) {
        this.node = node;
        this.name = name;
        this.dataDir = dataDir;
        this.reserveBytes = reserveBytes;
    }

    /**
     * One check (the watchdog's): the keyspace's quota, then the disk's reserve.
     */
    void check() {
        if (node.isClosed() || pending.get()) {
            return;
        }
        if (checkQuota() || reserveBytes <= 0) {
            return;
        }
        final long usable;
        try {
            usable = Files.getFileStore(dataDir).getUsableSpace();
        } catch (final IOException ex) {
            return;
        }
        final boolean raise = !raised && usable < reserveBytes;
        final boolean disarm = raised && usable >= 2 * reserveBytes;
        if (!raise && !disarm) {
            return;
        }
        LOG.log(System.Logger.Level.WARNING, "member " + name + ": " + (usable >> 20) + " MiB free in " + dataDir
            + (raise ? ", under the reserve of " + (reserveBytes >> 20) + " MiB: raising NOSPACE"
            : ": disarming the NOSPACE alarm it raised"));
        propose(raise, () -> raised = raise);
    }

    /**
     * etcd's {@code --quota-backend-bytes}: a keyspace past its quota raises NOSPACE, which stays until an operator
     * compacts, defragments and disarms it ({@code etcdctl alarm disarm}), as etcd's does. Checked once a second
     * (etcd checks each request against the size it would add: a second's writes may pass the quota before the alarm
     * refuses the next; the map is twice the quota, so LMDB itself never runs out).
     *
     * @return true when it proposed the alarm.
     */
    private boolean checkQuota() {
        final long used = node.storeBytes();
        final long quota = node.storeQuotaBytes();
        if (used <= quota || (node.alarmBits() & (1 << MvccCommand.ALARM_NOSPACE)) != 0) {
            return false;
        }
        LOG.log(System.Logger.Level.WARNING, "member " + name + ": the keyspace's " + used + " bytes exceed"
            + " --quota-backend-bytes " + quota + ": raising NOSPACE (etcdserver: mvcc: database space exceeded)");
        propose(true, () -> { });
        return true;
    }

    private void propose(final boolean raise, final Runnable done) {
        pending.set(true);
        encoder.reset().alarm(raise ? MvccCommand.ALARM_ACTIVATE : MvccCommand.ALARM_DEACTIVATE,
            MvccCommand.ALARM_NOSPACE, node.selfId());
        node.write(encoder.buffer(), encoder.length()).whenComplete((response, error) -> {
            if (error == null) {
                done.run();
            }
            pending.set(false); // on an error: try again at the next check
        });
    }
}
