package io.cairn.server.node;

import com.google.protobuf.Descriptors;
import com.google.protobuf.Message;
import io.cairn.embedded.cluster.ClusterView;
import io.etcd.jetcd.api.ResponseHeader;
import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;

import java.util.HashMap;
import java.util.Map;

/**
 * gRPC channels to the leader's client port, for what only the leader serves (lease keep-alives and time-to-live,
 * membership calls, a client snapshot's leadership questions): one channel per member, reused while its client URL
 * stays the same, opened as soon as a new leader is known (a cold channel costs a handshake while requests queue
 * behind it). Writes never come here: a follower forwards them inside Raft.
 */
final class LeaderChannels implements AutoCloseable {
    private final GrpcNode node;
    private final Map<Integer, ManagedChannel> channels = new HashMap<>();
    private final Map<Integer, String> endpoints = new HashMap<>();
    private boolean closed;

    /**
     * @param node whose leader to reach.
     */
    LeaderChannels(final GrpcNode node) {
        this.node = node;
    }

    /**
     * @return the leader's client channel when another member leads and its client URL is known, else null.
     */
    ManagedChannel leaderChannel() {
        final int leader = node.leaderId();
        if (leader == 0 || leader == node.selfId()) {
            return null;
        }
        final ClusterView.Member target = node.view().byId(leader);
        final String endpoint = target == null ? null : target.clientEndpoint();
        if (endpoint == null) {
            return null;
        }
        synchronized (channels) {
            if (closed) {
                return null;
            }
            final ManagedChannel known = channels.get(leader);
            if (known != null && endpoint.equals(endpoints.get(leader))) {
                return known;
            }
            if (known != null) {
                known.shutdown(); // the member published a new client URL
            }
            final ManagedChannel channel = node.channelTo(endpoint);
            channels.put(leader, channel);
            endpoints.put(leader, endpoint);
            return channel;
        }
    }

    /**
     * Opens the channel to a new leader before the first request needs it.
     */
    void connectToLeader() {
        final ManagedChannel channel = leaderChannel();
        if (channel != null) {
            channel.getState(true);
        }
    }

    /**
     * @see Node#forwardToLeader
     */
    <R> boolean forward(final Node.Forward<R> forward, final StreamObserver<R> observer) {
        if (!node.awaitLeader()) {
            return false;
        }
        final ManagedChannel leader = leaderChannel();
        if (leader == null) {
            return false;
        }
        forward.send(leader, new AsSelf<>(observer, node.memberId()));
        return true;
    }

    @Override
    public void close() {
        synchronized (channels) {
            closed = true;
            channels.values().forEach(ManagedChannel::shutdownNow);
        }
    }

    /**
     * Relays the leader's answer to a forwarded request as this member's own: etcd's followers answer forwarded
     * requests themselves, so the header names the member the client spoke to.
     */
    private static final class AsSelf<R> implements StreamObserver<R> {
        private final StreamObserver<R> caller;
        private final long selfId;

        AsSelf(final StreamObserver<R> caller, final long selfId) {
            this.caller = caller;
            this.selfId = selfId;
        }

        @Override
        @SuppressWarnings("unchecked")
        public void onNext(final R value) {
            if (value instanceof Message message) {
                final Descriptors.FieldDescriptor field = message.getDescriptorForType().findFieldByName("header");
                if (field != null && message.hasField(field)) {
                    final ResponseHeader header = ((ResponseHeader)message.getField(field)).toBuilder()
                        .setMemberId(selfId).build();
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
}
