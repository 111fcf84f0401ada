package io.cairn.embedded;

import io.cairn.embedded.cluster.ClusterView;

import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

/**
 * etcd's members publish their name and client URLs through Raft once they run; so does a node whose entry in the
 * configuration does not say what its config says (one added by a membership call, or one restarted with a new client
 * URL). Through {@link ClusterClient}: the leader proposes the update, a follower relays it there. Runs on the node's
 * pool, one attempt at a time, retrying until the configuration says it (at most a minute per attempt); started when a
 * leader becomes known and when the configuration changes.
 */
final class Publisher implements NodeListener {
    private static final System.Logger LOG = System.getLogger(Publisher.class.getName());
    private static final long ATTEMPT_NS = TimeUnit.SECONDS.toNanos(60);

    private final CairnNode node;
    private final String name;
    private final List<String> clientUrls;
    private final Executor executor;
    private final AtomicBoolean publishing = new AtomicBoolean();

    Publisher(final CairnNode node, final Executor executor) {
        this.node = node;
        this.name = node.config().name();
        this.clientUrls = node.config().clientUrl() == null ? List.of() : List.of(node.config().clientUrl());
        this.executor = executor;
    }

    @Override
    public void onLeaderChange(final int role, final long term, final int leaderId) {
        if (leaderId != 0) {
            maybePublish();
        }
    }

    @Override
    public void onMembershipChange(final ClusterView view, final boolean isMember) {
        if (isMember) {
            maybePublish();
        }
    }

    private void maybePublish() {
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
        return entry.published() && entry.name().equals(name) && entry.clientUrls().equals(clientUrls);
    }

    private void publish() {
        try {
            final long deadline = System.nanoTime() + ATTEMPT_NS;
            while (!node.isClosed() && System.nanoTime() - deadline < 0) {
                final ClusterView.Member entry = node.view().byId(node.selfId());
                if (entry == null || published(entry)) {
                    return;
                }
                if (node.leaderId() != 0) {
                    try {
                        node.cluster().publish(name, clientUrls).get(Requests.REQUEST_TIMEOUT_MS * 3,
                            TimeUnit.MILLISECONDS);
                    } catch (final InterruptedException ex) {
                        Thread.currentThread().interrupt();
                        return;
                    } catch (final ExecutionException | TimeoutException | RuntimeException ex) {
                        LOG.log(System.Logger.Level.DEBUG, "publishing member attributes: " + ex);
                    }
                }
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(200));
            }
        } finally {
            publishing.set(false);
        }
    }
}
