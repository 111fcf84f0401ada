package io.cairn.server.node;

import io.cairn.consensus.MembershipChange;
import io.cairn.consensus.Role;
import io.cairn.embedded.cluster.ClusterView;
import io.cairn.embedded.cluster.MemberAttributes;
import io.etcd.jetcd.api.Member;
import io.etcd.jetcd.api.MemberUpdateResponse;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ClientCalls;

import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

/**
 * etcd's members publish their name and client URLs through Raft once they run; so does a Cairn member whose entry
 * in the configuration does not say what its flags say (one added by MemberAdd, or one restarted with a new client
 * URL). The leader proposes the UPDATE itself; a follower calls the leader's {@code cairn.Cluster/Publish}. Runs on
 * the node's pool, one attempt at a time, retrying until the configuration says it (at most a minute per attempt).
 */
public final class Publisher {
    /** The member-to-member call a follower publishes with; the leader serves it (ClusterService). */
    public static final MethodDescriptor<Member, MemberUpdateResponse> PUBLISH =
        MethodDescriptor.<Member, MemberUpdateResponse>newBuilder()
            .setType(MethodDescriptor.MethodType.UNARY)
            .setFullMethodName(MethodDescriptor.generateFullMethodName("cairn.Cluster", "Publish"))
            .setRequestMarshaller(ProtoUtils.marshaller(Member.getDefaultInstance()))
            .setResponseMarshaller(ProtoUtils.marshaller(MemberUpdateResponse.getDefaultInstance()))
            .build();
    private static final System.Logger LOG = System.getLogger(Publisher.class.getName());

    private final GrpcNode node;
    private final String name;
    private final String clientUrl;
    private final Executor executor;
    private final AtomicBoolean publishing = new AtomicBoolean();

    /**
     * @param node      the member that publishes.
     * @param name      its name (etcd's {@code --name}).
     * @param clientUrl the client URL it serves.
     * @param executor  where attempts run.
     */
    Publisher(final GrpcNode node, final String name, final String clientUrl, final Executor executor) {
        this.node = node;
        this.name = name;
        this.clientUrl = clientUrl;
        this.executor = executor;
    }

    /**
     * Starts an attempt unless the configuration already says what the flags say, or one is running. Called when a
     * leader becomes known and when the configuration changes.
     */
    void maybePublish() {
        final ClusterView.Member entry = node.view().byId(node.selfId());
        if (entry == null || node.isClosed() || published(entry) || !publishing.compareAndSet(false, true)) {
            return;
        }
        try {
            executor.execute(this::publish);
        } catch (final RejectedExecutionException ex) {
            publishing.set(false);
        }
    }

    private boolean published(final ClusterView.Member entry) {
        return entry.published() && entry.name().equals(name) && entry.clientUrls().equals(List.of(clientUrl));
    }

    private void publish() {
        try {
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!node.isClosed() && System.nanoTime() < deadline) {
                final ClusterView view = node.view();
                final ClusterView.Member entry = view.byId(node.selfId());
                if (entry == null || published(entry)) {
                    return;
                }
                final MemberAttributes attributes = new MemberAttributes(view.clusterId(), name, entry.peerUrls(),
                    List.of(clientUrl));
                try {
                    if (node.role() == Role.LEADER) {
                        node.changeMembership(MembershipChange.UPDATE, node.selfId(), attributes.encode()).get();
                    } else {
                        final ManagedChannel leader = node.leaderChannel();
                        if (leader != null) {
                            ClientCalls.blockingUnaryCall(leader, PUBLISH, Node.leaderCall(),
                                Member.newBuilder().setID(node.selfId()).setName(name).addClientURLs(clientUrl)
                                    .build());
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
}
