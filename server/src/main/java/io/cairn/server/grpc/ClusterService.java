package io.cairn.server.grpc;

import io.cairn.consensus.Membership;
import io.cairn.consensus.MembershipChange;
import io.cairn.consensus.RaftResult;
import io.cairn.consensus.Role;
import io.cairn.embedded.cluster.ClusterView;
import io.cairn.embedded.cluster.MemberAttributes;
import io.cairn.embedded.cluster.Topology;
import io.cairn.server.node.EtcdStatus;
import io.cairn.server.node.Node;
import io.cairn.embedded.ProposalFailed;
import io.cairn.server.node.Publisher;
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
import io.grpc.ManagedChannel;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * etcd's Cluster service. The members are the Raft configuration in force, with each member's name and URLs kept in
 * it ({@link MemberAttributes}); changes are one-at-a-time Raft configuration changes proposed by the leader (a
 * follower forwards them) and answered once applied there. etcd 3.4's checks come first, with its messages: bad or
 * taken peer URLs, an unknown member, at most one learner, promotion only of a learner in sync with the leader, and
 * its default strict reconfiguration check (a voter is added, removed or promoted only if enough started members —
 * those that published client URLs — remain for a quorum).
 *
 * <p>A member added here starts with {@code --initial-cluster-state existing} and publishes its name and client URL
 * through {@code cairn.Cluster/Publish} (etcd publishes through Raft the same way); until then MemberList shows it
 * unstarted, as etcd does.
 */
public final class ClusterService extends ClusterGrpc.ClusterImplBase {
    static final Status MEMBER_EXISTS = Status.FAILED_PRECONDITION.withDescription(
        "etcdserver: member ID already exist");
    static final Status PEER_URL_EXISTS = Status.FAILED_PRECONDITION.withDescription(
        "etcdserver: Peer URLs already exists");
    static final Status NOT_ENOUGH_STARTED = Status.FAILED_PRECONDITION.withDescription(
        "etcdserver: re-configuration failed due to not enough started members");
    static final Status BAD_URLS = Status.INVALID_ARGUMENT.withDescription("etcdserver: given member URLs are invalid");
    static final Status NOT_FOUND = Status.NOT_FOUND.withDescription("etcdserver: member not found");
    static final Status NOT_LEARNER = Status.FAILED_PRECONDITION.withDescription(
        "etcdserver: can only promote a learner member");
    static final Status LEARNER_NOT_READY = Status.FAILED_PRECONDITION.withDescription(
        "etcdserver: can only promote a learner member which is in sync with leader");
    static final Status TOO_MANY_LEARNERS = Status.FAILED_PRECONDITION.withDescription(
        "etcdserver: too many learner members in cluster");
    private static final int LEARNERS_MAX = 1; // etcd 3.4's limit
    private final Node node;

    /**
     * @param node the member it serves.
     */
    public ClusterService(final Node node) {
        this.node = node;
    }

    /**
     * @return the Publish method's service, registered beside {@link #definition()}.
     */
    public ServerServiceDefinition publishDefinition() {
        return ServerServiceDefinition.builder("cairn.Cluster")
            .addMethod(Publisher.PUBLISH, ServerCalls.asyncUnaryCall(this::publish)).build();
    }

    static Member describe(final ClusterView.Member each) {
        return Member.newBuilder().setID(each.id()).setName(each.name()).addAllPeerURLs(each.peerUrls())
            .addAllClientURLs(each.clientUrls()).setIsLearner(each.learner()).build();
    }

    private List<Member> members() {
        return node.view().members().stream().map(ClusterService::describe).toList();
    }

    @Override
    public void memberList(final MemberListRequest request, final StreamObserver<MemberListResponse> observer) {
        observer.onNext(MemberListResponse.newBuilder().setHeader(header()).addAllMembers(members()).build());
        observer.onCompleted();
    }

    @Override
    public void memberAdd(final MemberAddRequest request, final StreamObserver<MemberAddResponse> observer) {
        if (refusedUrls(request.getPeerURLsList(), observer)) {
            return;
        }
        if (forwarded(observer, (leader, relay) -> stub(leader).memberAdd(request, relay))) {
            return;
        }
        final ClusterView view = node.view();
        for (final String url : request.getPeerURLsList()) {
            if (view.byPeerEndpoint(Topology.hostPort(url)) != null) {
                observer.onError(PEER_URL_EXISTS.asRuntimeException());
                return;
            }
        }
        final int id = Topology.idOf(request.getPeerURLs(0));
        final boolean learner = request.getIsLearner();
        final StatusRuntimeException refusal = view.byId(id) != null ? MEMBER_EXISTS.asRuntimeException()
            : learner && view.learnerCount() >= LEARNERS_MAX ? TOO_MANY_LEARNERS.asRuntimeException()
            : !learner && !enoughStarted(view, id, +1) ? NOT_ENOUGH_STARTED.asRuntimeException() : null;
        if (refusal != null) {
            observer.onError(refusal);
            return;
        }
        final byte[] attributes = new MemberAttributes(view.clusterId(), "", request.getPeerURLsList(), List.of())
            .encode();
        if (attributes.length > Membership.ATTRIBUTES_BYTES_MAX) {
            observer.onError(BAD_URLS.asRuntimeException());
            return;
        }
        answer(node.changeMembership(learner ? MembershipChange.ADD_LEARNER : MembershipChange.ADD_VOTER, id,
            attributes), observer, ignored -> MemberAddResponse.newBuilder().setHeader(header())
                .setMember(Member.newBuilder().setID(id).addAllPeerURLs(request.getPeerURLsList())
                    .setIsLearner(learner))
                .addAllMembers(members()).build());
    }

    @Override
    public void memberRemove(final MemberRemoveRequest request, final StreamObserver<MemberRemoveResponse> observer) {
        final ClusterView.Member target = target(request.getID(), observer,
            (leader, relay) -> stub(leader).memberRemove(request, relay));
        if (target == null) {
            return;
        }
        final ClusterView view = node.view();
        if (!target.learner() && !enoughStarted(view, target.id(), -1)) {
            observer.onError(NOT_ENOUGH_STARTED.asRuntimeException());
            return;
        }
        answer(node.changeMembership(MembershipChange.REMOVE, target.id(), null), observer,
            ignored -> MemberRemoveResponse.newBuilder().setHeader(header()).addAllMembers(members()).build());
    }

    @Override
    public void memberUpdate(final MemberUpdateRequest request, final StreamObserver<MemberUpdateResponse> observer) {
        if (refusedUrls(request.getPeerURLsList(), observer)) {
            return;
        }
        final ClusterView.Member target = target(request.getID(), observer,
            (leader, relay) -> stub(leader).memberUpdate(request, relay));
        if (target == null) {
            return;
        }
        final ClusterView view = node.view();
        for (final String url : request.getPeerURLsList()) {
            final ClusterView.Member user = view.byPeerEndpoint(Topology.hostPort(url));
            if (user != null && user.id() != target.id()) {
                observer.onError(PEER_URL_EXISTS.asRuntimeException());
                return;
            }
        }
        update(view, new MemberAttributes(view.clusterId(), target.name(), request.getPeerURLsList(),
            target.clientUrls()), target.id(), observer);
    }

    @Override
    public void memberPromote(final MemberPromoteRequest request,
        final StreamObserver<MemberPromoteResponse> observer) {
        final ClusterView.Member target = target(request.getID(), observer,
            (leader, relay) -> stub(leader).memberPromote(request, relay));
        if (target == null) {
            return;
        }
        final ClusterView view = node.view();
        final StatusRuntimeException refusal = !target.learner() ? NOT_LEARNER.asRuntimeException()
            : !enoughStarted(view, target.id(), +1) ? NOT_ENOUGH_STARTED.asRuntimeException() : null;
        if (refusal != null) {
            observer.onError(refusal);
            return;
        }
        answer(node.changeMembership(MembershipChange.PROMOTE_LEARNER, target.id(), null), observer,
            ignored -> MemberPromoteResponse.newBuilder().setHeader(header()).addAllMembers(members()).build());
    }

    private void publish(final Member request, final StreamObserver<MemberUpdateResponse> observer) {
        final ClusterView.Member target = target(request.getID(), observer,
            (leader, relay) -> ClientCalls.asyncUnaryCall(leader.newCall(Publisher.PUBLISH, Node.leaderCall()), request,
                relay));
        if (target == null) {
            return;
        }
        final ClusterView view = node.view();
        update(view, new MemberAttributes(view.clusterId(), request.getName(), target.peerUrls(),
            request.getClientURLsList()), target.id(), observer);
    }

    private void update(final ClusterView view, final MemberAttributes attributes, final int id,
        final StreamObserver<MemberUpdateResponse> observer) {
        final byte[] encoded = attributes.encode();
        if (encoded.length > Membership.ATTRIBUTES_BYTES_MAX) {
            observer.onError(BAD_URLS.asRuntimeException());
            return;
        }
        answer(node.changeMembership(MembershipChange.UPDATE, id, encoded), observer,
            ignored -> MemberUpdateResponse.newBuilder().setHeader(header()).addAllMembers(members()).build());
    }

    /**
     * etcd 3.4's strict reconfiguration check: after the change, the voters that have started (published client
     * URLs) must still make a quorum of the voters.
     *
     * @param delta +1 when {@code id} becomes a voter (added or promoted, not started yet), -1 when it leaves.
     */
    private static ClusterGrpc.ClusterStub stub(final ManagedChannel leader) {
        return ClusterGrpc.newStub(leader).withDeadlineAfter(Node.LEADER_CALL_DEADLINE_MS, TimeUnit.MILLISECONDS);
    }

    /**
     * @return the member {@code id} names when this member leads; null when the request went to the leader, or was
     *     answered NOT_FOUND (an unknown member) or "no leader".
     */
    private <R> ClusterView.Member target(final long id, final StreamObserver<R> observer,
        final Node.Forward<R> forward) {
        if (forwarded(observer, forward)) {
            return null;
        }
        final ClusterView.Member target = node.view().byId(id);
        if (target == null) {
            observer.onError(NOT_FOUND.asRuntimeException());
        }
        return target;
    }

    private static boolean enoughStarted(final ClusterView view, final int id, final int delta) {
        int voters = delta > 0 ? 1 : 0;
        int started = 0;
        for (final ClusterView.Member each : view.members()) {
            if (each.learner() || each.id() == id) {
                continue;
            }
            voters++;
            if (!each.clientUrls().isEmpty()) {
                started++;
            }
        }
        return started >= voters / 2 + 1;
    }

    /** @return true when the peer URLs are missing or invalid, after answering etcd's error. */
    private static boolean refusedUrls(final List<String> urls, final StreamObserver<?> observer) {
        if (urls.isEmpty() || !valid(urls)) {
            observer.onError(BAD_URLS.asRuntimeException());
            return true;
        }
        return false;
    }

    private static boolean valid(final List<String> urls) {
        for (final String url : urls) {
            // etcd's types.NewURLs: http, https, unix or unixs, and a host:port.
            if (!url.startsWith("http://") && !url.startsWith("https://") && !url.startsWith("unix://")
                && !url.startsWith("unixs://")) {
                return false;
            }
            try {
                Topology.hostPort(url);
            } catch (final IllegalArgumentException ex) {
                return false;
            }
        }
        return true;
    }

    /**
     * Sends the request to the leader when this member is not it.
     *
     * @return true when it was forwarded or answered (no leader).
     */
    private <R> boolean forwarded(final StreamObserver<R> observer, final Node.Forward<R> forward) {
        if (node.role() == Role.LEADER) {
            return false;
        }
        if (!node.forwardToLeader(forward, observer)) {
            observer.onError(EtcdStatus.noLeader());
        }
        return true;
    }

    private <R> void answer(final CompletableFuture<Void> change, final StreamObserver<R> observer,
        final Function<Void, R> response) {
        change.whenComplete((ignored, error) -> {
            if (error == null) {
                observer.onNext(response.apply(null));
                observer.onCompleted();
                return;
            }
            Throwable cause = error;
            while (cause.getCause() != null && !(cause instanceof ProposalFailed)) {
                cause = cause.getCause();
            }
            if (cause instanceof ProposalFailed failure && failure.code() == RaftResult.NOT_CAUGHT_UP) {
                observer.onError(LEARNER_NOT_READY.asRuntimeException());
            } else if (cause instanceof ProposalFailed failure && failure.code() == RaftResult.INVALID) {
                observer.onError(Status.FAILED_PRECONDITION.withDescription("cairn: the configuration refused the"
                    + " change (at most " + Membership.MEMBERS_MAX + " members, at least one voter)")
                    .asRuntimeException());
            } else {
                observer.onError(EtcdStatus.of(error));
            }
        });
    }

    private io.etcd.jetcd.api.ResponseHeader header() {
        return node.header(node.read(reader -> reader.revision()));
    }
}
