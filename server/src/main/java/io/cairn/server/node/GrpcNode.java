package io.cairn.server.node;

import io.cairn.consensus.keyspace.Defragmenter;
import io.cairn.embedded.CairnNode;
import io.cairn.embedded.ClusterClient;
import io.cairn.embedded.NodeListener;
import io.cairn.embedded.NodeStatus;
import io.cairn.embedded.Watch;
import io.cairn.embedded.WatchSink;
import io.cairn.embedded.cluster.ClusterView;
import io.cairn.embedded.kv.WatchOptions;
import io.cairn.engine.mvcc.MvccReader;
import io.cairn.engine.mvcc.MvccStore;
import io.etcd.jetcd.api.ResponseHeader;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.netty.handler.ssl.SslContext;
import org.agrona.DirectBuffer;

import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Function;

/**
 * The embedded {@link CairnNode} as the etcd gRPC services use it ({@link Node}): its calls, answered through gRPC's
 * {@code StreamObserver} with etcd's statuses, plus what only a server has — channels to the leader's client port
 * ({@link LeaderChannels}, for what only the leader serves and a follower relays) and noticing its removal
 * ({@link RemovalWatch}), both hung on the node's listener and watchdog. The node publishes its name and client URL
 * itself.
 */
public final class GrpcNode implements Node, AutoCloseable {
    private final CairnNode node;
    private final LeaderChannels leaderChannels;
    private final RemovalWatch removal;
    private final SslContext memberTls;
    private volatile java.util.function.Consumer<Defragmenter.Report> defragmented = report -> { };

    /**
     * @param node an opened node, not started yet (its listeners are set here).
     */
    public GrpcNode(final CairnNode node) {
        this(node, null);
    }

    /**
     * @param node      an opened node, not started yet (its listeners are set here).
     * @param memberTls TLS for connections to other members' client ports (they serve TLS), or null (plaintext).
     */
    public GrpcNode(final CairnNode node, final SslContext memberTls) {
        this.node = node;
        this.memberTls = memberTls;
        this.leaderChannels = new LeaderChannels(this);
        this.removal = new RemovalWatch(this, node.config().name());
        node.addListener(new NodeListener() {
            @Override
            public void onLeaderChange(final int role, final long term, final int leaderId) {
                removal.onLeader(leaderId);
                if (leaderId != 0 && leaderId != node.selfId() && !node.isClosed()) {
                    try {
                        node.executor().execute(leaderChannels::connectToLeader);
                    } catch (final RejectedExecutionException ex) {
                        // Closing: nothing to connect.
                    }
                }
            }

            @Override
            public void onMembershipChange(final ClusterView view, final boolean isMember) {
                removal.onConfiguration(isMember);
            }
        });
        node.everySecond(removal::check);
    }

    /**
     * @return the embedded node.
     */
    public CairnNode node() {
        return node;
    }

    /**
     * @return what {@code /health} and {@code /metrics} read.
     */
    public NodeStatus status() {
        return node;
    }

    /**
     * @return completes when this member learns it was removed from the cluster (then it takes no further part:
     *     {@code cairn member} stops, as etcd does).
     */
    public CompletableFuture<Void> removed() {
        return removal.removed();
    }

    /**
     * @param endpoint another member's client {@code host:port}.
     * @return a channel to it, over TLS where this member's client side has it (the cluster's members all serve
     *     their clients the same way).
     */
    ManagedChannel channelTo(final String endpoint) {
        final NettyChannelBuilder builder = NettyChannelBuilder.forTarget(endpoint)
            .maxInboundMessageSize(node.config().limits().grpcMessageBytesMax());
        return (memberTls == null ? builder.usePlaintext() : builder.sslContext(memberTls)).build();
    }

    boolean isClosed() {
        return node.isClosed();
    }

    long appliedIndex() {
        return node.appliedIndex();
    }

    @Override
    public ResponseHeader header(final long revision) {
        return ResponseHeader.newBuilder().setClusterId(node.view().clusterId()).setMemberId(memberId())
            .setRevision(revision).setRaftTerm(node.term()).build();
    }

    @Override
    public int validate(final DirectBuffer command, final int length) {
        return node.validate(command, length);
    }

    // Answered where the node completes the write, normally the loop's thread right after the apply (building the
    // small response there costs less than waking a pool thread for it).
    @Override
    public <R> void write(final DirectBuffer command, final int length, final Function<DirectBuffer, R> decode,
        final StreamObserver<R> observer) {
        node.write(command, length).whenComplete((response, error) -> {
            if (error != null) {
                observer.onError(EtcdStatus.of(error));
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

    @Override
    public Watch watch(final WatchOptions options, final WatchSink sink) {
        return node.watch(options, sink);
    }

    @Override
    public CompletableFuture<Long> readBarrier() {
        return node.readBarrier();
    }

    @Override
    public CompletableFuture<DirectBuffer> propose(final DirectBuffer command, final int length) {
        return node.write(command, length);
    }

    @Override
    public void everySecond(final Runnable duty) {
        node.everySecond(duty);
    }

    @Override
    public long authChanges() {
        return node.store().authChanges();
    }

    @Override
    public <T> T read(final Function<MvccReader, T> work) {
        return node.read(work);
    }

    @Override
    public CompletableFuture<long[]> leaseRequest(final byte type, final long leaseId) {
        return node.leaseRequest(type, leaseId);
    }

    @Override
    public long newLeaseId() {
        return node.newLeaseId();
    }

    @Override
    public ClusterClient cluster() {
        return node.cluster();
    }

    @Override
    public CompletableFuture<Void> transferLeadership(final int target) {
        return node.transferLeadership(target);
    }

    @Override
    public ClusterView view() {
        return node.view();
    }

    @Override
    public int selfId() {
        return node.selfId();
    }

    @Override
    public int leaderId() {
        return node.leaderId();
    }

    @Override
    public int role() {
        return node.role();
    }

    @Override
    public long term() {
        return node.term();
    }

    @Override
    public boolean awaitLeader() {
        return node.awaitLeader();
    }

    @Override
    public ManagedChannel leaderChannel() {
        return node.isClosed() ? null : leaderChannels.leaderChannel();
    }

    @Override
    public <R> boolean forwardToLeader(final Forward<R> forward, final StreamObserver<R> observer) {
        return leaderChannels.forward(forward, observer);
    }

    @Override
    public ExecutorService executor() {
        return node.executor();
    }

    @Override
    public CompletableFuture<Defragmenter.Report> defragment() {
        return node.defragment().whenComplete((report, error) -> {
            if (report != null) {
                defragmented.accept(report);
            }
        });
    }

    /**
     * @param listener told of each finished defragmentation (the metrics).
     */
    public void onDefragmented(final java.util.function.Consumer<Defragmenter.Report> listener) {
        defragmented = listener;
    }

    @Override
    public MvccStore store() {
        return node.store();
    }

    @Override
    public Path dataDir() {
        return node.dataDir();
    }

    /**
     * Closes the channels to the leader, then the node (its loop, files and transport).
     */
    @Override
    public void close() {
        leaderChannels.close();
        node.close();
    }
}
