package io.cairn.server.proxy;

import io.etcd.jetcd.api.CampaignRequest;
import io.etcd.jetcd.api.CampaignResponse;
import io.etcd.jetcd.api.ElectionGrpc;
import io.etcd.jetcd.api.LeaderKey;
import io.etcd.jetcd.api.LeaderRequest;
import io.etcd.jetcd.api.LeaderResponse;
import io.etcd.jetcd.api.ProclaimRequest;
import io.etcd.jetcd.api.ProclaimResponse;
import io.etcd.jetcd.api.ResignRequest;
import io.etcd.jetcd.api.ResignResponse;
import io.etcd.jetcd.api.lock.LockGrpc;
import io.etcd.jetcd.api.lock.LockRequest;
import io.etcd.jetcd.api.lock.LockResponse;
import io.etcd.jetcd.api.lock.UnlockRequest;
import io.etcd.jetcd.api.lock.UnlockResponse;
import io.grpc.Channel;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.stub.AbstractStub;
import io.grpc.stub.StreamObserver;

/**
 * Locks and elections through a namespaced proxy: their names and keys are the namespace's too (etcd 3.4's proxy
 * relays them unmapped, so a namespaced client's lock named {@code L} would be the cluster's {@code L}; Cairn's maps
 * them, so two namespaces never share a lock or an election by accident). Registered only with {@code --namespace}.
 */
final class NamespacedRecipes {
    private final Channel upstream;
    private final Namespace namespace;

    /**
     * @param upstream  the cluster, with the caller's headers.
     * @param namespace the proxy's namespace (not empty).
     */
    NamespacedRecipes(final Channel upstream, final Namespace namespace) {
        this.upstream = upstream;
        this.namespace = namespace;
    }

    private static <S extends AbstractStub<S>> S deadline(final S stub) {
        final Deadline deadline = Context.current().getDeadline();
        return deadline == null ? stub : stub.withDeadline(deadline);
    }

    private LeaderKey key(final LeaderKey leader) {
        return leader.toBuilder().setName(namespace.key(leader.getName())).setKey(namespace.key(leader.getKey()))
            .build();
    }

    private LeaderKey stripLeader(final LeaderKey leader) {
        return leader.toBuilder().setName(namespace.strip(leader.getName())).setKey(namespace.strip(leader.getKey()))
            .build();
    }

    /** etcd's Lock service, mapped. */
    final class Lock extends LockGrpc.LockImplBase {
        @Override
        public void lock(final LockRequest request, final StreamObserver<LockResponse> observer) {
            deadline(LockGrpc.newStub(upstream)).lock(request.toBuilder().setName(namespace.key(request.getName()))
                .build(), KvProxy.relay(observer, response -> response.toBuilder()
                    .setKey(namespace.strip(response.getKey())).build(), null));
        }

        @Override
        public void unlock(final UnlockRequest request, final StreamObserver<UnlockResponse> observer) {
            deadline(LockGrpc.newStub(upstream)).unlock(request.toBuilder().setKey(namespace.key(request.getKey()))
                .build(), KvProxy.relay(observer, response -> response, null));
        }
    }

    /** etcd's Election service, mapped. */
    final class Election extends ElectionGrpc.ElectionImplBase {
        @Override
        public void campaign(final CampaignRequest request, final StreamObserver<CampaignResponse> observer) {
            deadline(ElectionGrpc.newStub(upstream)).campaign(request.toBuilder()
                .setName(namespace.key(request.getName())).build(), KvProxy.relay(observer, response ->
                    response.toBuilder().setLeader(stripLeader(response.getLeader())).build(), null));
        }

        @Override
        public void proclaim(final ProclaimRequest request, final StreamObserver<ProclaimResponse> observer) {
            deadline(ElectionGrpc.newStub(upstream)).proclaim(request.toBuilder()
                .setLeader(key(request.getLeader())).build(), KvProxy.relay(observer, response -> response, null));
        }

        @Override
        public void leader(final LeaderRequest request, final StreamObserver<LeaderResponse> observer) {
            deadline(ElectionGrpc.newStub(upstream)).leader(request.toBuilder()
                .setName(namespace.key(request.getName())).build(), KvProxy.relay(observer, this::strip, null));
        }

        @Override
        public void observe(final LeaderRequest request, final StreamObserver<LeaderResponse> observer) {
            ElectionGrpc.newStub(upstream).observe(request.toBuilder().setName(namespace.key(request.getName()))
                .build(), KvProxy.relay(observer, this::strip, null));
        }

        @Override
        public void resign(final ResignRequest request, final StreamObserver<ResignResponse> observer) {
            deadline(ElectionGrpc.newStub(upstream)).resign(request.toBuilder().setLeader(key(request.getLeader()))
                .build(), KvProxy.relay(observer, response -> response, null));
        }

        private LeaderResponse strip(final LeaderResponse response) {
            return response.hasKv() ? response.toBuilder().setKv(namespace.strip(response.getKv())).build()
                : response;
        }
    }
}
