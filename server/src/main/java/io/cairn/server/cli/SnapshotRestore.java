package io.cairn.server.cli;

import io.cairn.consensus.keyspace.KeyspaceMember;
import io.cairn.consensus.keyspace.PowerLossGuard;
import io.cairn.consensus.keyspace.SnapshotDirectory;
import io.cairn.engine.mvcc.MvccConfig;
import io.cairn.engine.mvcc.MvccStore;
import io.cairn.engine.snapshot.BoltReader;
import io.cairn.engine.snapshot.EtcdSnapshots;
import io.cairn.engine.snapshot.SnapshotMeta;
import io.cairn.engine.snapshot.Snapshots;
import io.cairn.embedded.cluster.Topology;

import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * {@code ./cairn snapshot restore FILE --data-dir DIR --name NAME --initial-cluster N=URL,...}: etcdctl's restore for
 * Cairn, with {@code etcdctl snapshot restore}'s flags (parsed by picocli: {@code --flag value} and
 * {@code --flag=value}).
 * Takes a snapshot saved by {@code etcdctl snapshot save} from etcd 3.4 or from Cairn (both are etcd's bbolt format:
 * {@code EtcdSnapshots}), or a member's own snapshot file, verifies it, and makes DIR a member's data directory that
 * starts from it: the keyspace restored, and the snapshot placed as the
 * member's latest with the new cluster's configuration, so its log starts right after the snapshot point. Every
 * member of the new cluster is restored from the same file, each with its own name.
 */
final class SnapshotRestore {
    static final String USAGE = """
        usage: ./cairn snapshot restore FILE [flags]

          FILE               from `etcdctl snapshot save` against etcd 3.4 or Cairn (a bbolt database and its
                             SHA-256, checked), or a Cairn member's snapshots/snap-*.snap file
          --data-dir DIR     the new member's data directory, new or empty (default: NAME.etcd)
          --name NAME        the new member's name in --initial-cluster (default: default)
          --initial-cluster N=URL,...
                             the new cluster, as its members will be given it
                             (default: NAME=the advertised peer URL)
          --initial-cluster-token TOKEN
                             as its members will be given it (member and cluster IDs; default: etcd-cluster)
          --initial-advertise-peer-urls URL,...
                             this member's peer URLs; must be NAME's in --initial-cluster
                             (default: http://127.0.0.1:2380)
          --skip-hash-check  accept a file without etcd's SHA-256 (copied from a data directory's member/snap/db)
          --wal-dir DIR      refused: Cairn keeps its log in the data directory
        """;

    private SnapshotRestore() {
    }

    /** etcdctl snapshot restore's flags. */
    @CommandLine.Command(name = "cairn snapshot restore")
    static final class Flags {
        @CommandLine.Parameters(index = "0", arity = "0..1")
        Path file;
        @CommandLine.Option(names = "--data-dir")
        Path dataDir;
        @CommandLine.Option(names = "--wal-dir")
        Path walDir;
        @CommandLine.Option(names = "--name", defaultValue = "default")
        String name;
        @CommandLine.Option(names = "--initial-cluster")
        String cluster;
        @CommandLine.Option(names = "--initial-cluster-token", defaultValue = "etcd-cluster")
        String token;
        @CommandLine.Option(names = "--initial-advertise-peer-urls", defaultValue = "http://127.0.0.1:2380")
        String advertise;
        @CommandLine.Option(names = "--skip-hash-check", arity = "0..1", fallbackValue = "true")
        boolean skipHashCheck;
    }

    static int run(final String[] args, final PrintStream out, final PrintStream err) {
        final Flags flags = new Flags();
        try {
            new CommandLine(flags).parseArgs(args);
        } catch (final CommandLine.ParameterException ex) {
            err.println("cairn snapshot restore: " + ex.getMessage());
            err.print(USAGE);
            return 2;
        }
        if (flags.file == null) {
            err.print(USAGE);
            return 2;
        }
        if (flags.walDir != null) {
            err.println("cairn snapshot restore: --wal-dir is not supported: Cairn keeps its log in the data"
                + " directory");
            return 2;
        }
        final Path dataDir = flags.dataDir != null ? flags.dataDir : Path.of(flags.name + ".etcd");
        try {
            final String cluster = flags.cluster != null ? flags.cluster
                : flags.name + "=" + flags.advertise.split(",")[0];
            final Topology topology = Topology.parse(cluster, null, flags.token);
            final Topology.Member self = topology.byName(flags.name);
            if (self == null) {
                err.println("cairn snapshot restore: --name " + flags.name + " is not in --initial-cluster");
                return 2;
            }
            final List<String> advertised = List.of(flags.advertise.split(","));
            if (flags.cluster != null && isGiven(args, "--initial-advertise-peer-urls")
                && !advertised.contains(self.peerUrl())) {
                err.println("cairn snapshot restore: --initial-cluster has " + flags.name + "=" + self.peerUrl()
                    + " but --initial-advertise-peer-urls is " + flags.advertise);
                return 2;
            }
            if (Files.exists(dataDir) && !isEmpty(dataDir)) {
                err.println("cairn snapshot restore: " + dataDir + " already holds files; restore into a new"
                    + " directory");
                return 1;
            }
            final String restored = BoltReader.isBolt(flags.file)
                ? fromEtcd(flags.file, flags.skipHashCheck, dataDir)
                : fromCairn(flags.file, dataDir);
            try (MvccStore store = MvccStore.open(MvccConfig.defaults(dataDir.resolve("kv")));
                SnapshotDirectory snapshots = SnapshotDirectory.open(dataDir.resolve("snapshots"),
                    KeyspaceMember.Settings.SNAPSHOT_CHUNK_BYTES)) {
                snapshots.take(store, topology.bootstrap());
                store.sync();
            }
            PowerLossGuard.closedSynced(dataDir.resolve("kv")); // written whole and synced: trusted after a reboot
            out.println("restored " + flags.file + " into " + dataDir.toAbsolutePath() + ": " + restored + ", member "
                + flags.name + " of " + topology.members().size());
            return 0;
        } catch (final IOException | RuntimeException ex) {
            err.println("cairn snapshot restore: " + ex.getMessage());
            deleteQuietly(dataDir);
            return 1;
        }
    }

    /** An etcd 3.4 snapshot (from etcd or from Cairn) read into the new member's keyspace. */
    private static String fromEtcd(final Path file, final boolean skipHashCheck, final Path dataDir)
        throws IOException {
        Files.createDirectories(dataDir);
        try (MvccStore store = MvccStore.open(MvccConfig.defaults(dataDir.resolve("kv")))) {
            final EtcdSnapshots.Imported imported = EtcdSnapshots.read(file, skipHashCheck, store);
            store.sync();
            return "etcd snapshot" + (imported.hashChecked() ? " (SHA-256 checked)" : "") + ", revision "
                + imported.revision() + " (compacted at " + imported.compactRevision() + "), " + imported.keys()
                + " history records, " + imported.leases() + " leases (" + imported.leaseKeys() + " keys attached), "
                + "consistent index " + imported.consistentIndex()
                + (imported.alarmsLeftOut() > 0 ? ", " + imported.alarmsLeftOut() + " alarms of the old cluster left"
                + " out" : "");
        }
    }

    /** A Cairn snapshot file (a member's own, or the older Cairn framing of etcdctl's download). */
    private static String fromCairn(final Path file, final Path dataDir) throws IOException {
        Files.createDirectories(dataDir);
        final Path unframed = dataDir.resolve("restoring.snap");
        final SnapshotMeta meta = Snapshots.unframe(file, unframed);
        Snapshots.restore(unframed, dataDir.resolve("kv"));
        Files.delete(unframed);
        return "revision " + meta.revision() + ", raft index " + meta.appliedIndex() + " (term " + meta.appliedTerm()
            + ")";
    }

    private static boolean isGiven(final String[] args, final String flag) {
        for (final String arg : args) {
            if (arg.equals(flag) || arg.startsWith(flag + "=")) {
                return true;
            }
        }
        return false;
    }

    private static void deleteQuietly(final Path dataDir) {
        if (!Files.isDirectory(dataDir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dataDir)) {
            for (final Path path : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        } catch (final IOException ignored) {
            // best effort: the message already says the restore failed
        }
    }

    private static boolean isEmpty(final Path directory) throws IOException {
        try (Stream<Path> entries = Files.list(directory)) {
            return entries.findAny().isEmpty();
        }
    }
}
