package io.cairn.server.grpc;

import io.cairn.embedded.cluster.ClusterView;
import io.cairn.server.node.EtcdStatus;
import io.cairn.server.node.Node;
import io.etcd.jetcd.api.ClusterGrpc;
import io.etcd.jetcd.api.Member;
import io.etcd.jetcd.api.MemberAddRequest;
import io.etcd.jetcd.api.MemberAddResponse;
import io.etcd.jetcd.api.MemberListRequest;
import io.etcd.jetcd.api.MemberListResponse;
import io.etcd.jetcd.api.MemberPromoteRequest;
import io.etcd.jetcd.api.MemberPromoteResponse;
import io.etcd.jetcd.api.MemberRemoveRequest;
import io.etcd.jetcd.api.MemberRemoveResponse;
import io.etcd.jetcd.api.MemberUpdateRequest;
import io.etcd.jetcd.api.MemberUpdateResponse;
import io.grpc.stub.StreamObserver;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * etcd's Cluster service over the node's {@code ClusterClient}, which any member takes (a follower relays a change to
 * the leader inside Raft) and which holds etcd 3.4's checks and errors. The members are the Raft configuration in
 * force, with each member's name and URLs kept in it; a member added here starts with
 * {@code --initial-cluster-state existing} and publishes its name and client URL through Raft (as etcd's do); until
 * then MemberList shows it unstarted.
 */
public final class ClusterService extends ClusterGrpc.ClusterImplBase {
    private final Node node;

    /**
     * @param node the member it serves.
     */
    public ClusterService(final Node node) {
        this.node = node;
    }

    static Member describe(final ClusterView.Member each) {
        return Member.newBuilder().setID(each.etcdId()).setName(each.name()).addAllPeerURLs(each.peerUrls())
            .addAllClientURLs(each.clientUrls()).setIsLearner(each.learner()).build();
    }

    private static List<Member> members(final ClusterView view) {
        return view.members().stream().map(ClusterService::describe).toList();
    }

    @Override
    public void memberList(final MemberListRequest request, final StreamObserver<MemberListResponse> observer) {
        observer.onNext(MemberListResponse.newBuilder().setHeader(header()).addAllMembers(members(node.view()))
            .build());
        observer.onCompleted();
    }

    @Override
    public void memberAdd(final MemberAddRequest request, final StreamObserver<MemberAddResponse> observer) {
        answer(node.cluster().add(request.getPeerURLsList(), request.getIsLearner()), observer,
            added -> MemberAddResponse.newBuilder().setHeader(header())
                .setMember(Member.newBuilder().setID(added.etcdId()).addAllPeerURLs(request.getPeerURLsList())
                    .setIsLearner(added.learner()))
                .addAllMembers(members(node.view())).build());
    }

    @Override
    public void memberRemove(final MemberRemoveRequest request, final StreamObserver<MemberRemoveResponse> observer) {
        answer(node.cluster().remove(node.view().raftIdOf(request.getID())), observer,
            view -> MemberRemoveResponse.newBuilder().setHeader(header()).addAllMembers(members(view)).build());
    }

    @Override
    public void memberUpdate(final MemberUpdateRequest request, final StreamObserver<MemberUpdateResponse> observer) {
        answer(node.cluster().update(node.view().raftIdOf(request.getID()),
            request.getPeerURLsList()), observer,
            view -> MemberUpdateResponse.newBuilder().setHeader(header()).addAllMembers(members(view)).build());
    }

    @Override
    public void memberPromote(final MemberPromoteRequest request,
        final StreamObserver<MemberPromoteResponse> observer) {
        answer(node.cluster().promote(node.view().raftIdOf(request.getID())), observer,
            view -> MemberPromoteResponse.newBuilder().setHeader(header()).addAllMembers(members(view)).build());
    }

    private static <T, R> void answer(final CompletableFuture<T> change, final StreamObserver<R> observer,
        final Function<T, R> response) {
        change.whenComplete((done, error) -> {
            if (error == null) {
                observer.onNext(response.apply(done));
                observer.onCompleted();
            } else {
                observer.onError(EtcdStatus.of(error));
            }
        });
    }

    /** etcd's cluster service header: cluster, member and term, no revision. */
    private io.etcd.jetcd.api.ResponseHeader header() {
        return node.header(0);
    }
}
