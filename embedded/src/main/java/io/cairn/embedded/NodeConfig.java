package io.cairn.embedded;

import io.cairn.embedded.cluster.Topology;

import javax.net.ssl.SSLContext;
import java.nio.file.Path;
import java.util.Objects;

/**
 * What a {@link CairnNode} is: its name in the cluster, the cluster (etcd's {@code --initial-cluster}), its data
 * directory, and the settings etcd's flags would give it. Start from {@link #of} and refine with the {@code with}
 * methods (each returns a new config).
 *
 * @param name             its name in {@code topology} (etcd's {@code --name}).
 * @param topology         the cluster as configured: names, peer URLs (host:port is the Aeron UDP endpoint), client
 *                         URLs where there are any.
 * @param dataDir          its files: the WAL, the keyspace, snapshots. One node per directory.
 * @param clientUrl        the client URL it publishes to the cluster (etcd's {@code --advertise-client-urls}), or
 *                         null for a node that serves no clients over the network.
 * @param joining          etcd's {@code --initial-cluster-state existing}: with no files yet, start with no
 *                         configuration and learn it from the leader (the node must have been added first).
 * @param durable          sync the WAL before acknowledging (false only for measuring: a power cut then loses
 *                         acknowledged writes).
 * @param snapshotCount    applied entries between snapshots (etcd's {@code --snapshot-count}).
 * @param diskReserveBytes free space below which it raises the NOSPACE alarm (0: no guard).
 * @param aeronDir         the directory of a media driver the service runs itself, or null to embed one that the
 *                         node's own loop thread runs (the default: no extra threads).
 * @param corruptCheckMs   how often a follower compares its keyspace hash with the leader's (etcd's
 *                         {@code --experimental-corrupt-check-time}; 0: never). A mismatch raises CORRUPT.
 * @param peerTls          the member's peer certificate and the CAs its peers' must chain to: every peer frame is
 *                         sealed under keys agreed over mutual TLS; null: plaintext peer frames.
 * @param watchProgressNotifyMs how long a watch that asked for progress notifications goes without a response before
 *                         it gets one (etcd's {@code --experimental-watch-progress-notify-interval}, 10 min).
 * @param limits           timing and size limits etcd's flags set ({@link Limits}).
 * @param peerListen       the {@code host:port} the peer port binds ({@code 0.0.0.0:2380}: every interface), or null
 *                         for the host:port of its peer URL in the topology (what the others send to).
 */
public record NodeConfig(String name, Topology topology, Path dataDir, String clientUrl, boolean joining,
    boolean durable, long snapshotCount, long diskReserveBytes, String aeronDir, long corruptCheckMs,
    SSLContext peerTls, long watchProgressNotifyMs, Limits limits, String peerListen) {
    /** etcd 3.4's default {@code --snapshot-count}. */
    public static final long SNAPSHOT_COUNT_DEFAULT = 100_000;
    /** Default disk reserve: two WAL blocks. */
    public static final long DISK_RESERVE_DEFAULT = 128L << 20;
    /**
     * Default corruption check interval: five minutes (etcd leaves it off; Cairn's check hashes on the pool, and an
     * idle member's check costs a hash of an unchanged keyspace every five minutes).
     */
    public static final long CORRUPT_CHECK_DEFAULT_MS = 300_000;
    /** etcd's default {@code --experimental-watch-progress-notify-interval}: ten minutes. */
    public static final long WATCH_PROGRESS_NOTIFY_DEFAULT_MS = 600_000;

    /**
     * etcd's timing and size flags.
     *
     * @param heartbeatMs     {@code --heartbeat-interval}: a Raft tick (the leader's heartbeat), in ms.
     * @param electionMs      {@code --election-timeout}: a follower's election timeout (randomised up to twice
     *                        it), in ms; at least five heartbeats, at most 50 s.
     * @param quotaBytes      {@code --quota-backend-bytes}: past it the keyspace raises NOSPACE.
     * @param requestBytesMax {@code --max-request-bytes}: the largest request (at most 10 MiB, etcd's advice); entries,
     *                        peer messages, the WAL and gRPC are sized from it ({@link #grpcMessageBytesMax()}).
     * @param txnOpsMax       {@code --max-txn-ops}: the most operations in a transaction.
     */
    public record Limits(long heartbeatMs, long electionMs, long quotaBytes, int requestBytesMax, int txnOpsMax) {
        /** etcd 3.4's defaults. */
        public static final Limits DEFAULTS = new Limits(100, 1000, 2L << 30, 1536 * 1024, 128);
        /** The largest {@code --max-request-bytes}: 10 MiB (etcd warns above it; peer messages grow with it). */
        public static final int REQUEST_BYTES_MAX = 10 << 20;

        /**
         * Checks them as etcd does.
         */
        public Limits {
            if (heartbeatMs < 1) {
                throw new IllegalArgumentException("--heartbeat-interval must be at least 1 ms, not " + heartbeatMs);
            }
            if (electionMs < 5 * heartbeatMs) {
                throw new IllegalArgumentException("--election-timeout[" + electionMs + "ms] should be at least as 5"
                    + " times as --heartbeat-interval[" + heartbeatMs + "ms]");
            }
            if (electionMs > 50_000) {
                throw new IllegalArgumentException("--election-timeout[" + electionMs + "ms] is too long, and should"
                    + " be set less than 50 seconds");
            }
            if (quotaBytes < 1) {
                throw new IllegalArgumentException("--quota-backend-bytes must be positive, not " + quotaBytes);
            }
            if (requestBytesMax < 1 || requestBytesMax > REQUEST_BYTES_MAX) {
                throw new IllegalArgumentException("--max-request-bytes must be between 1 and " + REQUEST_BYTES_MAX
                    + " (10 MiB, the most etcd advises), not " + requestBytesMax);
            }
            if (txnOpsMax < 1) {
                throw new IllegalArgumentException("--max-txn-ops must be at least 1, not " + txnOpsMax);
            }
        }

        /**
         * @return the largest gRPC message a member takes, from clients and from other members: the largest request
         *     plus etcd's 512 KiB allowance for the rest of the message.
         */
        public int grpcMessageBytesMax() {
            return requestBytesMax + (512 << 10);
        }

        /**
         * @return election timeout in ticks (heartbeats).
         */
        public int electionTicks() {
            return (int)(electionMs / heartbeatMs);
        }
    }

    /**
     * Checks the settings.
     */
    public NodeConfig {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(topology, "topology");
        Objects.requireNonNull(limits, "limits");
        Objects.requireNonNull(dataDir, "dataDir");
        if (topology.byName(name) == null) {
            throw new IllegalArgumentException("--name " + name + " is not in --initial-cluster");
        }
        if (snapshotCount < 1) {
            throw new IllegalArgumentException("--snapshot-count must be at least 1, not " + snapshotCount);
        }
        if (diskReserveBytes < 0) {
            throw new IllegalArgumentException("--disk-reserve-bytes must not be negative");
        }
        if (watchProgressNotifyMs <= 0) {
            throw new IllegalArgumentException("--experimental-watch-progress-notify-interval must be positive");
        }
        if (corruptCheckMs < 0) {
            throw new IllegalArgumentException("--experimental-corrupt-check-time must not be negative");
        }
    }

    /**
     * A member of a new cluster, durable, with etcd's defaults.
     *
     * @param name           its name.
     * @param initialCluster etcd's {@code name=peerURL,...}, this node included.
     * @param dataDir        its files.
     * @return the config.
     */
    public static NodeConfig of(final String name, final String initialCluster, final Path dataDir) {
        return of(name, Topology.parse(initialCluster, ""), dataDir);
    }

    /**
     * @param name     its name.
     * @param topology the cluster.
     * @param dataDir  its files.
     * @return a member of a new cluster, durable, with etcd's defaults.
     */
    public static NodeConfig of(final String name, final Topology topology, final Path dataDir) {
        return new NodeConfig(name, topology, dataDir, null, false, true, SNAPSHOT_COUNT_DEFAULT,
            DISK_RESERVE_DEFAULT, null, CORRUPT_CHECK_DEFAULT_MS, null, WATCH_PROGRESS_NOTIFY_DEFAULT_MS,
            Limits.DEFAULTS, null);
    }

    /**
     * @param url the client URL to publish.
     * @return this config with it.
     */
    public NodeConfig withClientUrl(final String url) {
        return edit(next -> next.clientUrl = url);
    }

    /**
     * @param existing true to join a running cluster that already added this node.
     * @return this config with it.
     */
    public NodeConfig withJoining(final boolean existing) {
        return edit(next -> next.joining = existing);
    }

    /**
     * @param sync false to skip the WAL sync (measuring only).
     * @return this config with it.
     */
    public NodeConfig withDurable(final boolean sync) {
        return edit(next -> next.durable = sync);
    }

    /**
     * @param count applied entries between snapshots.
     * @return this config with it.
     */
    public NodeConfig withSnapshotCount(final long count) {
        return edit(next -> next.snapshotCount = count);
    }

    /**
     * @param bytes free disk space below which NOSPACE is raised (0: no guard).
     * @return this config with it.
     */
    public NodeConfig withDiskReserveBytes(final long bytes) {
        return edit(next -> next.diskReserveBytes = bytes);
    }

    /**
     * @param directory a media driver's directory (the service runs the driver), or null to embed one.
     * @return this config with it.
     */
    public NodeConfig withAeronDir(final String directory) {
        return edit(next -> next.aeronDir = directory);
    }

    /**
     * @param intervalMs how often followers compare keyspace hashes with the leader's (0: never).
     * @return this config with it.
     */
    public NodeConfig withCorruptCheckMs(final long intervalMs) {
        return edit(next -> next.corruptCheckMs = intervalMs);
    }

    /**
     * @param tls this member's peer certificate and the CAs its peers' must chain to (null: plaintext peer frames).
     * @return this config with it: every peer frame sealed under keys agreed over mutual TLS.
     */
    public NodeConfig withPeerTls(final SSLContext tls) {
        return edit(next -> next.peerTls = tls);
    }

    /**
     * @param intervalMs how long a progress-notify watch goes without a response before it gets one.
     * @return this config with it.
     */
    public NodeConfig withWatchProgressNotifyMs(final long intervalMs) {
        return edit(next -> next.watchProgressNotifyMs = intervalMs);
    }

    /**
     * @param next etcd's timing and size limits.
     * @return this config with them.
     */
    public NodeConfig withLimits(final Limits next) {
        return edit(draft -> draft.limits = Objects.requireNonNull(next, "limits"));
    }

    /**
     * @param hostPort where the peer port binds ({@code 0.0.0.0:2380} for every interface), or null for the
     *                 host:port of this member's peer URL.
     * @return this config with it.
     */
    public NodeConfig withPeerListen(final String hostPort) {
        return edit(next -> next.peerListen = hostPort);
    }

    /**
     * @return the {@code host:port} the peer port binds.
     */
    public String peerListenEndpoint() {
        return peerListen != null ? peerListen : self().peerEndpoint();
    }

    /** A copy of this config with one change: the one place a config is rebuilt from its components. */
    private NodeConfig edit(final java.util.function.Consumer<Draft> change) {
        final Draft next = new Draft(this);
        change.accept(next);
        return new NodeConfig(name, topology, dataDir, next.clientUrl, next.joining, next.durable,
            next.snapshotCount, next.diskReserveBytes, next.aeronDir, next.corruptCheckMs, next.peerTls,
            next.watchProgressNotifyMs, next.limits, next.peerListen);
    }

    /** The settings a {@code with*} call may change, copied from a config. */
    private static final class Draft {
        String clientUrl;
        boolean joining;
        boolean durable;
        long snapshotCount;
        long diskReserveBytes;
        String aeronDir;
        long corruptCheckMs;
        SSLContext peerTls;
        long watchProgressNotifyMs;
        Limits limits;
        String peerListen;

        Draft(final NodeConfig from) {
            clientUrl = from.clientUrl;
            joining = from.joining;
            durable = from.durable;
            snapshotCount = from.snapshotCount;
            diskReserveBytes = from.diskReserveBytes;
            aeronDir = from.aeronDir;
            corruptCheckMs = from.corruptCheckMs;
            peerTls = from.peerTls;
            watchProgressNotifyMs = from.watchProgressNotifyMs;
            limits = from.limits;
            peerListen = from.peerListen;
        }
    }

    /**
     * @return this node in the topology.
     */
    public Topology.Member self() {
        return topology.byName(name);
    }
}
