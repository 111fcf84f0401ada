package io.cairn.server.proxy;

import io.etcd.jetcd.api.MaintenanceGrpc;
import io.etcd.jetcd.api.StatusRequest;
import io.etcd.jetcd.api.StatusResponse;
import io.grpc.Channel;
import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Where the proxy sends writes: straight to the leader, found by asking the members' {@code Maintenance.Status}
 * (each answers with its own ID and its leader's). A write sent to a follower is forwarded to the leader; if the
 * leader dies meanwhile, the write fails "request timed out" — and a client's retry sent at once to a follower that
 * has not noticed yet fails the same way. Sent to the leader, a write in flight when it dies fails once (its outcome
 * is unknown), and the next waits in the proxy until the members have elected another and goes there.
 *
 * <p>The leader is looked for when the proxy starts, when a write to it fails UNAVAILABLE or its connection is down,
 * and at each member sync ({@link #refresh});
 * while it is unknown, writes wait (at most {@link #WAIT_MS}, then go round-robin as before). With authentication on,
 * Status needs root (etcd 3.4.42+), the leader stays unknown and writes go round-robin.
 */
final class LeaderRouter {
    private static final System.Logger LOG = System.getLogger(LeaderRouter.class.getName());
    /** The longest a write waits for a leader before it goes round-robin. */
    static final long WAIT_MS = 5_000;
    private static final long RETRY_MS = 100;

    private final Upstream upstream;
    private final ScheduledExecutorService timer;
    private final Map<String, ManagedChannel> channels = new HashMap<>();
    private final List<Consumer<Channel>> waiting = new ArrayList<>();
    private String leader;
    private boolean looking;
    private long lookingSinceNanos;
    private boolean closed;
    /** Status is refused (authentication is on): writes go round-robin until a refresh finds it answered. */
    private boolean blind;

    /**
     * @param upstream the cluster (its endpoints and how to connect).
     * @param timer    runs the search.
     */
    LeaderRouter(final Upstream upstream, final ScheduledExecutorService timer) {
        this.upstream = upstream;
        this.timer = timer;
        synchronized (this) {
            look();
        }
    }

    /**
     * Runs {@code then} with the leader's channel (with the caller's headers), now or once the leader is known; with
     * the round-robin channel if none is found within {@link #WAIT_MS}.
     *
     * @param write the write.
     */
    void whenLeader(final Consumer<Channel> write) {
        // A write that waits runs later on another thread: in its caller's context (headers, deadline, cancel).
        final io.grpc.Context context = io.grpc.Context.current();
        final Consumer<Channel> then = channel -> context.run(() -> write.accept(channel));
        final Channel now;
        synchronized (this) {
            final ManagedChannel known = leader == null ? null : channels.get(leader);
            if (known != null && known.getState(false) != ConnectivityState.TRANSIENT_FAILURE) {
                now = upstream.forwardingTo(known);
            } else {
                if (known != null) {
                    leader = null; // its connection is down: look again
                }
                if (!closed && !blind && waiting.size() < 100_000) {
                    waiting.add(then);
                    look();
                    return;
                }
                now = upstream.forwarding();
            }
        }
        then.accept(now);
    }

    /**
     * A write to {@code channel} failed UNAVAILABLE: its member may be gone or no longer lead.
     */
    synchronized void suspect() {
        leader = null;
        look();
    }

    /** Looks again (the leader may have moved without a failure); writes keep going where they went meanwhile. */
    synchronized void refresh() {
        blind = false;
        look();
    }

    /** Under the lock: asks every member for its status, unless a search is under way. */
    private void look() {
        if (looking || closed) {
            return;
        }
        looking = true;
        lookingSinceNanos = System.nanoTime();
        ask();
    }

    /** Under the lock. */
    private void ask() {
        final List<String> endpoints = upstream.endpoints();
        final int[] answers = {0};
        for (final String endpoint : endpoints) {
            final ManagedChannel channel = channels.computeIfAbsent(endpoint, upstream::channelTo);
            MaintenanceGrpc.newStub(channel).withDeadlineAfter(1, TimeUnit.SECONDS)
                .status(StatusRequest.getDefaultInstance(), new StreamObserver<>() {
                    @Override
                    public void onNext(final StatusResponse status) {
                        if (status.getLeader() != 0 && status.getLeader() == status.getHeader().getMemberId()) {
                            found(endpoint);
                        }
                    }

                    @Override
                    public void onError(final Throwable error) {
                        final io.grpc.Status.Code code = io.grpc.Status.fromThrowable(error).getCode();
                        if (code == io.grpc.Status.Code.PERMISSION_DENIED
                            || code == io.grpc.Status.Code.UNAUTHENTICATED
                            || code == io.grpc.Status.Code.INVALID_ARGUMENT) {
                            refused();
                        }
                        answered();
                    }

                    @Override
                    public void onCompleted() {
                        answered();
                    }

                    private void answered() {
                        synchronized (LeaderRouter.this) {
                            if (++answers[0] == endpoints.size() && looking) {
                                again();
                            }
                        }
                    }
                });
        }
    }

    /** A member refused Status (authentication is on): stop looking until the next refresh; writes go round-robin. */
    private void refused() {
        synchronized (this) {
            if (!looking) {
                return;
            }
            looking = false;
            blind = true;
        }
        release(upstream.forwarding());
    }

    /** Under the lock: no member says it leads (yet). */
    private void again() {
        if (closed) {
            return;
        }
        if (System.nanoTime() - lookingSinceNanos > TimeUnit.MILLISECONDS.toNanos(WAIT_MS)) {
            // No leader for a while: the waiting writes go round-robin (and get the cluster's own answer).
            looking = false;
            release(upstream.forwarding());
            return;
        }
        timer.schedule(() -> {
            synchronized (this) {
                if (looking) {
                    ask();
                }
            }
        }, RETRY_MS, TimeUnit.MILLISECONDS);
    }

    private void found(final String endpoint) {
        final Channel channel;
        synchronized (this) {
            if (!looking && endpoint.equals(leader)) {
                return;
            }
            looking = false;
            if (!endpoint.equals(leader)) {
                LOG.log(System.Logger.Level.DEBUG, "grpc-proxy: writes go to the leader, " + endpoint);
            }
            leader = endpoint;
            channel = upstream.forwardingTo(channels.get(endpoint));
        }
        release(channel);
    }

    private void release(final Channel channel) {
        final List<Consumer<Channel>> ready;
        synchronized (this) {
            ready = List.copyOf(waiting);
            waiting.clear();
        }
        for (final Consumer<Channel> write : ready) {
            write.accept(channel);
        }
    }

    /** Closes the channels to the members. */
    synchronized void close() {
        closed = true;
        channels.values().forEach(ManagedChannel::shutdownNow);
        channels.clear();
    }
}
