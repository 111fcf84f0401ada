package io.cairn.server.grpc;

import io.cairn.embedded.cluster.ClusterView;
import io.cairn.server.node.Node;
import io.etcd.jetcd.api.MaintenanceGrpc;
import io.etcd.jetcd.api.RangeRequest;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;

/**
 * What etcd 3.4's learners refuse: a learner answers only {@code Maintenance.Status} and serializable ranges; every
 * other call — writes, linearizable reads, watches, leases, cluster and auth calls — gets
 * {@code Unavailable etcdserver: rpc not supported for learner}, so a client that lists a learner among its
 * endpoints moves on to a voting member. Once promoted, the member serves everything.
 */
public final class LearnerGuard implements ServerInterceptor {
    /** etcd's error. */
    static final Status NOT_FOR_LEARNER =
        Status.UNAVAILABLE.withDescription("etcdserver: rpc not supported for learner");
    private static final String STATUS = MaintenanceGrpc.getStatusMethod().getFullMethodName();
    private static final String RANGE = io.etcd.jetcd.api.KVGrpc.getRangeMethod().getFullMethodName();

    private final Node node;
    private volatile ClusterView seen;
    private volatile boolean learner;

    /**
     * @param node the member.
     */
    public LearnerGuard(final Node node) {
        this.node = node;
    }

    /** Whether this member is a learner now (worked out again only when the configuration changes). */
    private boolean learner() {
        final ClusterView view = node.view();
        if (view != seen) {
            boolean found = false;
            for (final ClusterView.Member member : view.members()) {
                found |= member.id() == node.selfId() && member.learner();
            }
            learner = found;
            seen = view;
        }
        return learner;
    }

    @Override
    public <Q, A> ServerCall.Listener<Q> interceptCall(final ServerCall<Q, A> call, final Metadata headers,
        final ServerCallHandler<Q, A> next) {
        if (!learner()) {
            return next.startCall(call, headers);
        }
        final MethodDescriptor<Q, A> method = call.getMethodDescriptor();
        final String name = method.getFullMethodName();
        if (STATUS.equals(name)) {
            return next.startCall(call, headers);
        }
        if (!RANGE.equals(name)) {
            call.close(NOT_FOR_LEARNER, new Metadata());
            return new ServerCall.Listener<>() { };
        }
        // A range: only a serializable one, which the request says.
        final ServerCall.Listener<Q> delegate = next.startCall(call, headers);
        return new ServerCall.Listener<>() {
            private boolean refused;

            @Override
            public void onMessage(final Q message) {
                if (message instanceof RangeRequest range && !range.getSerializable()) {
                    refused = true;
                    call.close(NOT_FOR_LEARNER, new Metadata());
                    return;
                }
                delegate.onMessage(message);
            }

            @Override
            public void onHalfClose() {
                if (!refused) {
                    delegate.onHalfClose();
                }
            }

            @Override
            public void onCancel() {
                delegate.onCancel();
            }

            @Override
            public void onComplete() {
                delegate.onComplete();
            }

            @Override
            public void onReady() {
                if (!refused) {
                    delegate.onReady();
                }
            }
        };
    }
}
