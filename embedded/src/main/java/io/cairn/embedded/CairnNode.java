package io.cairn.embedded;

import io.cairn.consensus.EntryType;
import io.cairn.consensus.Membership;
import io.cairn.consensus.RaftConfig;
import io.cairn.consensus.RaftMessage;
import io.cairn.consensus.RaftResult;
import io.cairn.consensus.Role;
import io.cairn.consensus.keyspace.Defragmenter;
import io.cairn.consensus.keyspace.KeyspaceMember;
import io.cairn.consensus.keyspace.KeyspaceStateMachine;
import io.cairn.consensus.keyspace.LeaseKeeper;
import io.cairn.consensus.loop.RaftAgent;
import io.cairn.consensus.loop.RaftListener;
import io.cairn.consensus.loop.SplitDuty;
import io.cairn.embedded.cluster.ClusterView;
import io.cairn.embedded.cluster.Topology;
import io.cairn.embedded.kv.WatchOptions;
import io.cairn.engine.mvcc.MvccConfig;
import io.cairn.engine.mvcc.MvccError;
import io.cairn.engine.mvcc.MvccReader;
import io.cairn.engine.mvcc.MvccResponse;
import io.cairn.engine.mvcc.MvccStore;
import io.cairn.engine.mvcc.MvccValidator;
import io.cairn.engine.mvcc.RangeVisitor;
import io.cairn.transport.aeron.AeronTransport;
import io.cairn.transport.aeron.AeronTransportConfig;
import org.agrona.DirectBuffer;
import org.agrona.ErrorHandler;
import org.agrona.concurrent.SystemNanoClock;
import org.agrona.concurrent.UnsafeBuffer;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
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

/**
 * A replicated Cairn member inside a Java service: its keyspace (LMDB, off-heap) replicated by Raft over Aeron UDP to
 * the other members, its WAL a memory-mapped Chronicle Queue. The service's process is the member; its writes go
 * through Raft, its reads come from its own map.
 *
 * <pre>{@code
 * try (CairnNode node = CairnNode.start(NodeConfig.of("a",
 *         "a=http://127.0.0.1:2380,b=http://127.0.0.1:2381,c=http://127.0.0.1:2382", Path.of("data/a")))) {
 *     node.kv().put(key, value).get();
 * }
 * }</pre>
 *
 * <p>What it offers, in two layers:
 * <ul>
 *   <li>{@link #kv()}: etcd's KV calls (put, get, range, delete, txn, compact) with typed results; futures fail with
 *       {@link CairnException} (etcd's reason, {@link CairnError}); {@link #watch} a key or a range from a revision,
 *       to a listener on the caller's executor or to a {@link WatchSink} that sees views; {@link #leases()}: etcd's
 *       Lease calls (grant, revoke, keep-alive, time-to-live, list);</li>
 *   <li>the command layer the typed calls and the etcd gRPC server are built on: {@link #validate} and
 *       {@link #write} a keyspace command ({@code CommandEncoder}'s layout), {@link #readBarrier} (ReadIndex) and
 *       {@link #read} the local keyspace, {@link #changeMembership}, {@link #transferLeadership}, the loop's view of
 *       the cluster ({@link #view}, {@link #leaderId}, {@link #role}, {@link #term}) and its events
 *       ({@link #addListener}).</li>
 * </ul>
 *
 * <p>Threads: one loop thread runs Raft, the WAL, the keyspace's writer and the embedded Aeron driver (it sleeps in
 * epoll when idle); a small pool runs what may wait; a watchdog wakes once a second. Futures complete on the loop
 * thread (writes, read barriers) or the pool: chain work that waits with the {@code ...Async} forms. Writes are
 * answered once applied by this member, leader or follower (a follower forwards them to the leader inside Raft); a
 * write whose leader changed before it committed fails with {@link CairnError#LEADER_CHANGED} or {@link
 * CairnError#TIMEOUT} and may or may not have been applied, as in etcd.
 *
 * <p>The service's JVM needs the flags in {@code config/jvm.properties} (Chronicle Queue and LMDB reach into the
 * JDK's internals).
 */
public final class CairnNode implements NodeStatus, AutoCloseable {
    private static final System.Logger LOG = System.getLogger(CairnNode.class.getName());
    private static final int POOL_THREADS = 8;
    private static final int WRITE_ATTEMPTS_MAX = 3;

    private final NodeConfig config;
    private final Topology.Member self;
    private final AeronTransport transport;
    private final KeyspaceMember member;
    private final ThreadLocal<MvccValidator> validators;
    private final BlockingQueue<MvccReader> readers = new ArrayBlockingQueue<>(POOL_THREADS * 2);
    private final ExecutorService executor;
    private final ScheduledExecutorService watchdog;
    private final Requests requests;
    private final PeerDirectory peers;
    private final DiskGuard diskGuard;
    private final MembershipRelay relay;
    private final CorruptionCheck corruption;
    private final List<NodeListener> listeners = new CopyOnWriteArrayList<>();
    private final List<Runnable> duties = new CopyOnWriteArrayList<>();
    private final AtomicLong leaseIds = new AtomicLong();
    private final AtomicLong leaderChanges = new AtomicLong();
    private final KvClient kv = new KvClient(this);
    private final LeaseClient leases = new LeaseClient(this);
    private final ClusterClient cluster = new ClusterClient(this);
    private final WatchHub watches;
    private volatile ClusterView view;
    private volatile int role = Role.FOLLOWER;
    private volatile long term;
    private volatile int leaderId;
    private volatile boolean started;
    private volatile boolean closed;

    private CairnNode(final NodeConfig config) throws IOException {
        this.config = config;
        this.self = config.self();
        final Map<Integer, String> initialPeers = new HashMap<>();
        for (final Topology.Member peer : config.topology().members()) {
            if (peer.id() != self.id()) {
                initialPeers.put(peer.id(), peer.peerEndpoint());
            }
        }
        final AeronTransportConfig transportConfig = AeronTransportConfig.of(self.id(), config.peerListenEndpoint(),
            initialPeers).withPeerTls(config.peerTls())
            .withLargestMessage(RaftConfig.messageBytesMaxFor(
                KeyspaceMember.Settings.entryBytesMax(config.limits().requestBytesMax())));
        this.transport = AeronTransport.launch(config.aeronDir() == null
            ? transportConfig : transportConfig.withExternalDriver(config.aeronDir()));
        final Membership initial = config.joining() ? new Membership() : config.topology().bootstrap();
        this.view = ClusterView.of(initial, 0, config.topology());
        this.executor = Executors.newFixedThreadPool(POOL_THREADS,
            DaemonThreads.named("cairn-" + config.name() + "-pool"));
        this.watchdog = Executors.newSingleThreadScheduledExecutor(
            DaemonThreads.named("cairn-" + config.name() + "-watchdog"));
        this.requests = new Requests(watchdog);
        this.watches = new WatchHub(this);
        this.peers = new PeerDirectory(transport, self.id(), initialPeers);
        this.diskGuard = new DiskGuard(this, config.name(), config.dataDir(), config.diskReserveBytes());
        final NodeConfig.Limits limits = config.limits();
        final KeyspaceMember.Settings base = KeyspaceMember.Settings.of(self.id(), config.dataDir(), initial);
        final KeyspaceMember.Settings keyspace = base
            .with(config.durable(), TimeUnit.MILLISECONDS.toNanos(limits.heartbeatMs()), config.snapshotCount(),
                Math.max(1, config.snapshotCount() / 2))
            .withElectionTicks(limits.electionTicks())
            .withMvcc(base.mvcc().withSizes(Math.max(base.mvcc().mapBytes(), 2 * limits.quotaBytes()),
                limits.quotaBytes()).withRequestLimits(limits.requestBytesMax(), limits.txnOpsMax()));
        this.relay = new MembershipRelay(executor, requests.membershipRelays, cluster::lead,
            peers::expire); // the loop's clock is System.nanoTime, as the directory's
        this.corruption = new CorruptionCheck(this, requests, config.corruptCheckMs());
        try {
            this.member = new KeyspaceMember(keyspace, transport, new Listener(), this::onLeaseAnswer,
                watches::onRevision, SystemNanoClock.INSTANCE,
                new SplitDuty(relay, CorruptionCheck.REPORT, corruption));
        } catch (final IOException | RuntimeException ex) {
            executor.shutdownNow();
            watchdog.shutdownNow();
            transport.close();
            throw ex;
        }
        relay.attach(member.requests());
        corruption.attach(member.requests());
        listeners.add(new Publisher(this, executor));
        final MvccConfig mvcc = member.store().config();
        this.validators = ThreadLocal.withInitial(() -> MvccValidator.of(mvcc)); // one per thread: it keeps state
    }

    /**
     * Opens a node's transport and files without starting it: set its listeners, then {@link #start(ErrorHandler)}.
     *
     * @param config what it is.
     * @return the node, not yet taking part in the cluster.
     * @throws IOException if its files cannot be opened.
     */
    public static CairnNode open(final NodeConfig config) throws IOException {
        return new CairnNode(config);
    }

    /**
     * Opens and starts a node. If its loop ever stops on an error (a disk that fails a write, a corrupt file), the
     * error is logged and the node closes itself: its requests fail with {@link CairnError#STOPPED} from then on.
     *
     * @param config what it is.
     * @return the running node (it takes part in elections at once; {@link #awaitLeader} waits for a leader).
     * @throws IOException if its files cannot be opened.
     */
    public static CairnNode start(final NodeConfig config) throws IOException {
        final CairnNode node = open(config);
        try {
            node.start(error -> {
                LOG.log(System.Logger.Level.ERROR, "node " + config.name() + " stopped on an error", error);
                final Thread closer = new Thread(node::close, "cairn-" + config.name() + "-close");
                closer.setDaemon(true);
                closer.start();
            });
        } catch (final RuntimeException ex) {
            node.close();
            throw ex;
        }
        return node;
    }

    /**
     * @param listener told of leadership and membership changes from now on (on the loop's thread).
     */
    public void addListener(final NodeListener listener) {
        listeners.add(listener);
    }

    /**
     * @param duty run once a second on the node's watchdog thread while the node runs (it must not wait long).
     */
    public void everySecond(final Runnable duty) {
        duties.add(duty);
    }

    /**
     * Starts the loop and the watchdog (the disk guard and the {@link #everySecond} duties: one wake-up a second for
     * all of them, since on a small shared machine every wake-up of an idle member costs).
     *
     * @param onError what to do if the loop stops on an error.
     */
    public void start(final ErrorHandler onError) {
        if (started) {
            throw new IllegalStateException("node " + config.name() + " is started already");
        }
        started = true;
        member.start(onError);
        watches.start();
        watchdog.scheduleWithFixedDelay(() -> {
            // An exception escaping this task would end it for good (a scheduled executor drops a task that threw):
            // each duty is caught and logged on its own.
            try {
                if (diskGuard != null) { // the quota, and the disk's reserve unless 0
                    diskGuard.check();
                }
                if (config.corruptCheckMs() > 0) {
                    corruption.tick(System.nanoTime());
                }
            } catch (final RuntimeException ex) {
                LOG.log(System.Logger.Level.WARNING, "node " + config.name() + ": the disk, quota or corruption"
                    + " check failed", ex);
            }
            for (final Runnable duty : duties) {
                try {
                    duty.run();
                } catch (final RuntimeException ex) {
                    LOG.log(System.Logger.Level.WARNING, "node " + config.name() + ": a watchdog duty failed", ex);
                }
            }
        }, 1, 1, TimeUnit.SECONDS);
    }

    /**
     * @return etcd's KV calls on this node, typed.
     */
    public KvClient kv() {
        return kv;
    }

    /**
     * Watches a key or a range: its changes from the options' start revision (history first, then live), copied, to
     * {@code listener} on {@code executor}, one call at a time and in revision order. Served from this member's
     * keyspace as it applies entries (a follower's watch sees a write once it has applied it, as etcd's does).
     *
     * @param options  what to watch.
     * @param executor where the listener runs (the caller's choice; {@code Runnable::run} runs it on the node's watch
     *                 thread, which must then not wait).
     * @param listener gets the changes.
     * @return the watch, to cancel.
     */
    public Watch watch(final WatchOptions options, final Executor executor, final WatchListener listener) {
        return watch(options, new ListenerSink(executor, listener));
    }

    /**
     * Watches a key or a range with a sink that sees the changes as views into the keyspace, on the node's watch thread
     * (no copy; the gRPC Watch service is built on this).
     *
     * @param options what to watch.
     * @param sink    gets the changes.
     * @return the watch, to cancel.
     */
    public Watch watch(final WatchOptions options, final WatchSink sink) {
        if (closed) {
            throw new CairnException(CairnError.STOPPED);
        }
        return watches.add(options, sink, revision());
    }

    /**
     * @return the keyspace's revision as this member has applied it.
     */
    public long revision() {
        return read(MvccReader::revision);
    }

    /**
     * @return etcd's Lease calls on this node, typed.
     */
    public LeaseClient leases() {
        return leases;
    }

    /**
     * @return etcd's Cluster calls (members, add, remove, update, promote), taken by any member.
     */
    public ClusterClient cluster() {
        return cluster;
    }

    /**
     * @return what this node was started with.
     */
    public NodeConfig config() {
        return config;
    }

    /**
     * @return true once {@link #close} began.
     */
    public boolean isClosed() {
        return closed;
    }

    /** Loop-thread callbacks: complete the callers' futures (the response bytes are copied out of the run). */
    private final class Listener implements RaftListener {
        @Override
        public void onProposalComplete(final long correlationId, final long code, final long index,
            final long result) {
            if (WriteSlots.owns(correlationId)) {
                completeSlot(correlationId, code, result);
                return;
            }
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
            leaderId = newLeader;
            for (final NodeListener listener : listeners) {
                listener.onLeaderChange(newRole, newTerm, newLeader);
            }
        }

        @Override
        public void onMembershipChange(final Membership membership, final long index) {
            final ClusterView next = ClusterView.of(membership, index, config.topology());
            view = next;
            final boolean isMember = membership.contains(self.id());
            if (!isMember && membership.memberCount() > 0) {
                LOG.log(System.Logger.Level.WARNING, "member " + config.name() + " (id "
                    + Integer.toHexString(self.id()) + ") is not in the configuration at index " + index + " "
                    + idsInHex(next) + ": it was removed, or its data directory belongs to another member (IDs are"
                    + " hashes of peer URLs)");
            }
            peers.onConfiguration(next, isMember);
            for (final NodeListener listener : listeners) {
                listener.onMembershipChange(next, isMember);
            }
        }
    }

    // The zero-allocation path's answer, on the loop's thread: the handler sees the response in the applied run's
    // buffer, no copy.
    private void completeSlot(final long correlationId, final long code, final long result) {
        if (code != RaftListener.COMMITTED) {
            if (requests.slots.complete(correlationId, CairnError.ofLoop(code), null, 0, 0)) {
                requests.writesFailed.incrementAndGet();
            }
            return;
        }
        final DirectBuffer responses = member.stateMachine().responses();
        final int offset = KeyspaceStateMachine.responseOffset(result);
        final int status = MvccResponse.status(responses, offset);
        final boolean completed = status == MvccError.OK
            ? requests.slots.complete(correlationId, null, responses, offset,
                KeyspaceStateMachine.responseLength(result))
            : requests.slots.complete(correlationId, CairnError.ofKeyspace(status), null, 0, 0);
        if (completed) {
            requests.writesCommitted.incrementAndGet();
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
    // The command layer

    /**
     * Checks a keyspace command as etcd would before proposing it (key present, sizes, txn shape, lease ID).
     *
     * @param command a keyspace command ({@code CommandEncoder}'s layout).
     * @param length  its length.
     * @return {@link MvccError#OK} or etcd's reason to refuse it ({@link CairnError#ofKeyspace}).
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

    /**
     * Proposes a validated command and completes with the keyspace's response once this member has applied it (a
     * follower's loop forwards it to the leader inside Raft). Retried, at most twice, when no leader was known or
     * leadership moved before the loop took it; never retried once a leader took it.
     *
     * <p>The future completes on the loop thread: what depends on it must return at once or go to another executor.
     *
     * @param command the command ({@code CommandEncoder}'s layout; copied before this returns).
     * @param length  its length.
     * @return completes with the response ({@code MvccResponse}'s layout, status OK; the caller's to keep), or fails
     *     with {@link CairnException}: a keyspace refusal ({@link CairnError#ofKeyspace}) or a replication outcome
     *     ({@link ProposalFailed}: no leader, leader changed, timeout, too many requests, stopped).
     */
    public CompletableFuture<DirectBuffer> write(final DirectBuffer command, final int length) {
        final byte[] copy = new byte[length];
        command.getBytes(0, copy);
        final CompletableFuture<DirectBuffer> answer = new CompletableFuture<>();
        attempt(new UnsafeBuffer(copy), answer, 0);
        return answer;
    }

    /**
     * Writes a command on the zero-allocation path: validated, copied into the loop's ring, answered through
     * {@code handler} (exactly once: on the loop's thread with a view of the response once this member applied it, on
     * this thread when refused before the loop took it, on the watchdog after the request timeout). Not retried: a
     * write refused for want of a leader is answered {@link CairnError#NO_LEADER}. A steady stream of these allocates
     * nothing on this thread or the loop's (at most {@code 8192} in flight; more are refused with
     * {@link CairnError#TOO_MANY_REQUESTS}).
     *
     * @param command a keyspace command ({@code CommandEncoder}'s layout; copied before this returns).
     * @param length  its length.
     * @param handler its answer.
     * @param context handed back to {@code handler}.
     */
    public void write(final DirectBuffer command, final int length, final WriteHandler handler, final long context) {
        if (closed) {
            handler.onWritten(context, CairnError.STOPPED, null, 0, 0);
            return;
        }
        final int verdict = validate(command, length);
        if (verdict != MvccError.OK) {
            handler.onWritten(context, CairnError.ofKeyspace(verdict), null, 0, 0);
            return;
        }
        if (length > member.requests().payloadLengthMax()) {
            handler.onWritten(context, CairnError.REQUEST_TOO_LARGE, null, 0, 0);
            return;
        }
        final long id = requests.slots.register(handler, context,
            System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(Requests.REQUEST_TIMEOUT_MS));
        if (id == 0) {
            handler.onWritten(context, CairnError.TOO_MANY_REQUESTS, null, 0, 0);
            return;
        }
        requests.armExpiry();
        if (!member.requests().offerProposal(id, EntryType.NORMAL, command, 0, length)) {
            requests.slots.complete(id, CairnError.TOO_MANY_REQUESTS, null, 0, 0);
        }
    }

    /**
     * A serializable range read of this member's keyspace on the calling thread, with no allocation: the visitor sees
     * views into the map (valid during the call).
     *
     * @param command a range command ({@code CommandEncoder.range}).
     * @param visitor gets the key-values in order; false stops.
     * @return {@link MvccError#OK} or the keyspace's refusal (COMPACTED, FUTURE_REVISION).
     */
    public int readSerializable(final DirectBuffer command, final RangeVisitor visitor) {
        MvccReader reader = readers.poll();
        if (reader == null) {
            reader = member.store().newReader();
        }
        try {
            reader.refresh();
            return reader.range(command, 0, visitor);
        } finally {
            reader.park();
            if (!readers.offer(reader)) {
                reader.close();
            }
        }
    }

    /**
     * {@link #validate}, then {@link #write(DirectBuffer, int)}: the typed clients' writes.
     *
     * @param command the command.
     * @param length  its length.
     * @return as {@link #write(DirectBuffer, int)}; fails with the keyspace's refusal before proposing.
     */
    CompletableFuture<DirectBuffer> validateAndWrite(final DirectBuffer command, final int length) {
        final int verdict = validate(command, length);
        if (verdict != MvccError.OK) {
            return CompletableFuture.failedFuture(new CairnException(CairnError.ofKeyspace(verdict)));
        }
        return write(command, length);
    }

    // Answered where the outcome is known, normally on the loop's thread right after the apply; only a retry, which
    // waits, goes to the pool.
    private void attempt(final DirectBuffer command, final CompletableFuture<DirectBuffer> answer, final int attempt) {
        if (closed) {
            answer.completeExceptionally(new CairnException(CairnError.STOPPED));
            return;
        }
        propose(command, command.capacity()).whenComplete((response, error) -> {
            if (error != null) {
                final CairnException cause = CairnException.find(error);
                if (cause instanceof ProposalFailed failure && failure.code() == RaftResult.NOT_LEADER
                    && attempt < WRITE_ATTEMPTS_MAX) {
                    retryWhenLed(command, answer, attempt, cause);
                    return;
                }
                answer.completeExceptionally(cause != null ? cause : error);
                return;
            }
            final int status = MvccResponse.status(response, 0);
            if (status != MvccError.OK) {
                answer.completeExceptionally(new CairnException(CairnError.ofKeyspace(status)));
            } else {
                answer.complete(response);
            }
        });
    }

    private void retryWhenLed(final DirectBuffer command, final CompletableFuture<DirectBuffer> answer,
        final int attempt, final CairnException error) {
        try {
            executor.execute(() -> {
                if (awaitLeader()) {
                    // Leadership moved (or was not settled): go again, through the new leader.
                    attempt(command, answer, attempt + 1);
                } else {
                    answer.completeExceptionally(error);
                }
            });
        } catch (final RejectedExecutionException ex) {
            answer.completeExceptionally(new CairnException(CairnError.STOPPED));
        }
    }

    /**
     * Asks the loop for a ReadIndex round: a linearizable read of the local keyspace ({@link #read}) may run once
     * this completes.
     *
     * @return completes (on the loop thread) once this member has applied everything committed when it was asked;
     *     fails with {@link ProposalFailed} (no leader, timeout).
     */
    public CompletableFuture<Long> readBarrier() {
        final long id = requests.nextId();
        final CompletableFuture<Long> future = requests.register(requests.reads, id, new Requests.Deadlined<>());
        if (closed || !member.requests().offerRead(id)) {
            requests.reads.remove(id);
            future.completeExceptionally(new ProposalFailed(RaftResult.FULL));
        }
        return future.whenComplete((index, error) -> requests.reads.remove(id));
    }

    /**
     * Runs {@code work} with a refreshed reader of the local keyspace (one LMDB read transaction, pooled): what it
     * sees is this member's applied state now. After {@link #readBarrier} completes that is linearizable; without it,
     * serializable (possibly behind the leader). Views the reader hands out are valid only inside {@code work}.
     *
     * @param work what to read (on the calling thread).
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
            reader.park(); // idle in the pool without pinning an old snapshot (the file would only grow), and renewed
            // next time without allocating
            if (!readers.offer(reader)) {
                reader.close();
            }
        }
    }

    /**
     * Asks the leader's lease keeper: this member's own when it leads; a follower's keeper relays the question to the
     * leader inside Raft.
     *
     * @param type    {@link LeaseKeeper#KEEP_ALIVE} or {@link LeaseKeeper#TIME_TO_LIVE}.
     * @param leaseId the lease.
     * @return completes with {code ({@link MvccError}), remaining TTL in seconds}.
     */
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

    /**
     * Relays a membership call to the leader through this member's loop ({@link MembershipRelay}).
     *
     * @return completes with the index of the configuration that holds the change (applied on the leader).
     */
    CompletableFuture<Long> relay(final MembershipRequest request) {
        final byte[] encoded = request.encode();
        if (encoded.length > RaftMessage.LOCAL_PAYLOAD_MAX) {
            return CompletableFuture.failedFuture(new CairnException(CairnError.BAD_URLS));
        }
        final long id = requests.nextId();
        // The leader may wait its own request timeout for a pending change first: twice that here.
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(2 * Requests.REQUEST_TIMEOUT_MS);
        final CompletableFuture<Long> future = requests.register(requests.membershipRelays, id,
            new Requests.Deadlined<>(deadline));
        if (closed || !member.requests().offerLocal(id, MembershipRelay.RELAY, new UnsafeBuffer(encoded), 0,
            encoded.length)) {
            requests.membershipRelays.remove(id);
            future.completeExceptionally(new CairnException(closed ? CairnError.STOPPED
                : CairnError.TOO_MANY_REQUESTS));
        }
        return future;
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
     * Proposes a membership change (this member must lead), retrying while an earlier change is still pending (the
     * core takes one at a time) until the request timeout. etcd's checks (a member must not be added twice, a quorum
     * must stay) are the caller's.
     *
     * @param change     a {@code MembershipChange} constant.
     * @param memberId   the member concerned.
     * @param attributes its new attributes ({@code MemberAttributes#encode}), or null to keep them.
     * @return completes when the change is applied here; fails with {@link ProposalFailed} or
     *     {@link CairnError#TIMEOUT}.
     */
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
                    throw new CairnException(CairnError.TIMEOUT);
                } catch (final InterruptedException ex) {
                    Thread.currentThread().interrupt();
                    throw new CairnException(CairnError.TIMEOUT);
                } finally {
                    requests.membershipChanges.remove(id);
                }
            }
        }, executor);
    }

    /**
     * Asks this member's loop to hand leadership to {@code target} (this member must lead), and waits (bounded) until
     * it has.
     *
     * @param target the member to lead.
     * @return completes when {@code target} leads; fails with {@link ProposalFailed} (no leader, invalid) or
     *     {@link CairnError#LEADER_TRANSFER_TIMEOUT}.
     */
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
                    throw new CairnException(CairnError.LEADER_TRANSFER_TIMEOUT);
                }
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
            }
            return null;
        }, executor);
    }

    /**
     * @return the cluster as this member's configuration in force says now.
     */
    public ClusterView view() {
        return view;
    }

    /**
     * @return this member's Raft ID (clients know it by its etcd member ID: {@link #memberIdOf}).
     */
    public int selfId() {
        return self.id();
    }

    @Override
    public long memberIdOf(final int raftId) {
        return view.etcdIdOf(raftId);
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
     * Waits (up to 3 s) for some member to lead.
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
     * @return the node's pool: where work that may wait runs (never the loop's thread).
     */
    public ExecutorService executor() {
        return executor;
    }

    /**
     * Defragments this member's keyspace (etcd's {@code Maintenance.Defragment}, local to the member): the pages
     * compaction freed are given back to the file system while writes go on; writes wait only for the final swap.
     *
     * @return completed with what it did, or exceptionally (a {@link CairnException} if the node is stopped).
     */
    public CompletableFuture<Defragmenter.Report> defragment() {
        if (closed) {
            return CompletableFuture.failedFuture(new CairnException(CairnError.STOPPED));
        }
        return member.defragmenter().request();
    }

    /**
     * @return the local keyspace (its size, files, client snapshots); write only through {@link #write}.
     */
    public MvccStore store() {
        return member.store();
    }

    /**
     * @return this member's data directory.
     */
    public Path dataDir() {
        return config.dataDir();
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
        return requests.writesPending.get() + requests.slots.inFlight();
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
    public long storeInUseBytes() {
        return member.store().inUseBytes();
    }

    @Override
    public long storeQuotaBytes() {
        return member.store().quotaBytes();
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

    @Override
    public boolean peerFramesSealed() {
        return transport.sealed();
    }

    @Override
    public long peerFramesRejected(final int reason) {
        return transport.rejectedFrames(reason);
    }

    @Override
    public long corruptionChecks() {
        return corruption.checks();
    }

    @Override
    public long corruptionMismatches() {
        return corruption.mismatches();
    }

    /**
     * Stops the watchdog and the pool, then the loop (its files closed), then the transport. Requests in flight
     * fail or time out; the data stays for the next start. Idempotent.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        watchdog.shutdownNow();
        watches.close();
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
    }
}
