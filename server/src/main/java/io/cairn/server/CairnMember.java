package io.cairn.server;

import com.google.protobuf.Descriptors;
import com.google.protobuf.Message;
import io.cairn.consensus.EntryType;
import io.cairn.consensus.Membership;
import io.cairn.consensus.MembershipChange;
import io.cairn.consensus.RaftResult;
import io.cairn.consensus.Role;
import io.cairn.consensus.keyspace.KeyspaceMember;
import io.cairn.consensus.keyspace.KeyspaceStateMachine;
import io.cairn.consensus.keyspace.LeaseKeeper;
import io.cairn.consensus.loop.RaftListener;
import io.cairn.engine.mvcc.MvccConfig;
import io.cairn.engine.mvcc.MvccError;
import io.cairn.engine.mvcc.MvccReader;
import io.cairn.engine.mvcc.MvccResponse;
import io.cairn.engine.mvcc.MvccValidator;
import io.cairn.server.grpc.ClusterService;
import io.cairn.server.grpc.EtcdStatus;
import io.cairn.server.grpc.KvService;
import io.cairn.server.grpc.LeaseService;
import io.cairn.server.grpc.MaintenanceService;
import io.cairn.server.grpc.WatchHub;
import io.cairn.server.grpc.WatchService;
import io.cairn.server.http.HttpGateway;
import io.cairn.transport.aeron.AeronTransport;
import io.cairn.transport.aeron.AeronTransportConfig;
import io.etcd.jetcd.api.AlarmRequest;
import io.etcd.jetcd.api.AlarmResponse;
import io.etcd.jetcd.api.AlarmType;
import io.etcd.jetcd.api.ResponseHeader;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.SystemNanoClock;
import org.agrona.concurrent.UnsafeBuffer;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;

/**
 * One Cairn member as a server: the keyspace replicated by Raft ({@link KeyspaceMember}) over Aeron
 * ({@link AeronTransport}), and etcd's v3 gRPC API on its client port. gRPC calls run on a small fixed pool; writes
 * are validated there (nothing invalid reaches consensus), proposed through the member's request ring and answered
 * when the loop reports them applied; a member that is not the leader forwards writes to the leader's client port.
 * Linearizable reads wait for a ReadIndex round and then read the local keyspace; serializable reads read it at
 * once.
 */
public final class CairnMember implements AutoCloseable {
    /** The etcd version this API matches (clients look at it). */
    public static final String ETCD_VERSION = "3.4.23";
    /** etcd's minimum lease TTL with a 100 ms heartbeat and 1 s election timeout: ceil(1.5 × election). */
    public static final long LEASE_TTL_MIN = 2;
    private static final System.Logger LOG = System.getLogger(CairnMember.class.getName());
    private static final long REQUEST_TIMEOUT_MS = 7_000;
    /** How often the watchdog fails requests past their deadline ({@link #expireRequests}). */
    private static final long EXPIRY_SWEEP_MS = 250;
    private static final int GRPC_THREADS = 8;
    private static final int WRITE_ATTEMPTS_MAX = 3;
    private static final long REMOVAL_CHECK_S = 5;
    /** etcd's 1.5 MiB request limit plus its 512 KiB gRPC allowance. */
    private static final int GRPC_MESSAGE_BYTES_MAX = (3 << 19) + (512 << 10);

    /** Why a proposal was not applied. */
    public static final class ProposalFailed extends RuntimeException {
        private static final long serialVersionUID = 1L;
        /** The loop's code ({@link RaftResult} or {@link RaftListener}). */
        public final long code;

        ProposalFailed(final long code) {
            super("proposal failed: " + code, null, false, false);
            this.code = code;
        }
    }

    /**
     * What a member needs.
     *
     * @param name      its name in the topology.
     * @param dataDir   its files.
     * @param clientUrl where clients connect ({@code http://host:port}).
     * @param topology  the cluster.
     * @param durable   sync the WAL (false only for measuring).
     * @param httpUrl   where the JSON gateway, /health and /metrics listen ({@code http://host:port}), or null for
     *                  the client port minus one.
     * @param aeronDir  the directory of a media driver the operator runs (the loop then parks between messages, up to
     *                  1 ms, having no sockets of its own to sleep on), or null to embed one run by the loop.
     * @param joining   etcd's {@code --initial-cluster-state existing}: with no files yet, start with no
     *                  configuration and learn it from the leader (the member must have been added by MemberAdd).
     * @param snapshotCount applied entries between snapshots (etcd's {@code --snapshot-count}).
     * @param diskReserveBytes free space below which this member raises the NOSPACE alarm (writes are refused
     *                  cluster-wide, as etcd refuses them past its quota) before a full disk could fail a WAL
     *                  write; it disarms it once twice as much is free again. 0: no guard.
     */
    public record Config(String name, Path dataDir, String clientUrl, Topology topology, boolean durable,
        String httpUrl, String aeronDir, boolean joining, long snapshotCount, long diskReserveBytes) {
        /**
         * Cairn's default {@code --snapshot-count}, etcd 3.4's: a snapshot copies the whole store, which at 5,000
         * puts/s and one every 10,000 entries took a tenth of the cluster's CPU on two cores (and beyond 64 MiB of
         * store the loop also waits for as many log bytes as the store holds: RaftAgentContext#snapshotCopyFreeBytes).
         */
        public static final long SNAPSHOT_COUNT_DEFAULT = 100_000;
        /** Default {@code --disk-reserve-bytes}: two WAL blocks. */
        public static final long DISK_RESERVE_DEFAULT = 128L << 20;

        /**
         * Checks the settings.
         */
        public Config {
            if (snapshotCount < 1) {
                throw new IllegalArgumentException("--snapshot-count must be at least 1, not " + snapshotCount);
            }
            if (diskReserveBytes < 0) {
                throw new IllegalArgumentException("--disk-reserve-bytes must not be negative");
            }
        }

        /**
         * A member of a new cluster.
         *
         * @param name      its name in the topology.
         * @param dataDir   its files.
         * @param clientUrl where clients connect.
         * @param topology  the cluster.
         * @param durable   sync the WAL.
         * @param httpUrl   the JSON gateway's URL, or null.
         * @param aeronDir  a media driver to share, or null.
         */
        public Config(final String name, final Path dataDir, final String clientUrl, final Topology topology,
            final boolean durable, final String httpUrl, final String aeronDir) {
            this(name, dataDir, clientUrl, topology, durable, httpUrl, aeronDir, false, SNAPSHOT_COUNT_DEFAULT,
                DISK_RESERVE_DEFAULT);
        }
    }

    /**
     * Netty event loops of the client port ({@code -Dcairn.grpc.eventLoops}, default 1; gRPC's own default is two per
     * core): each is a thread that wakes for its connections' bytes, and on two shared cores fewer wake-ups beat
     * parallelism. Writes' handlers run on them.
     */
    private static final int GRPC_EVENT_LOOPS = Integer.getInteger("cairn.grpc.eventLoops", 1);
    /**
     * Runs a task on the calling thread (the Netty event loop). Not gRPC's {@code directExecutor()}: with that one
     * gRPC cannot move a call to another executor, and {@link #callExecutor} must.
     */
    private static final java.util.concurrent.Executor INLINE = Runnable::run;
    private static final java.util.Set<String> DIRECT_METHODS = java.util.Set.of(
        io.etcd.jetcd.api.KVGrpc.getPutMethod().getFullMethodName(),
        io.etcd.jetcd.api.KVGrpc.getDeleteRangeMethod().getFullMethodName(),
        io.etcd.jetcd.api.KVGrpc.getTxnMethod().getFullMethodName());

    private final Config config;
    private final Topology.Member self;
    private final AeronTransport transport;
    private final KeyspaceMember member;
    private final ThreadLocal<MvccValidator> validators;
    private final Map<Long, CompletableFuture<DirectBuffer>> proposals = new ConcurrentHashMap<>();
    private final Map<Long, CompletableFuture<Long>> reads = new ConcurrentHashMap<>();
    private final Map<Long, CompletableFuture<long[]>> leaseAnswers = new ConcurrentHashMap<>();
    private final AtomicLong correlations = new AtomicLong();
    private final AtomicLong leaseIds = new AtomicLong();
    private final BlockingQueue<MvccReader> readers;
    private final Map<Integer, ManagedChannel> channels = new HashMap<>();
    private final Map<Integer, String> channelEndpoints = new HashMap<>();
    private final ExecutorService executor;
    private final io.netty.channel.EventLoopGroup grpcEventLoops;
    private final WatchHub watches;
    private final Server grpc;
    private HttpGateway gateway;
    private final AtomicLong committed = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private final AtomicLong leaderChanges = new AtomicLong();
    private final AtomicInteger pending = new AtomicInteger();
    private final Map<Integer, String> peerEndpoints = new HashMap<>(); // the transport's peers; loop thread only
    private final Map<Long, CompletableFuture<Void>> membershipChanges = new ConcurrentHashMap<>();
    private final AtomicBoolean publishing = new AtomicBoolean();
    private final CompletableFuture<Void> removed = new CompletableFuture<>();
    private final java.util.concurrent.ScheduledExecutorService watchdog;
    private volatile ClusterView view;
    private final MaintenanceService maintenance;
    private final AtomicBoolean diskAlarmPending = new AtomicBoolean();
    /** An expiry sweep is scheduled ({@link #armExpiry}): sweeps run only while requests are in flight. */
    private final AtomicBoolean expiryArmed = new AtomicBoolean();
    private volatile boolean diskAlarmRaised;
    private volatile boolean wasMember;
    private volatile long leaderlessSinceNs = System.nanoTime();
    private volatile int role = Role.FOLLOWER;
    private volatile long term;
    private volatile int leaderId;
    private volatile boolean closed;

    private CairnMember(final Config config) throws IOException {
        this.config = config;
        this.self = config.topology().byName(config.name());
        if (self == null) {
            throw new IllegalArgumentException("--name " + config.name() + " is not in --initial-cluster");
        }
        final Map<Integer, String> peers = new HashMap<>();
        for (final Topology.Member peer : config.topology().members()) {
            if (peer.id() != self.id()) {
                peers.put(peer.id(), peer.peerEndpoint());
            }
        }
        final AeronTransportConfig transportConfig = AeronTransportConfig.of(self.id(), self.peerEndpoint(), peers);
        this.transport = AeronTransport.launch(config.aeronDir() == null
            ? transportConfig : transportConfig.withExternalDriver(config.aeronDir()));
        this.peerEndpoints.putAll(peers);
        this.view = ClusterView.of(config.joining() ? new Membership() : config.topology().bootstrap(), 0,
            config.topology());
        final RaftListener listener = new Listener();
        final KeyspaceMember.Settings settings = KeyspaceMember.Settings.of(self.id(), config.dataDir(),
            config.joining() ? new Membership() : config.topology().bootstrap())
            .with(config.durable(), TimeUnit.MILLISECONDS.toNanos(100), config.snapshotCount(),
                Math.max(1, config.snapshotCount() / 2));
        try {
            this.member = new KeyspaceMember(settings, transport, listener, this::onLeaseAnswer, this::onRevision,
                SystemNanoClock.INSTANCE);
        } catch (final IOException | RuntimeException ex) {
            transport.close();
            throw ex;
        }
        final MvccConfig mvcc = member.store().config();
        this.validators = ThreadLocal.withInitial(() -> MvccValidator.of(mvcc)); // one per thread: it keeps state
        this.readers = new ArrayBlockingQueue<>(GRPC_THREADS * 2);
        this.executor = Executors.newFixedThreadPool(GRPC_THREADS, runnable -> {
            final Thread thread = new Thread(runnable, "cairn-" + config.name() + "-grpc");
            thread.setDaemon(true);
            return thread;
        });
        this.watchdog = Executors.newSingleThreadScheduledExecutor(runnable -> {
            final Thread thread = new Thread(runnable, "cairn-" + config.name() + "-membership");
            thread.setDaemon(true);
            return thread;
        });
        this.watches = new WatchHub(this);
        final ClusterService cluster = new ClusterService(this);
        this.maintenance = new MaintenanceService(this);
        final InetSocketAddress listen = address(config.clientUrl());
        this.grpcEventLoops = new io.netty.channel.MultiThreadIoEventLoopGroup(GRPC_EVENT_LOOPS,
            runnable -> {
                final Thread thread = new Thread(runnable, "cairn-" + config.name() + "-netty");
                thread.setDaemon(true);
                return thread;
            }, io.netty.channel.nio.NioIoHandler.newFactory());
        this.grpc = NettyServerBuilder.forAddress(listen)
            .channelType(io.netty.channel.socket.nio.NioServerSocketChannel.class)
            .bossEventLoopGroup(grpcEventLoops)
            .workerEventLoopGroup(grpcEventLoops)
            .executor(INLINE)
            .callExecutor(this::callExecutor)
            .maxInboundMessageSize(GRPC_MESSAGE_BYTES_MAX)
            .permitKeepAliveTime(5, TimeUnit.SECONDS)
            .permitKeepAliveWithoutCalls(true)
            .addService(new KvService(this))
            .addService(new WatchService(this, watches))
            .addService(new LeaseService(this).definition())
            .addService(cluster)
            .addService(cluster.publishDefinition())
            .addService(maintenance)
            .build();
    }

    /**
     * Opens the member's files, starts its loop, its watch dispatcher and its gRPC server.
     *
     * @param config what it is.
     * @return the running member.
     * @throws IOException if its files or ports cannot be opened.
     */
    public static CairnMember start(final Config config) throws IOException {
        final CairnMember server = new CairnMember(config);
        try {
            server.member.start(error -> {
                LOG.log(System.Logger.Level.ERROR, "member " + config.name() + " stopped on an error", error);
                Runtime.getRuntime().halt(70);
            });
            server.watches.start();
            server.grpc.start();
            // One wake-up a second for both checks: on a small shared machine every wake-up of an idle member costs.
            server.watchdog.scheduleWithFixedDelay(() -> {
                server.checkRemoved();
                if (config.diskReserveBytes() > 0) {
                    server.checkDiskSpace();
                }
            }, 1, 1, TimeUnit.SECONDS);
            server.gateway = new HttpGateway(server, config.httpUrl() == null
                ? HttpGateway.defaultAddress(config.clientUrl()) : address(config.httpUrl()));
        } catch (final IOException | RuntimeException ex) {
            server.close();
            throw ex;
        }
        return server;
    }

    /**
     * Writes run on the transport's own thread (gRPC's Netty event loop): their handlers only validate, copy and offer
     * to the loop's ring, never wait, and a hand-off to the pool per request costs a thread wake-up each way. Every
     * other call (reads that may be large, calls that wait for a leader) runs on the pool. gRPC looks the method up
     * on the server's default executor before it asks this: that default is {@link #INLINE}, so a write never visits
     * the pool at all (with the pool as default, each write woke a pool thread just to find its method).
     */
    private <Q, A> java.util.concurrent.Executor callExecutor(final io.grpc.ServerCall<Q, A> call,
        final io.grpc.Metadata headers) {
        return DIRECT_METHODS.contains(call.getMethodDescriptor().getFullMethodName()) ? null : executor;
    }

    private static InetSocketAddress address(final String url) {
        final String hostPort = Topology.hostPort(url);
        final int colon = hostPort.lastIndexOf(':');
        return new InetSocketAddress(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1)));
    }

    /** Loop-thread callbacks: complete the callers' futures (the response bytes are copied out of the run). */
    private final class Listener implements RaftListener {
        @Override
        public void onProposalComplete(final long correlationId, final long code, final long index,
            final long result) {
            final CompletableFuture<DirectBuffer> future = proposals.remove(correlationId);
            if (future == null) {
                final CompletableFuture<Void> change = membershipChanges.remove(correlationId);
                if (change != null && code == COMMITTED) {
                    change.complete(null);
                } else if (change != null) {
                    change.completeExceptionally(new ProposalFailed(code));
                }
                return;
            }
            if (code == COMMITTED) {
                committed.incrementAndGet();
                final DirectBuffer responses = member.stateMachine().responses();
                final int length = KeyspaceStateMachine.responseLength(result);
                final byte[] copy = new byte[length];
                responses.getBytes(KeyspaceStateMachine.responseOffset(result), copy);
                future.complete(new UnsafeBuffer(copy));
            } else {
                failed.incrementAndGet();
                future.completeExceptionally(new ProposalFailed(code));
            }
        }

        @Override
        public void onReadComplete(final long correlationId, final long code, final long readIndex) {
            final CompletableFuture<Long> future = reads.remove(correlationId);
            if (future != null) {
                if (code == COMMITTED) {
                    future.complete(readIndex);
                } else {
                    future.completeExceptionally(new ProposalFailed(code));
                }
            }
        }

        @Override
        public void onRoleChange(final int newRole, final long newTerm, final int newLeader) {
            if (newLeader != leaderId) {
                leaderChanges.incrementAndGet();
            }
            role = newRole;
            term = newTerm;
            if (newLeader == 0 && leaderId != 0) {
                leaderlessSinceNs = System.nanoTime();
            }
            leaderId = newLeader;
            if (newLeader != 0 && newLeader != self.id() && !closed) {
                try {
                    executor.execute(CairnMember.this::connectToLeader);
                } catch (final java.util.concurrent.RejectedExecutionException ex) {
                    // Closing: nothing to connect.
                }
            }
            if (newLeader != 0) {
                maybePublish();
            }
        }

        @Override
        public void onMembershipChange(final Membership membership, final long index) {
            final ClusterView next = ClusterView.of(membership, index, config.topology());
            view = next;
            final boolean member = membership.contains(self.id());
            if (!member && membership.memberCount() > 0) {
                LOG.log(System.Logger.Level.WARNING, "member " + config.name() + " (id " + Integer.toHexString(
                    self.id()) + ") is not in the configuration at index " + index + " " + idsInHex(next)
                    + ": it was removed, or its data directory belongs to another member (IDs are hashes of peer"
                    + " URLs)");
            }
            wasMember |= member;
            for (final ClusterView.Member each : next.members()) {
                final String endpoint = each.peerEndpoint();
                if (each.id() != self.id() && endpoint != null && !endpoint.equals(peerEndpoints.get(each.id()))) {
                    transport.addPeer(each.id(), endpoint); // replaces: a new member, or a moved one
                    peerEndpoints.put(each.id(), endpoint);
                }
            }
            if (member) {
                // Only a member knows the configuration for certain; one still joining keeps the flags' peers.
                peerEndpoints.keySet().removeIf(id -> {
                    if (next.byId(id) != null) {
                        return false;
                    }
                    transport.removePeer(id);
                    return true;
                });
                maybePublish();
            }
        }
    }

    private static String idsInHex(final ClusterView view) {
        return view.members().stream().map(each -> Integer.toHexString(each.id()) + (each.learner() ? "(learner)" : ""))
            .toList().toString();
    }

    /**
     * Notices that this member was removed from the cluster (etcd's members stop then). A member that appended the
     * removal (the leader that proposed it, a follower that received it) sees itself leave the configuration and
     * waits for the change to be applied; a follower the leader stopped talking to before it received the change
     * has no leader for a while, and then asks the others: when one that has a leader lists the members without
     * it, it was removed. A member that has never been in a configuration (one started before MemberAdd) is not
     * judged.
     */
    private void checkRemoved() {
        if (closed || removed.isDone() || !wasMember) {
            return;
        }
        final ClusterView current = view;
        if (current.byId(self.id()) == null && !current.members().isEmpty()) {
            if (read(reader -> reader.appliedIndex()) >= current.configIndex()) {
                removed.complete(null);
            }
            return;
        }
        if (leaderId != 0 || System.nanoTime() - leaderlessSinceNs < TimeUnit.SECONDS.toNanos(REMOVAL_CHECK_S)) {
            return;
        }
        for (final ClusterView.Member other : current.members()) {
            if (other.id() == self.id() || other.clientEndpoint() == null) {
                continue;
            }
            final ManagedChannel channel = NettyChannelBuilder.forTarget(other.clientEndpoint()).usePlaintext()
                .build();
            try {
                final var status = io.etcd.jetcd.api.MaintenanceGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(1, TimeUnit.SECONDS)
                    .status(io.etcd.jetcd.api.StatusRequest.getDefaultInstance());
                final var list = io.etcd.jetcd.api.ClusterGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(1, TimeUnit.SECONDS)
                    .memberList(io.etcd.jetcd.api.MemberListRequest.getDefaultInstance());
                if (status.getLeader() != 0 && list.getMembersList().stream().noneMatch(m -> m.getID() == self.id())) {
                    LOG.log(System.Logger.Level.WARNING, "member " + config.name() + ": " + other.name()
                        + " has a leader and lists the members without this one: it was removed");
                    removed.complete(null);
                    return;
                }
            } catch (final RuntimeException ex) {
                // That member is down or busy: ask the next.
            } finally {
                channel.shutdownNow();
            }
        }
    }

    /**
     * A full disk must not fail a WAL write (the loop would stop, and a mapped write past the end of the disk can
     * fault): below {@code --disk-reserve-bytes} free, this member raises etcd's NOSPACE alarm through the log, so
     * every member refuses puts, txns with puts and lease grants with etcd's "database space exceeded" while reads,
     * deletes and compaction go on; with twice the reserve free again it disarms the alarm it raised.
     */
    private void checkDiskSpace() {
        if (closed || diskAlarmPending.get()) {
            return;
        }
        final long usable;
        try {
            usable = Files.getFileStore(config.dataDir()).getUsableSpace();
        } catch (final IOException ex) {
            return;
        }
        final long reserve = config.diskReserveBytes();
        final boolean raise = !diskAlarmRaised && usable < reserve;
        final boolean disarm = diskAlarmRaised && usable >= 2 * reserve;
        if (!raise && !disarm) {
            return;
        }
        LOG.log(System.Logger.Level.WARNING, "member " + config.name() + ": " + (usable >> 20) + " MiB free in "
            + config.dataDir() + (raise ? ", under the reserve of " + (reserve >> 20) + " MiB: raising NOSPACE"
            : ": disarming the NOSPACE alarm it raised"));
        diskAlarmPending.set(true);
        maintenance.alarm(AlarmRequest.newBuilder().setAction(raise ? AlarmRequest.AlarmAction.ACTIVATE
            : AlarmRequest.AlarmAction.DEACTIVATE).setAlarm(AlarmType.NOSPACE).setMemberID(self.id()).build(),
            new StreamObserver<>() {
                @Override
                public void onNext(final AlarmResponse response) {
                    diskAlarmRaised = raise;
                }

                @Override
                public void onError(final Throwable error) {
                    diskAlarmPending.set(false); // try again at the next check
                }

                @Override
                public void onCompleted() {
                    diskAlarmPending.set(false);
                }
            });
    }

    /**
     * @return completes when this member learns it was removed from the cluster (then it takes no further part:
     *     {@code cairn member} stops, as etcd does).
     */
    public CompletableFuture<Void> removed() {
        return removed;
    }

    /**
     * etcd's members publish their name and client URLs through Raft once they run; so does a Cairn member whose
     * entry in the configuration does not say what its flags say (one added by MemberAdd, or one restarted with a
     * new client URL). Runs on the gRPC pool, one at a time, retrying until the configuration says it.
     */
    private void maybePublish() {
        final ClusterView.Member entry = view.byId(self.id());
        if (entry == null || closed || published(entry) || !publishing.compareAndSet(false, true)) {
            return;
        }
        try {
            executor.execute(this::publish);
        } catch (final java.util.concurrent.RejectedExecutionException ex) {
            publishing.set(false);
        }
    }

    private boolean published(final ClusterView.Member entry) {
        return entry.published() && entry.name().equals(config.name())
            && entry.clientUrls().equals(List.of(config.clientUrl()));
    }

    private void publish() {
        try {
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!closed && System.nanoTime() < deadline) {
                final ClusterView.Member entry = view.byId(self.id());
                if (entry == null || published(entry)) {
                    return;
                }
                final MemberAttributes attributes = new MemberAttributes(view.clusterId(), config.name(),
                    entry.peerUrls(), List.of(config.clientUrl()));
                try {
                    if (role == Role.LEADER) {
                        changeMembership(MembershipChange.UPDATE, self.id(), attributes.encode()).get();
                    } else {
                        final ManagedChannel leader = leaderChannel();
                        if (leader != null) {
                            ClusterService.publishTo(leader, self.id(), config.name(), config.clientUrl());
                        }
                    }
                } catch (final InterruptedException ex) {
                    Thread.currentThread().interrupt();
                    return;
                } catch (final Exception ex) {
                    LOG.log(System.Logger.Level.DEBUG, "publishing member attributes: " + ex);
                }
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(200));
            }
        } finally {
            publishing.set(false);
        }
    }

    /**
     * A request's future with its deadline: {@link #expireRequests} fails it with a {@link TimeoutException} (etcd's
     * "request timed out") once the deadline passes. One sweep on the watchdog thread every {@link #EXPIRY_SWEEP_MS}
     * while requests are in flight (none on an idle member) instead of {@code orTimeout}'s timer per request, which
     * woke the JDK's delay thread twice per request (schedule and cancel), a futex call and a context switch each on
     * the threads that answer.
     *
     * @param <T> what the request completes with.
     */
    static final class Deadlined<T> extends CompletableFuture<T> {
        private final long deadlineNs;

        /** A request that times out {@link #REQUEST_TIMEOUT_MS} from now. */
        Deadlined() {
            this(System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(REQUEST_TIMEOUT_MS));
        }

        /**
         * @param deadlineNs when it times out ({@link System#nanoTime()}).
         */
        Deadlined(final long deadlineNs) {
            this.deadlineNs = deadlineNs;
        }
    }

    /**
     * Fails every request past its deadline (a few hundred in flight at most under load: a cheap walk).
     */
    private void expireRequests() {
        expiryArmed.set(false); // first: a request registered from here on arms the next sweep itself
        final long nowNs = System.nanoTime();
        expire(proposals.values(), nowNs);
        expire(reads.values(), nowNs);
        expire(leaseAnswers.values(), nowNs);
        if (!proposals.isEmpty() || !reads.isEmpty() || !leaseAnswers.isEmpty()) {
            armExpiry();
        }
    }

    /**
     * Schedules the next expiry sweep unless one is scheduled. Called after a request is registered (so the sweep
     * that runs next finds it, or the request arms a sweep of its own).
     */
    private void armExpiry() {
        if (!expiryArmed.get() && expiryArmed.compareAndSet(false, true)) {
            try {
                watchdog.schedule(this::expireRequests, EXPIRY_SWEEP_MS, TimeUnit.MILLISECONDS);
            } catch (final java.util.concurrent.RejectedExecutionException closing) {
                expiryArmed.set(false); // the member is closing: its clients are cut off with the server
            }
        }
    }

    /**
     * @param futures requests in flight.
     * @param nowNs   now ({@link System#nanoTime()}).
     */
    static void expire(final Iterable<? extends CompletableFuture<?>> futures, final long nowNs) {
        for (final CompletableFuture<?> future : futures) {
            if (future instanceof Deadlined<?> deadlined && nowNs - deadlined.deadlineNs >= 0) {
                future.completeExceptionally(new TimeoutException("request timed out"));
            }
        }
    }

    private void onLeaseAnswer(final long correlationId, final int code, final long leaseId, final long ttl) {
        final CompletableFuture<long[]> future = leaseAnswers.remove(correlationId);
        if (future != null) {
            future.complete(new long[] {code, ttl});
        }
    }

    private void onRevision(final long revision) {
        watches.onRevision(revision);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // What the services use

    /**
     * @param revision the revision to report.
     * @return etcd's header: cluster ID, member ID, revision, Raft term.
     */
    public ResponseHeader header(final long revision) {
        return ResponseHeader.newBuilder().setClusterId(view.clusterId()).setMemberId(self.id())
            .setRevision(revision).setRaftTerm(term).build();
    }

    /**
     * @param command a keyspace command.
     * @param length  its length.
     * @return {@link MvccError#OK} or etcd's reason to refuse it.
     */
    public int validate(final DirectBuffer command, final int length) {
        return validators.get().validate(command, 0, length);
    }

    /**
     * Proposes a validated command.
     *
     * @param command the command (copied into the ring before this returns).
     * @param length  its length.
     * @return completes with the keyspace's response (a copy), or fails with {@link ProposalFailed}.
     */
    public CompletableFuture<DirectBuffer> propose(final DirectBuffer command, final int length) {
        final long id = correlations.incrementAndGet();
        final CompletableFuture<DirectBuffer> future = new Deadlined<>();
        proposals.put(id, future);
        armExpiry();
        pending.incrementAndGet();
        if (length > member.requests().payloadLengthMax()) {
            proposals.remove(id);
            future.completeExceptionally(new ProposalFailed(RaftResult.TOO_LARGE));
        } else if (closed || !member.requests().offerProposal(id, EntryType.NORMAL, command, 0, length)) {
            proposals.remove(id);
            future.completeExceptionally(new ProposalFailed(RaftResult.FULL));
        }
        return future.whenComplete((response, error) -> {
            proposals.remove(id);
            pending.decrementAndGet();
        });
    }

    /**
     * Proposes a membership change (this member must lead), retrying while an earlier change is still pending (the
     * core takes one at a time) until the request's deadline.
     *
     * @param change     a {@link MembershipChange} constant.
     * @param memberId   the member concerned.
     * @param attributes its new attributes ({@link MemberAttributes#encode}), or null to keep them.
     * @return completes when the change is applied here; fails with {@link ProposalFailed} or a timeout.
     */
    public CompletableFuture<Void> changeMembership(final int change, final int memberId, final byte[] attributes) {
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(REQUEST_TIMEOUT_MS);
        return CompletableFuture.supplyAsync(() -> {
            while (true) {
                final long id = correlations.incrementAndGet();
                final CompletableFuture<Void> future = new CompletableFuture<>();
                membershipChanges.put(id, future);
                final UnsafeBuffer buffer = attributes == null ? null : new UnsafeBuffer(attributes);
                if (closed || !member.requests().offerMembership(id, change, memberId, buffer, 0,
                    attributes == null ? 0 : attributes.length)) {
                    membershipChanges.remove(id);
                    throw new ProposalFailed(RaftResult.FULL);
                }
                try {
                    future.get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                    return null;
                } catch (final java.util.concurrent.ExecutionException ex) {
                    if (ex.getCause() instanceof ProposalFailed failure && failure.code == RaftResult.CONFIG_PENDING
                        && System.nanoTime() < deadline) {
                        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
                        continue;
                    }
                    throw ex.getCause() instanceof RuntimeException runtime ? runtime
                        : new IllegalStateException(ex.getCause());
                } catch (final TimeoutException ex) {
                    throw EtcdStatus.timeout();
                } catch (final InterruptedException ex) {
                    Thread.currentThread().interrupt();
                    throw EtcdStatus.timeout();
                } finally {
                    membershipChanges.remove(id);
                }
            }
        }, executor);
    }

    /**
     * @return the cluster as this member's configuration says now.
     */
    public ClusterView view() {
        return view;
    }

    /**
     * Asks this member's loop to hand leadership to {@code target}, and waits (bounded) until it has.
     *
     * @param target the member to lead.
     * @return completes when {@code target} leads; fails with {@link ProposalFailed} (NOT_LEADER, INVALID) or a
     *     timeout.
     */
    public CompletableFuture<Void> transferLeadership(final int target) {
        final long id = correlations.incrementAndGet();
        final CompletableFuture<DirectBuffer> started = new Deadlined<>();
        proposals.put(id, started);
        armExpiry();
        if (closed || !member.requests().offerTransfer(id, target)) {
            proposals.remove(id);
            started.completeExceptionally(new ProposalFailed(RaftResult.FULL));
        }
        return started.thenApplyAsync(ignored -> {
            final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(REQUEST_TIMEOUT_MS);
            while (leaderId != target) {
                if (System.nanoTime() > deadline) {
                    throw Status.DEADLINE_EXCEEDED.withDescription(
                        "etcdserver: request timed out, leader transfer took too long").asRuntimeException();
                }
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
            }
            return null;
        }, executor);
    }

    /**
     * @return completes once this member has applied everything committed when it was asked (ReadIndex).
     */
    public CompletableFuture<Long> readBarrier() {
        final long id = correlations.incrementAndGet();
        final CompletableFuture<Long> future = new Deadlined<>();
        reads.put(id, future);
        armExpiry();
        if (closed || !member.requests().offerRead(id)) {
            reads.remove(id);
            future.completeExceptionally(new ProposalFailed(RaftResult.FULL));
        }
        return future.whenComplete((index, error) -> reads.remove(id));
    }

    /**
     * Asks the leader's lease keeper (this member must lead).
     *
     * @param type    {@link LeaseKeeper#KEEP_ALIVE} or {@link LeaseKeeper#TIME_TO_LIVE}.
     * @param leaseId the lease.
     * @return completes with {code, ttl seconds}.
     */
    public CompletableFuture<long[]> leaseRequest(final byte type, final long leaseId) {
        final long id = correlations.incrementAndGet();
        final CompletableFuture<long[]> future = new Deadlined<>();
        leaseAnswers.put(id, future);
        armExpiry();
        final UnsafeBuffer payload = new UnsafeBuffer(ByteBuffer.allocate(Long.BYTES));
        payload.putLong(0, leaseId, ByteOrder.LITTLE_ENDIAN);
        if (closed || !member.requests().offerLocal(id, type, payload, 0, Long.BYTES)) {
            leaseAnswers.remove(id);
            future.completeExceptionally(new ProposalFailed(RaftResult.FULL));
        }
        return future.whenComplete((answer, error) -> leaseAnswers.remove(id));
    }

    /**
     * @return a new lease ID: this member's ID in the top bits, then time and a counter (etcd's shape), positive.
     */
    public long newLeaseId() {
        final long low = (System.currentTimeMillis() << 8 | (leaseIds.incrementAndGet() & 0xFF)) & 0xFFFF_FFFF_FFFFL;
        final long id = ((long)(self.id() & 0x7FFF) << 48) | low;
        return id == 0 ? ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE) : id;
    }

    /**
     * Runs {@code work} with a refreshed reader of the local keyspace.
     *
     * @param work what to read.
     * @param <T>  its result.
     * @return the result.
     */
    public <T> T read(final Function<MvccReader, T> work) {
        MvccReader reader = readers.poll();
        if (reader == null) {
            reader = member.store().newReader();
        }
        try {
            reader.refresh();
            return work.apply(reader);
        } finally {
            reader.release(); // idle in the pool without pinning an old snapshot (the file would only grow)
            if (!readers.offer(reader)) {
                reader.close();
            }
        }
    }

    /**
     * @return the leader's client channel when another member leads and its client URL is known, else null.
     */
    public ManagedChannel leaderChannel() {
        final int leader = leaderId;
        if (leader == 0 || leader == self.id()) {
            return null;
        }
        final ClusterView.Member target = view.byId(leader);
        final String endpoint = target == null ? null : target.clientEndpoint();
        if (endpoint == null) {
            return null;
        }
        synchronized (channels) {
            final ManagedChannel known = channels.get(leader);
            if (known != null && endpoint.equals(channelEndpoints.get(leader))) {
                return known;
            }
            if (known != null) {
                known.shutdown(); // the member published a new client URL
            }
            final ManagedChannel channel = NettyChannelBuilder.forTarget(endpoint).usePlaintext()
                .maxInboundMessageSize(GRPC_MESSAGE_BYTES_MAX).build();
            channels.put(leader, channel);
            channelEndpoints.put(leader, endpoint);
            return channel;
        }
    }

    // Opens the channel to a new leader before the first forwarded write needs it (a cold channel costs a handshake
    // while writes queue behind it).
    private void connectToLeader() {
        final ManagedChannel channel = closed ? null : leaderChannel();
        if (channel != null) {
            channel.getState(true);
        }
    }

    /**
     * Waits (a bounded while) for some member to lead.
     *
     * @return true when a leader is known.
     */
    public boolean awaitLeader() {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
        while (leaderId == 0 && !closed && System.nanoTime() < deadline) {
            try {
                Thread.sleep(20);
            } catch (final InterruptedException ex) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return leaderId != 0;
    }

    /**
     * The error a client sees for a failure.
     *
     * @param error what went wrong (possibly wrapped by a future).
     * @return etcd's status for it.
     */
    public static StatusRuntimeException toStatus(final Throwable error) {
        Throwable cause = error;
        while (cause.getCause() != null && !(cause instanceof ProposalFailed)
            && !(cause instanceof StatusRuntimeException)) {
            cause = cause.getCause();
        }
        if (cause instanceof StatusRuntimeException status) {
            return status;
        }
        if (cause instanceof TimeoutException) {
            return EtcdStatus.timeout();
        }
        if (cause instanceof ProposalFailed failure) {
            final long code = failure.code;
            if (code == RaftResult.NOT_LEADER) {
                return EtcdStatus.noLeader();
            }
            if (code == RaftResult.FULL) {
                return Status.RESOURCE_EXHAUSTED.withDescription("etcdserver: too many requests").asRuntimeException();
            }
            if (code == RaftResult.TOO_LARGE) {
                return EtcdStatus.exception(MvccError.REQUEST_TOO_LARGE);
            }
            if (code == RaftListener.LOST) {
                return Status.UNAVAILABLE.withDescription("etcdserver: leader changed").asRuntimeException();
            }
            return EtcdStatus.timeout();
        }
        return Status.INTERNAL.withDescription(String.valueOf(cause.getMessage())).withCause(cause)
            .asRuntimeException();
    }

    /**
     * Proposes a command and answers the caller from this member's own apply of it (a follower's loop forwards it to
     * the leader inside Raft); retried while leadership is moving.
     *
     * @param command  the encoded command (already validated).
     * @param length   its length.
     * @param decode   the keyspace response → etcd's response.
     * @param observer the caller.
     * @param <R>      etcd's response type.
     */
    public <R> void write(final DirectBuffer command, final int length, final Function<DirectBuffer, R> decode,
        final StreamObserver<R> observer) {
        final byte[] copy = new byte[length];
        command.getBytes(0, copy);
        attempt(new UnsafeBuffer(copy), decode, observer, 0);
    }

    // On a follower the loop forwards the proposal to the leader inside Raft (RaftCore.proposeOrForward) and this
    // member answers from its own apply of the entry, as etcd's followers do: no second gRPC call.
    private <R> void attempt(final DirectBuffer command, final Function<DirectBuffer, R> decode,
        final StreamObserver<R> observer, final int attempt) {
        // Answered where the outcome is known, normally on the loop's thread right after the apply (building the small
        // response there costs less than waking a pool thread for it); only a retry, which waits, goes to the pool.
        propose(command, command.capacity()).whenComplete((response, error) -> {
            if (error != null) {
                final Throwable cause = error.getCause() != null ? error.getCause() : error;
                if (cause instanceof ProposalFailed failure && failure.code == RaftResult.NOT_LEADER
                    && attempt < WRITE_ATTEMPTS_MAX) {
                    retryWhenLed(command, decode, observer, attempt, error);
                    return;
                }
                observer.onError(toStatus(error));
                return;
            }
            final int status = MvccResponse.status(response, 0);
            if (status != MvccError.OK) {
                observer.onError(EtcdStatus.exception(status));
                return;
            }
            try {
                observer.onNext(decode.apply(response));
                observer.onCompleted();
            } catch (final RuntimeException ex) {
                observer.onError(toStatus(ex));
            }
        });
    }

    private <R> void retryWhenLed(final DirectBuffer command, final Function<DirectBuffer, R> decode,
        final StreamObserver<R> observer, final int attempt, final Throwable error) {
        try {
            executor.execute(() -> {
                if (awaitLeader()) {
                    // Leadership moved (or was not settled): go again, through the new leader.
                    attempt(command, decode, observer, attempt + 1);
                } else {
                    observer.onError(toStatus(error));
                }
            });
        } catch (final java.util.concurrent.RejectedExecutionException ex) {
            observer.onError(toStatus(error)); // closing
        }
    }

    /**
     * Hands a request this member cannot serve to the leader (waiting a bounded while for one to be known); the
     * leader's answer reaches the caller with this member's ID in its header.
     *
     * @param forward  re-sends the request on the leader's channel.
     * @param observer the caller.
     * @param <R>      the response type.
     * @return false when no leader's client URL is known: the caller answers.
     */
    public <R> boolean forwardToLeader(final Forward<R> forward, final StreamObserver<R> observer) {
        if (!awaitLeader()) {
            return false;
        }
        final ManagedChannel leader = leaderChannel();
        if (leader == null) {
            return false;
        }
        forward.send(leader, new AsSelf<>(observer));
        return true;
    }

    /**
     * Relays the leader's answer to a forwarded request as this member's own: etcd's followers answer forwarded
     * writes themselves, so the header names the member the client spoke to.
     */
    private final class AsSelf<R> implements StreamObserver<R> {
        private final StreamObserver<R> caller;

        AsSelf(final StreamObserver<R> caller) {
            this.caller = caller;
        }

        @Override
        @SuppressWarnings("unchecked")
        public void onNext(final R value) {
            if (value instanceof Message message) {
                final Descriptors.FieldDescriptor field = message.getDescriptorForType().findFieldByName("header");
                if (field != null && message.hasField(field)) {
                    final ResponseHeader header = ((ResponseHeader)message.getField(field)).toBuilder()
                        .setMemberId(self.id()).build();
                    caller.onNext((R)message.toBuilder().setField(field, header).build());
                    return;
                }
            }
            caller.onNext(value);
        }

        @Override
        public void onError(final Throwable error) {
            caller.onError(error);
        }

        @Override
        public void onCompleted() {
            caller.onCompleted();
        }
    }

    /** Re-sends a request to the leader. */
    @FunctionalInterface
    public interface Forward<R> {
        /**
         * @param leader   the leader's client channel.
         * @param observer the original caller.
         */
        void send(ManagedChannel leader, StreamObserver<R> observer);
    }

    /**
     * @return the pool gRPC calls run on.
     */
    public ExecutorService executor() {
        return executor;
    }

    /**
     * @return the keyspace member (store, snapshots, agent).
     */
    public KeyspaceMember keyspace() {
        return member;
    }

    /**
     * @return this member in the topology.
     */
    public Topology.Member self() {
        return self;
    }

    /**
     * @return the configuration.
     */
    public Config config() {
        return config;
    }

    /**
     * @return the leader's ID as last known, 0 if none.
     */
    public int leaderId() {
        return leaderId;
    }

    /**
     * @return this member's role ({@link Role}).
     */
    public int role() {
        return role;
    }

    /**
     * @return the Raft term as last known.
     */
    public long term() {
        return term;
    }

    /**
     * @return proposals committed through this member.
     */
    public long proposalsCommitted() {
        return committed.get();
    }

    /**
     * @return proposals that failed.
     */
    public long proposalsFailed() {
        return failed.get();
    }

    /**
     * @return proposals waiting.
     */
    public int proposalsPending() {
        return pending.get();
    }

    /**
     * @return leader changes seen.
     */
    public long leaderChanges() {
        return leaderChanges.get();
    }

    /**
     * @return the transport (peer counters).
     */
    public AeronTransport transport() {
        return transport;
    }

    /**
     * @return the JSON gateway's port.
     */
    public int httpPort() {
        return gateway.port();
    }

    /**
     * @return the port clients connect to (the bound one).
     */
    public int clientPort() {
        return grpc.getPort();
    }

    /**
     * Stops serving clients, then the loop, then the transport.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (gateway != null) {
            gateway.close();
        }
        grpc.shutdown();
        try {
            if (!grpc.awaitTermination(2, TimeUnit.SECONDS)) {
                grpc.shutdownNow();
            }
        } catch (final InterruptedException ex) {
            Thread.currentThread().interrupt();
            grpc.shutdownNow();
        }
        watchdog.shutdownNow();
        watches.close();
        synchronized (channels) {
            channels.values().forEach(ManagedChannel::shutdownNow);
        }
        executor.shutdownNow();
        try {
            executor.awaitTermination(2, TimeUnit.SECONDS);
        } catch (final InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
        MvccReader reader;
        while ((reader = readers.poll()) != null) {
            reader.close();
        }
        member.close();
        transport.close();
        // After the loop: answers it completed last still write through these threads.
        grpcEventLoops.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(3_000);
    }
}
