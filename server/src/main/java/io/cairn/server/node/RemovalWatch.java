package io.cairn.server.node;

import io.cairn.embedded.cluster.ClusterView;
import io.grpc.ManagedChannel;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Notices that this member was removed from the cluster (etcd's members stop then). A member that appended the
 * removal (the leader that proposed it, a follower that received it) sees itself leave the configuration and waits
 * for the change to be applied; a follower the leader stopped talking to before it received the change has no leader
 * for a while, and then asks the others: when one that has a leader lists the members without it, it was removed. A
 * member that has never been in a configuration (one started before MemberAdd) is not judged. Checked once a second
 * on the node's watchdog.
 */
final class RemovalWatch {
    private static final System.Logger LOG = System.getLogger(RemovalWatch.class.getName());
    private static final long LEADERLESS_S = 5;

    private final GrpcNode node;
    private final String name;
    private final CompletableFuture<Void> removed = new CompletableFuture<>();
    private volatile boolean wasMember;
    private volatile long leaderlessSinceNs = System.nanoTime();
    private int leader; // the loop's thread only

    /**
     * @param node the member watched.
     * @param name its name, for the log.
     */
    RemovalWatch(final GrpcNode node, final String name) {
        this.node = node;
        this.name = name;
    }

    /**
     * @return completes when this member learns it was removed.
     */
    CompletableFuture<Void> removed() {
        return removed;
    }

    /**
     * The loop saw the leader change (on its thread).
     *
     * @param newLeader the leader now, 0 if none.
     */
    void onLeader(final int newLeader) {
        if (newLeader == 0 && leader != 0) {
            leaderlessSinceNs = System.nanoTime();
        }
        leader = newLeader;
    }

    /**
     * The configuration in force changed.
     *
     * @param member whether this member is in it.
     */
    void onConfiguration(final boolean member) {
        wasMember |= member;
    }

    /**
     * One check (the watchdog's).
     */
    void check() {
        if (node.isClosed() || removed.isDone() || !wasMember) {
            return;
        }
        final ClusterView current = node.view();
        final int self = node.selfId();
        final long memberId = current.etcdIdOf(self);
        if (current.byId(self) == null && !current.members().isEmpty()) {
            if (node.appliedIndex() >= current.configIndex()) {
                removed.complete(null);
            }
            return;
        }
        if (node.leaderId() != 0 || System.nanoTime() - leaderlessSinceNs < TimeUnit.SECONDS.toNanos(LEADERLESS_S)) {
            return;
        }
        for (final ClusterView.Member other : current.members()) {
            if (other.id() == self || other.clientEndpoint() == null) {
                continue;
            }
            final ManagedChannel channel = node.channelTo(other.clientEndpoint());
            try {
                final var status = io.etcd.jetcd.api.MaintenanceGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(1, TimeUnit.SECONDS)
                    .status(io.etcd.jetcd.api.StatusRequest.getDefaultInstance());
                final var list = io.etcd.jetcd.api.ClusterGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(1, TimeUnit.SECONDS)
                    .memberList(io.etcd.jetcd.api.MemberListRequest.getDefaultInstance());
                if (status.getLeader() != 0 && list.getMembersList().stream().noneMatch(m -> m.getID() == memberId)) {
                    LOG.log(System.Logger.Level.WARNING, "member " + name + ": " + other.name()
                        + " has a leader and lists the members without this one: it was removed");
                    removed.complete(null);
                    return;
                }
            } catch (final RuntimeException ex) {
                // That member is down or busy: ask the next.
            } finally {
                channel.shutdownNow();
            }
        }
    }
}
