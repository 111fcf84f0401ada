package io.cairn.embedded;

import io.cairn.consensus.Membership;
import io.cairn.consensus.MembershipChange;
import io.cairn.consensus.RaftResult;
import io.cairn.consensus.Role;
import io.cairn.embedded.cluster.ClusterView;
import io.cairn.embedded.cluster.EtcdIds;
import io.cairn.embedded.cluster.MemberAttributes;
import io.cairn.embedded.cluster.Topology;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * etcd's Cluster calls on an embedded node: list, add, remove, update, promote, and Maintenance's MoveLeader. Any
 * member takes them: the leader
 * carries a change out (etcd 3.4's checks, then a one-at-a-time Raft configuration change); a follower relays it to
 * the leader inside Raft ({@link MembershipRelay}), as etcd's members forward to theirs. A call completes once the
 * change is applied by this member too, so {@link #view()} shows it when the future does.
 *
 * <p>etcd's checks, with its errors ({@link CairnError}): peer URLs must be {@code scheme://host:port} and not another
 * member's ({@link CairnError#BAD_URLS}, {@link CairnError#PEER_URL_EXISTS}); the member must exist
 * ({@link CairnError#MEMBER_NOT_FOUND}) or, when added, must not ({@link CairnError#MEMBER_EXISTS}); at most one
 * learner ({@link CairnError#TOO_MANY_LEARNERS}); only a learner in sync with the leader is promoted
 * ({@link CairnError#NOT_LEARNER}, {@link CairnError#LEARNER_NOT_READY}); and etcd's strict reconfiguration check: a
 * voter is added, removed or promoted only if the started voters (those whose name the configuration holds) still make
 * a quorum afterwards ({@link CairnError#NOT_ENOUGH_STARTED}).
 *
 * <p>A member added here starts with {@link NodeConfig#withJoining} (etcd's {@code --initial-cluster-state existing})
 * and, once it runs, publishes its name and client URL through Raft; until then it is listed without a name, as etcd
 * lists an unstarted member.
 */
public final class ClusterClient {
    private static final int LEARNERS_MAX = 1; // etcd 3.4's limit
    /** How long a call waits for this member to apply a change the leader applied (milliseconds when healthy). */
    private static final long APPLY_WAIT_NS = TimeUnit.SECONDS.toNanos(2);
    private final CairnNode node;

    ClusterClient(final CairnNode node) {
        this.node = node;
    }

    /**
     * @return the configuration in force on this member: members with their names, URLs and roles.
     */
    public ClusterView view() {
        return node.view();
    }

    /**
     * Adds a member. Its ID is the hash of its first peer URL (so the new member knows it from its own flags).
     *
     * @param peerUrls its peer URLs ({@code scheme://host:port}; the first is its Aeron endpoint).
     * @param learner  true to add it as a learner (it votes once promoted).
     * @return completes with the new member (unstarted: no name yet) once the change is applied here.
     */
    public CompletableFuture<ClusterView.Member> add(final List<String> peerUrls, final boolean learner) {
        if (!valid(peerUrls)) {
            return CompletableFuture.failedFuture(new CairnException(CairnError.BAD_URLS));
        }
        final int id = Topology.idOf(peerUrls.get(0));
        return submit(new MembershipRequest(MembershipRequest.ADD, id, learner, "", peerUrls, List.of()))
            .thenApply(view -> {
                final ClusterView.Member added = view.byId(id);
                return added != null ? added : new ClusterView.Member(id, id, "", List.copyOf(peerUrls),
                    List.of(), learner, false);
            });
    }

    /**
     * Removes a member (this one, or the leader, included).
     *
     * @param memberId the member.
     * @return completes with the configuration once the change is applied here.
     */
    public CompletableFuture<ClusterView> remove(final long memberId) {
        return submit(MembershipRequest.of(MembershipRequest.REMOVE, memberId));
    }

    /**
     * Changes a member's peer URLs.
     *
     * @param memberId the member.
     * @param peerUrls its new peer URLs.
     * @return completes with the configuration once the change is applied here.
     */
    public CompletableFuture<ClusterView> update(final long memberId, final List<String> peerUrls) {
        if (!valid(peerUrls)) {
            return CompletableFuture.failedFuture(new CairnException(CairnError.BAD_URLS));
        }
        return submit(new MembershipRequest(MembershipRequest.UPDATE, memberId, false, "", peerUrls, List.of()));
    }

    /**
     * Makes a learner a voter, once it has caught up with the leader.
     *
     * @param memberId the learner.
     * @return completes with the configuration once the change is applied here.
     */
    public CompletableFuture<ClusterView> promote(final long memberId) {
        return submit(MembershipRequest.of(MembershipRequest.PROMOTE, memberId));
    }

    /**
     * Hands leadership to another voter (etcd's MoveLeader); any member takes it.
     *
     * @param memberId the voter to lead.
     * @return completes once it leads; fails with {@link CairnError#BAD_LEADER_TRANSFEREE} (not a voter here) or
     *     {@link CairnError#LEADER_TRANSFER_TIMEOUT}.
     */
    public CompletableFuture<Void> moveLeader(final long memberId) {
        return submit(MembershipRequest.of(MembershipRequest.MOVE_LEADER, memberId)).thenApply(view -> null);
    }

    /**
     * Records this member's name and client URLs in the configuration (etcd's publish); the node does it itself.
     */
    CompletableFuture<ClusterView> publish(final String name, final List<String> clientUrls) {
        return submit(new MembershipRequest(MembershipRequest.PUBLISH, node.selfId(), false, name, List.of(),
            clientUrls));
    }

    private CompletableFuture<ClusterView> submit(final MembershipRequest request) {
        final CompletableFuture<Long> applied = node.role() == Role.LEADER ? lead(request) : node.relay(request);
        return applied.thenApplyAsync(index -> awaitApplied(index, request), node.executor());
    }

    /**
     * The change is applied on the leader at {@code configIndex}; waits (briefly) until this member has applied it
     * too. A member removed through itself may never hear of its removal (the leader stops sending to it), and one
     * far behind is not waited for: the answer is then the view here with a removed member left out.
     */
    private ClusterView awaitApplied(final long configIndex, final MembershipRequest request) {
        final boolean removed = request.op() == MembershipRequest.REMOVE;
        final long deadline = System.nanoTime() + APPLY_WAIT_NS;
        ClusterView view = node.view();
        while (view.configIndex() < configIndex && System.nanoTime() - deadline < 0 && !node.isClosed()
            && !(removed && request.memberId() == node.selfId())) {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
            view = node.view();
        }
        if (removed && view.byId(request.memberId()) != null) {
            return new ClusterView(view.clusterId(), view.configIndex(), view.members().stream()
                .filter(member -> member.id() != request.memberId()).toList());
        }
        return view;
    }

    /**
     * The leader's side: etcd's checks on this member's view, then the change.
     *
     * @param request the call.
     * @return completes with the index of the configuration that holds the change, once applied here.
     */
    CompletableFuture<Long> lead(final MembershipRequest request) {
        final ClusterView view = node.view();
        if (request.op() == MembershipRequest.MOVE_LEADER) {
            return moveLeader(view, request.memberId());
        }
        final ClusterView.Member target = request.op() == MembershipRequest.ADD ? null : view.byId(request.memberId());
        if (request.op() != MembershipRequest.ADD && target == null) {
            return failed(CairnError.MEMBER_NOT_FOUND);
        }
        final int id = (int)request.memberId();
        final MemberAttributes attributes;
        final int change;
        switch (request.op()) {
            case MembershipRequest.ADD -> {
                final CairnError refusal = usedUrl(view, request.peerUrls(), 0) ? CairnError.PEER_URL_EXISTS
                    : view.byId(id) != null ? CairnError.MEMBER_EXISTS
                    : request.learner() && view.learnerCount() >= LEARNERS_MAX ? CairnError.TOO_MANY_LEARNERS
                    : !request.learner() && !enoughStarted(view, id, +1) ? CairnError.NOT_ENOUGH_STARTED : null;
                if (refusal != null) {
                    return failed(refusal);
                }
                // etcd's MemberAdd: an ID from the peer URLs and the time (no token), unique in the cluster.
                final long etcdId = EtcdIds.member(request.peerUrls(), "", System.currentTimeMillis() / 1000);
                if (view.members().stream().anyMatch(member -> member.etcdId() == etcdId)) {
                    return failed(CairnError.MEMBER_EXISTS);
                }
                attributes = new MemberAttributes(view.clusterId(), etcdId, "", request.peerUrls(), List.of());
                change = request.learner() ? MembershipChange.ADD_LEARNER : MembershipChange.ADD_VOTER;
            }
            case MembershipRequest.REMOVE -> {
                if (!target.learner() && !enoughStarted(view, id, -1)) {
                    return failed(CairnError.NOT_ENOUGH_STARTED);
                }
                attributes = null;
                change = MembershipChange.REMOVE;
            }
            case MembershipRequest.PROMOTE -> {
                final CairnError refusal = !target.learner() ? CairnError.NOT_LEARNER
                    : !enoughStarted(view, id, +1) ? CairnError.NOT_ENOUGH_STARTED : null;
                if (refusal != null) {
                    return failed(refusal);
                }
                attributes = null;
                change = MembershipChange.PROMOTE_LEARNER;
            }
            case MembershipRequest.UPDATE -> {
                if (usedUrl(view, request.peerUrls(), id)) {
                    return failed(CairnError.PEER_URL_EXISTS);
                }
                attributes = new MemberAttributes(view.clusterId(), target.etcdId(), target.name(), request.peerUrls(),
                    target.clientUrls());
                change = MembershipChange.UPDATE;
            }
            default -> { // PUBLISH
                attributes = new MemberAttributes(view.clusterId(), target.etcdId(), request.name(), target.peerUrls(),
                    request.clientUrls());
                change = MembershipChange.UPDATE;
            }
        }
        final byte[] encoded = attributes == null ? null : attributes.encode();
        if (encoded != null && encoded.length > Membership.ATTRIBUTES_BYTES_MAX) {
            return failed(CairnError.BAD_URLS);
        }
        return node.changeMembership(change, id, encoded).handle((ignored, error) -> {
            if (error != null) {
                throw new CompletionException(refusal(error));
            }
            return node.view().configIndex();
        });
    }

    private CompletableFuture<Long> moveLeader(final ClusterView view, final long memberId) {
        final ClusterView.Member target = view.byId(memberId);
        if (target == null || target.learner()) {
            return failed(CairnError.BAD_LEADER_TRANSFEREE);
        }
        if (target.id() == node.selfId()) {
            return CompletableFuture.completedFuture(view.configIndex()); // leads already
        }
        return node.transferLeadership(target.id()).handle((ignored, error) -> {
            if (error != null) {
                final CairnException found = CairnException.find(error);
                final long code = found instanceof ProposalFailed failure ? failure.code() : 0;
                throw new CompletionException(!(found instanceof ProposalFailed) && found != null ? found
                    : new CairnException(code == RaftResult.NOT_LEADER ? CairnError.NO_LEADER
                    : code == RaftResult.INVALID ? CairnError.BAD_LEADER_TRANSFEREE
                    : code == RaftResult.FULL ? CairnError.TOO_MANY_REQUESTS : CairnError.LEADER_TRANSFER_TIMEOUT));
            }
            return node.view().configIndex();
        });
    }

    // What the loop's refusal of a change means to the caller (the same on the leader and through a relay).
    private static CairnException refusal(final Throwable error) {
        final CairnException found = CairnException.find(error);
        if (found instanceof ProposalFailed failure) {
            final long code = failure.code();
            return new CairnException(code == RaftResult.INVALID ? CairnError.MEMBERSHIP_REFUSED
                : code == RaftResult.NOT_CAUGHT_UP ? CairnError.LEARNER_NOT_READY
                : code == RaftResult.NOT_LEADER ? CairnError.NO_LEADER
                : code == RaftResult.FULL ? CairnError.TOO_MANY_REQUESTS : CairnError.TIMEOUT);
        }
        return found != null ? found : new CairnException(CairnError.TIMEOUT);
    }

    private static <T> CompletableFuture<T> failed(final CairnError error) {
        return CompletableFuture.failedFuture(new CairnException(error));
    }

    // Whether a member other than {@code self} has one of these peer URLs.
    private static boolean usedUrl(final ClusterView view, final List<String> urls, final int self) {
        for (final String url : urls) {
            final ClusterView.Member user = view.byPeerEndpoint(Topology.hostPort(url));
            if (user != null && user.id() != self) {
                return true;
            }
        }
        return false;
    }

    /**
     * etcd 3.4's strict reconfiguration check: after the change, the voters that have started (the configuration holds
     * their name) must still make a quorum of the voters.
     *
     * @param delta +1 when {@code id} becomes a voter (added or promoted, not started yet), -1 when it leaves.
     */
    private static boolean enoughStarted(final ClusterView view, final int id, final int delta) {
        int voters = delta > 0 ? 1 : 0;
        int started = 0;
        for (final ClusterView.Member each : view.members()) {
            if (each.learner() || each.id() == id) {
                continue;
            }
            voters++;
            if (!each.name().isEmpty()) {
                started++;
            }
        }
        return started >= voters / 2 + 1;
    }

    /**
     * @param urls peer URLs.
     * @return true when there is at least one and each is etcd's {@code types.NewURLs}: http, https, unix or unixs,
     *     and a host:port.
     */
    static boolean valid(final List<String> urls) {
        if (urls == null || urls.isEmpty()) {
            return false;
        }
        for (final String url : urls) {
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
}
