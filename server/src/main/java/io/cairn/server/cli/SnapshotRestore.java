package io.cairn.server.cli;

import io.cairn.consensus.keyspace.KeyspaceMember;
import io.cairn.consensus.keyspace.PowerLossGuard;
import io.cairn.consensus.keyspace.SnapshotDirectory;
import io.cairn.engine.mvcc.MvccConfig;
import io.cairn.engine.mvcc.MvccStore;
import io.cairn.engine.snapshot.SnapshotMeta;
import io.cairn.engine.snapshot.Snapshots;
import io.cairn.embedded.cluster.Topology;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * {@code ./cairn snapshot restore FILE --data-dir DIR --name NAME --initial-cluster N=URL,...}: etcdctl's restore for
 * Cairn. Takes a snapshot saved by {@code etcdctl snapshot save} (or a member's own snapshot file), verifies it, and
 * makes DIR a member's data directory that starts from it: the keyspace restored, and the snapshot placed as the
 * member's latest with the new cluster's configuration, so its log starts right after the snapshot point. Every
 * member of the new cluster is restored from the same file, each with its own name.
 */
final class SnapshotRestore {
    static final String USAGE = """
        usage: ./cairn snapshot restore FILE --data-dir DIR --name NAME --initial-cluster N=URL,...

          FILE               from `etcdctl snapshot save` (etcd's framing: padding and SHA-256, both checked)
                             or a member's snapshots/snap-*.snap file
          --data-dir DIR     the new member's data directory (must not exist or be empty)
          --name NAME        the new member's name in --initial-cluster (default: default)
          --initial-cluster  the new cluster, as `cairn member` will be given it (default: NAME=http://127.0.0.1:2380)
          --initial-cluster-token TOKEN
                             as `cairn member` will be given it (member and cluster IDs; default: etcd-cluster)
        """;

    private SnapshotRestore() {
    }

    static int run(final String[] args, final PrintStream out, final PrintStream err) {
        if (args.length < 1 || args[0].startsWith("--")) {
            err.print(USAGE);
            return 2;
        }
        final Path file = Path.of(args[0]);
        Path dataDir = null;
        String name = "default";
        String cluster = null;
        String token = io.cairn.embedded.cluster.EtcdIds.TOKEN_DEFAULT;
        for (int i = 1; i < args.length; i++) {
            final String flag = args[i];
            final String value = i + 1 < args.length ? args[++i] : null;
            if (value == null) {
                err.println("cairn snapshot restore: " + flag + " needs a value");
                return 2;
            }
            switch (flag) {
                case "--data-dir" -> dataDir = Path.of(value);
                case "--name" -> name = value;
                case "--initial-cluster" -> cluster = value;
                case "--initial-cluster-token" -> token = value;
                default -> {
                    err.println("cairn snapshot restore: unknown flag " + flag);
                    err.print(USAGE);
                    return 2;
                }
            }
        }
        if (dataDir == null) {
            err.println("cairn snapshot restore: --data-dir is required");
            return 2;
        }
        try {
            final Topology topology = Topology.parse(cluster == null ? name + "=http://127.0.0.1:2380" : cluster,
                null, token);
            if (topology.byName(name) == null) {
                err.println("cairn snapshot restore: --name " + name + " is not in --initial-cluster");
                return 2;
            }
            if (Files.exists(dataDir) && !isEmpty(dataDir)) {
                err.println("cairn snapshot restore: " + dataDir + " already holds files; restore into a new"
                    + " directory");
                return 1;
            }
            Files.createDirectories(dataDir);
            final Path unframed = dataDir.resolve("restoring.snap");
            final SnapshotMeta meta = Snapshots.unframe(file, unframed);
            Snapshots.restore(unframed, dataDir.resolve("kv"));
            Files.delete(unframed);
            try (MvccStore store = MvccStore.open(MvccConfig.defaults(dataDir.resolve("kv")));
                SnapshotDirectory snapshots = SnapshotDirectory.open(dataDir.resolve("snapshots"),
                    KeyspaceMember.Settings.SNAPSHOT_CHUNK_BYTES)) {
                snapshots.take(store, topology.bootstrap());
                store.sync();
            }
            PowerLossGuard.closedSynced(dataDir.resolve("kv")); // written whole and synced: trusted after a reboot
            out.println("restored " + file + " into " + dataDir.toAbsolutePath() + ": revision " + meta.revision()
                + ", raft index " + meta.appliedIndex() + " (term " + meta.appliedTerm() + "), member " + name
                + " of " + topology.members().size());
            return 0;
        } catch (final IOException | RuntimeException ex) {
            err.println("cairn snapshot restore: " + ex.getMessage());
            return 1;
        }
    }

    private static boolean isEmpty(final Path directory) throws IOException {
        try (Stream<Path> entries = Files.list(directory)) {
            return entries.findAny().isEmpty();
        }
    }
}
