package io.cairn.server.node;

import io.cairn.consensus.EntryType;
import io.cairn.consensus.Membership;
import io.cairn.consensus.RaftResult;
import io.cairn.consensus.Role;
import io.cairn.consensus.keyspace.KeyspaceMember;
import io.cairn.consensus.keyspace.KeyspaceStateMachine;
import io.cairn.consensus.loop.RaftAgent;
import io.cairn.consensus.loop.RaftListener;
import io.cairn.engine.mvcc.MvccConfig;
import io.cairn.engine.mvcc.MvccError;
import io.cairn.engine.mvcc.MvccReader;
import io.cairn.engine.mvcc.MvccResponse;
import io.cairn.engine.mvcc.MvccStore;
import io.cairn.engine.mvcc.MvccValidator;
import io.cairn.server.cluster.ClusterView;
import io.cairn.server.cluster.Topology;
import io.cairn.transport.aeron.AeronTransport;
import io.etcd.jetcd.api.ResponseHeader;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import org.agrona.DirectBuffer;
import org.agrona.ErrorHandler;
import org.agrona.concurrent.SystemNanoClock;
import org.agrona.concurrent.UnsafeBuffer;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;
import java.util.function.LongConsumer;

/**
 * This member's keyspace replicated by Raft, as the services use it ({@link Node}) and as {@code /metrics} reads it
 * ({@link NodeStatus}): the {@link KeyspaceMember} (loop, WAL, store) over the member's transport, the requests it
 * handed the loop ({@link Requests}, one slot per kind), the loop's callbacks, the pool that runs what may wait, and
 * the duties beside them: channels to the leader ({@link LeaderChannels}), the transport's peers
 * ({@link PeerDirectory}), publishing this member's name and client URL ({@link Publisher}), noticing its removal
 * ({@link RemovalWatch}) and guarding its disk ({@link DiskGuard}).
 *
 * <p>Writes are validated by the caller, proposed through the loop's request ring and answered when the loop reports
 * them applied here, on the loop's thread (a follower's loop forwards them to the leader inside Raft). Linearizable
 * reads wait for a ReadIndex round and then read the local keyspace; serializable reads read it at once.
 */
public final class RaftNode implements Node, NodeStatus, AutoCloseable {
    private static final System.Logger LOG = System.getLogger(RaftNode.class.getName());
    private static final int POOL_THREADS = 8;
    private static final int WRITE_ATTEMPTS_MAX = 3;

    /**
     * What a node needs to know about itself.
     *
     * @param name             its name in the topology (etcd's {@code --name}).
     * @param topology         the cluster as the flags describe it.
     * @param clientUrl        the client URL it serves (published through Raft).
     * @param dataDir          its files.
     * @param joining          etcd's {@code --initial-cluster-state existing}: with no files yet, start with no
     *                         configuration and learn it from the leader.
     * @param durable          sync the WAL (false only for measuring).
     * @param snapshotCount    applied entries between snapshots.
     * @param diskReserveBytes free space below which it raises NOSPACE; 0: no guard.
     */
    public record Settings(String name, Topology topology, String clientUrl, Path dataDir, boolean joining,
        boolean durable, long snapshotCount, long diskReserveBytes) {
    }

    private final Settings settings;
    private final Topology.Member self;
    private final AeronTransport transport;
    private final KeyspaceMember member;
    private final ThreadLocal<MvccValidator> validators;
    private final BlockingQueue<MvccReader> readers = new ArrayBlockingQueue<>(POOL_THREADS * 2);
    private final ExecutorService executor;
    private final ScheduledExecutorService watchdog;
    private final Requests requests;
    private final LeaderChannels leaderChannels;
    private final PeerDirectory peers;
    private final Publisher publisher;
    private final RemovalWatch removal;
    private final DiskGuard diskGuard;
    private final AtomicLong leaseIds = new AtomicLong();
    private final AtomicLong leaderChanges = new AtomicLong();
    private volatile LongConsumer revisionListener = revision -> { };
    private volatile ClusterView view;
    private volatile int role = Role.FOLLOWER;
    private volatile long term;
    private volatile int leaderId;
    private volatile boolean closed;

    /**
     * Opens the member's files (its loop is not started yet: {@link #start}).
     *
     * @param settings     what it is.
     * @param transport    its transport to the peers (launched with {@code initialPeers}).
     * @param initialPeers the peers the transport was launched with (ID → host:port).
     * @throws IOException if its files cannot be opened.
     */
    public RaftNode(final Settings settings, final AeronTransport transport, final Map<Integer, String> initialPeers)
        throws IOException {
        this.settings = settings;
        this.self = settings.topology().byName(settings.name());
        if (self == null) {
            throw new IllegalArgumentException("--name " + settings.name() + " is not in --initial-cluster");
        }
        this.transport = transport;
        final Membership initial = settings.joining() ? new Membership() : settings.topology().bootstrap();
        this.view = ClusterView.of(initial, 0, settings.topology());
        this.executor = Executors.newFixedThreadPool(POOL_THREADS,
            DaemonThreads.named("cairn-" + settings.name() + "-grpc"));
        this.watchdog = Executors.newSingleThreadScheduledExecutor(
            DaemonThreads.named("cairn-" + settings.name() + "-membership"));
        this.requests = new Requests(watchdog);
        this.leaderChannels = new LeaderChannels(this);
        this.peers = new PeerDirectory(transport, self.id(), initialPeers);
        this.publisher = new Publisher(this, settings.name(), settings.clientUrl(), executor);
        this.removal = new RemovalWatch(this, settings.name());
        this.diskGuard = settings.diskReserveBytes() > 0
            ? new DiskGuard(this, settings.name(), settings.dataDir(), settings.diskReserveBytes()) : null;
        final KeyspaceMember.Settings keyspace = KeyspaceMember.Settings.of(self.id(), settings.dataDir(), initial)
            .with(settings.durable(), TimeUnit.MILLISECONDS.toNanos(100), settings.snapshotCount(),
                Math.max(1, settings.snapshotCount() / 2));
        try {
            this.member = new KeyspaceMember(keyspace, transport, new Listener(), this::onLeaseAnswer,
                revision -> revisionListener.accept(revision), SystemNanoClock.INSTANCE);
        } catch (final IOException | RuntimeException ex) {
            executor.shutdownNow();
            watchdog.shutdownNow();
            throw ex;
        }
        final MvccConfig mvcc = member.store().config();
        this.validators = ThreadLocal.withInitial(() -> MvccValidator.of(mvcc)); // one per thread: it keeps state
    }

    /**
     * @param listener told of every new revision this member applies (the watch hub), on the loop's thread; set
     *                 before {@link #start}.
     */
    public void onRevision(final LongConsumer listener) {
        this.revisionListener = listener;
    }

    /**
     * Starts the loop and the watchdog (removal watch, disk guard: one wake-up a second for both, since on a small
     * shared machine every wake-up of an idle member costs).
     *
     * @param onError what to do if the loop stops on an error.
     */
    public void start(final ErrorHandler onError) {
        member.start(onError);
        watchdog.scheduleWithFixedDelay(() -> {
            removal.check();
            if (diskGuard != null) {
                diskGuard.check();
            }
        }, 1, 1, TimeUnit.SECONDS);
    }

    /**
     * @return completes when this member learns it was removed from the cluster (then it takes no further part:
     *     {@code cairn member} stops, as etcd does).
     */
    public CompletableFuture<Void> removed() {
        return removal.removed();
    }

    boolean isClosed() {
        return closed;
    }

    /** Loop-thread callbacks: complete the callers' futures (the response bytes are copied out of the run). */
    private final class Listener implements RaftListener {
        @Override
        public void onProposalComplete(final long correlationId, final long code, final long index,
            final long result) {
            final CompletableFuture<DirectBuffer> future = requests.writes.remove(correlationId);
            if (future == null) {
                requests.completeOther(correlationId, code);
                return;
            }
            if (code == COMMITTED) {
                requests.writesCommitted.incrementAndGet();
                final DirectBuffer responses = member.stateMachine().responses();
                final byte[] copy = new byte[KeyspaceStateMachine.responseLength(result)];
                responses.getBytes(KeyspaceStateMachine.responseOffset(result), copy);
                future.complete(new UnsafeBuffer(copy));
            } else {
                requests.writesFailed.incrementAndGet();
                future.completeExceptionally(new ProposalFailed(code));
            }
        }

        @Override
        public void onReadComplete(final long correlationId, final long code, final long readIndex) {
            final CompletableFuture<Long> future = requests.reads.remove(correlationId);
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
            removal.onLeader(leaderId, newLeader);
            leaderId = newLeader;
            if (newLeader != 0 && newLeader != self.id() && !closed) {
                try {
                    executor.execute(leaderChannels::connectToLeader);
                } catch (final RejectedExecutionException ex) {
                    // Closing: nothing to connect.
                }
            }
            if (newLeader != 0) {
                publisher.maybePublish();
            }
        }

        @Override
        public void onMembershipChange(final Membership membership, final long index) {
            final ClusterView next = ClusterView.of(membership, index, settings.topology());
            view = next;
            final boolean isMember = membership.contains(self.id());
            if (!isMember && membership.memberCount() > 0) {
                LOG.log(System.Logger.Level.WARNING, "member " + settings.name() + " (id "
                    + Integer.toHexString(self.id()) + ") is not in the configuration at index " + index + " "
                    + idsInHex(next) + ": it was removed, or its data directory belongs to another member (IDs are"
                    + " hashes of peer URLs)");
            }
            removal.onConfiguration(isMember);
            peers.onConfiguration(next, isMember);
            if (isMember) {
                publisher.maybePublish();
            }
        }
    }

    private static String idsInHex(final ClusterView view) {
        return view.members().stream().map(each -> Integer.toHexString(each.id()) + (each.learner() ? "(learner)" : ""))
            .toList().toString();
    }

    private void onLeaseAnswer(final long correlationId, final int code, final long leaseId, final long ttl) {
        final CompletableFuture<long[]> future = requests.leaseAnswers.remove(correlationId);
        if (future != null) {
            future.complete(new long[] {code, ttl});
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Node

    @Override
    public ResponseHeader header(final long revision) {
        return ResponseHeader.newBuilder().setClusterId(view.clusterId()).setMemberId(self.id())
            .setRevision(revision).setRaftTerm(term).build();
    }

    @Override
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
    CompletableFuture<DirectBuffer> propose(final DirectBuffer command, final int length) {
        final long id = requests.nextId();
        final CompletableFuture<DirectBuffer> future = requests.register(requests.writes, id,
            new Requests.Deadlined<>());
        requests.writesPending.incrementAndGet();
        if (length > member.requests().payloadLengthMax()) {
            requests.writes.remove(id);
            future.completeExceptionally(new ProposalFailed(RaftResult.TOO_LARGE));
        } else if (closed || !member.requests().offerProposal(id, EntryType.NORMAL, command, 0, length)) {
            requests.writes.remove(id);
            future.completeExceptionally(new ProposalFailed(RaftResult.FULL));
        }
        return future.whenComplete((response, error) -> {
            requests.writes.remove(id);
            requests.writesPending.decrementAndGet();
        });
    }

    @Override
    public <R> void write(final DirectBuffer command, final int length, final Function<DirectBuffer, R> decode,
        final StreamObserver<R> observer) {
        final byte[] copy = new byte[length];
        command.getBytes(0, copy);
        attempt(new UnsafeBuffer(copy), decode, observer, 0);
    }

    // Answered where the outcome is known, normally on the loop's thread right after the apply (building the small
    // response there costs less than waking a pool thread for it); only a retry, which waits, goes to the pool.
    private <R> void attempt(final DirectBuffer command, final Function<DirectBuffer, R> decode,
        final StreamObserver<R> observer, final int attempt) {
        propose(command, command.capacity()).whenComplete((response, error) -> {
            if (error != null) {
                final Throwable cause = error.getCause() != null ? error.getCause() : error;
                if (cause instanceof ProposalFailed failure && failure.code() == RaftResult.NOT_LEADER
                    && attempt < WRITE_ATTEMPTS_MAX) {
                    retryWhenLed(command, decode, observer, attempt, error);
                    return;
                }
                observer.onError(EtcdStatus.of(error));
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
                observer.onError(EtcdStatus.of(ex));
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
                    observer.onError(EtcdStatus.of(error));
                }
            });
        } catch (final RejectedExecutionException ex) {
            observer.onError(EtcdStatus.of(error)); // closing
        }
    }

    @Override
    public CompletableFuture<Long> readBarrier() {
        final long id = requests.nextId();
        final CompletableFuture<Long> future = requests.register(requests.reads, id, new Requests.Deadlined<>());
        if (closed || !member.requests().offerRead(id)) {
            requests.reads.remove(id);
            future.completeExceptionally(new ProposalFailed(RaftResult.FULL));
        }
        return future.whenComplete((index, error) -> requests.reads.remove(id));
    }

    @Override
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

    @Override
    public CompletableFuture<long[]> leaseRequest(final byte type, final long leaseId) {
        final long id = requests.nextId();
        final CompletableFuture<long[]> future = requests.register(requests.leaseAnswers, id,
            new Requests.Deadlined<>());
        final UnsafeBuffer payload = new UnsafeBuffer(ByteBuffer.allocate(Long.BYTES));
        payload.putLong(0, leaseId, ByteOrder.LITTLE_ENDIAN);
        if (closed || !member.requests().offerLocal(id, type, payload, 0, Long.BYTES)) {
            requests.leaseAnswers.remove(id);
            future.completeExceptionally(new ProposalFailed(RaftResult.FULL));
        }
        return future.whenComplete((answer, error) -> requests.leaseAnswers.remove(id));
    }

    @Override
    public long newLeaseId() {
        final long low = (System.currentTimeMillis() << 8 | (leaseIds.incrementAndGet() & 0xFF)) & 0xFFFF_FFFF_FFFFL;
        final long id = ((long)(self.id() & 0x7FFF) << 48) | low;
        return id == 0 ? ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE) : id;
    }

    @Override
    public CompletableFuture<Void> changeMembership(final int change, final int memberId, final byte[] attributes) {
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(Requests.REQUEST_TIMEOUT_MS);
        return CompletableFuture.supplyAsync(() -> {
            while (true) {
                final long id = requests.nextId();
                final CompletableFuture<Void> future = new CompletableFuture<>();
                requests.membershipChanges.put(id, future);
                final UnsafeBuffer buffer = attributes == null ? null : new UnsafeBuffer(attributes);
                if (closed || !member.requests().offerMembership(id, change, memberId, buffer, 0,
                    attributes == null ? 0 : attributes.length)) {
                    requests.membershipChanges.remove(id);
                    throw new ProposalFailed(RaftResult.FULL);
                }
                try {
                    future.get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                    return null;
                } catch (final ExecutionException ex) {
                    if (ex.getCause() instanceof ProposalFailed failure
                        && failure.code() == RaftResult.CONFIG_PENDING && System.nanoTime() < deadline) {
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
                    requests.membershipChanges.remove(id);
                }
            }
        }, executor);
    }

    @Override
    public CompletableFuture<Void> transferLeadership(final int target) {
        final long id = requests.nextId();
        final CompletableFuture<Void> started = requests.register(requests.transfers, id,
            new Requests.Deadlined<>());
        if (closed || !member.requests().offerTransfer(id, target)) {
            requests.transfers.remove(id);
            started.completeExceptionally(new ProposalFailed(RaftResult.FULL));
        }
        return started.whenComplete((ignored, error) -> requests.transfers.remove(id)).thenApplyAsync(ignored -> {
            final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(Requests.REQUEST_TIMEOUT_MS);
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

    @Override
    public ClusterView view() {
        return view;
    }

    @Override
    public int selfId() {
        return self.id();
    }

    @Override
    public int leaderId() {
        return leaderId;
    }

    @Override
    public int role() {
        return role;
    }

    @Override
    public long term() {
        return term;
    }

    @Override
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

    @Override
    public ManagedChannel leaderChannel() {
        return closed ? null : leaderChannels.leaderChannel();
    }

    @Override
    public <R> boolean forwardToLeader(final Forward<R> forward, final StreamObserver<R> observer) {
        return leaderChannels.forward(forward, observer);
    }

    @Override
    public ExecutorService executor() {
        return executor;
    }

    @Override
    public MvccStore store() {
        return member.store();
    }

    @Override
    public Path dataDir() {
        return settings.dataDir();
    }

    // ---------------------------------------------------------------------------------------------------------------
    // NodeStatus

    @Override
    public long leaderChanges() {
        return leaderChanges.get();
    }

    @Override
    public long proposalsCommitted() {
        return requests.writesCommitted.get();
    }

    @Override
    public long proposalsFailed() {
        return requests.writesFailed.get();
    }

    @Override
    public int proposalsPending() {
        return requests.writesPending.get();
    }

    @Override
    public long appliedIndex() {
        return read(MvccReader::appliedIndex);
    }

    @Override
    public long storeBytes() {
        return member.store().usedBytes();
    }

    @Override
    public int alarmBits() {
        return member.store().alarmBits();
    }

    @Override
    public RaftAgent loop() {
        return member.agent();
    }

    @Override
    public long peerFramesDropped() {
        return transport.droppedFrames();
    }

    /**
     * Stops the watchdog, the channels to the leader and the pool, then the loop (its files closed). The transport
     * is the caller's.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        watchdog.shutdownNow();
        leaderChannels.close();
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
    }
}
