package io.cairn.server.proxy;

import io.etcd.jetcd.api.LeaseGrpc;
import io.etcd.jetcd.api.LeaseKeepAliveRequest;
import io.etcd.jetcd.api.LeaseKeepAliveResponse;
import io.etcd.jetcd.api.LeaseTimeToLiveRequest;
import io.etcd.jetcd.api.LeaseTimeToLiveResponse;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * etcd's Lease through the proxy: keep-alives coalesced, time-to-live answers mapped by the {@link Namespace}, the rest
 * (grant, revoke, list) relayed by {@link PassThrough}.
 *
 * <p>Keep-alives from every client share one upstream stream, and a lease has at most one keep-alive in flight:
 * requests for it that arrive meanwhile get the answer of the one in flight, and requests within
 * {@link #REUSE_NANOS} of an answer get that answer, its TTL lowered by the time since (rounded up), so no client is
 * told its lease lives longer than it does. When the upstream stream breaks, the keep-alives in flight are sent again
 * on a new one (another member): clients see a late answer, not an error. One unanswered for {@link #RESEND_NANOS}
 * is sent again (a keep-alive a member relayed to a leader that died is never answered), and after
 * {@link #REPLACE_NANOS} the stream is replaced (its member may be cut off from the cluster).
 */
final class LeaseProxy {
    /** An answer this fresh serves another request for the same lease. */
    static final long REUSE_NANOS = TimeUnit.MILLISECONDS.toNanos(500);
    private static final long FORGET_NANOS = TimeUnit.MINUTES.toNanos(5);
    /**
     * A keep-alive unanswered this long is sent again: a member relays it to its leader, and one relayed to a leader
     * that dies is never answered (clients' own keep-alive loops just send the next; coalesced, theirs wait on it).
     */
    static final long RESEND_NANOS = TimeUnit.SECONDS.toNanos(1);
    /** ... and one unanswered this long moves to a new upstream stream (another member: this one may be cut off). */
    static final long REPLACE_NANOS = TimeUnit.SECONDS.toNanos(3);

    private final Upstream upstream;
    private final Namespace namespace;
    private final ScheduledExecutorService timer;
    private final Map<Long, LeaseState> leases = new HashMap<>();
    private StreamObserver<LeaseKeepAliveRequest> requests;
    private boolean resendScheduled;
    private boolean checkScheduled;
    private long received;
    private long sent;

    /** One lease's keep-alives. */
    private static final class LeaseState {
        final List<Consumer<LeaseKeepAliveResponse>> waiting = new ArrayList<>();
        boolean inFlight;
        long firstSentNanos;
        long sentNanos;
        LeaseKeepAliveResponse last;
        long lastNanos;
    }

    /**
     * @param upstream  the cluster.
     * @param namespace the proxy's namespace.
     * @param timer     runs resends and clean-ups.
     */
    LeaseProxy(final Upstream upstream, final Namespace namespace, final ScheduledExecutorService timer) {
        this.upstream = upstream;
        this.namespace = namespace;
        this.timer = timer;
        timer.scheduleWithFixedDelay(this::forgetIdle, 1, 1, TimeUnit.MINUTES);
    }

    /**
     * @return the methods served here (the others fall to the pass-through).
     */
    ServerServiceDefinition definition() {
        return ServerServiceDefinition.builder(LeaseGrpc.SERVICE_NAME)
            .addMethod(LeaseGrpc.getLeaseKeepAliveMethod(), ServerCalls.asyncBidiStreamingCall(this::keepAlive))
            .addMethod(LeaseGrpc.getLeaseTimeToLiveMethod(), ServerCalls.asyncUnaryCall(this::timeToLive))
            .build();
    }

    /**
     * @return keep-alive requests received from clients.
     */
    synchronized long received() {
        return received;
    }

    /**
     * @return keep-alive requests sent upstream.
     */
    synchronized long sent() {
        return sent;
    }

    private void timeToLive(final LeaseTimeToLiveRequest request,
        final StreamObserver<LeaseTimeToLiveResponse> observer) {
        final Deadline deadline = Context.current().getDeadline();
        final LeaseGrpc.LeaseStub stub = LeaseGrpc.newStub(upstream.forwarding());
        (deadline == null ? stub : stub.withDeadline(deadline)).leaseTimeToLive(request,
            KvProxy.relay(observer, namespace::strip, null));
    }

    private StreamObserver<LeaseKeepAliveRequest> keepAlive(final StreamObserver<LeaseKeepAliveResponse> out) {
        final boolean[] closed = {false};
        final Consumer<LeaseKeepAliveResponse> reply = response -> {
            synchronized (out) {
                if (closed[0]) {
                    return;
                }
                try {
                    out.onNext(response);
                } catch (final RuntimeException ex) {
                    closed[0] = true;
                }
            }
        };
        return new StreamObserver<>() {
            @Override
            public void onNext(final LeaseKeepAliveRequest request) {
                request(request.getID(), reply);
            }

            @Override
            public void onError(final Throwable error) {
                synchronized (out) {
                    closed[0] = true;
                }
            }

            @Override
            public void onCompleted() {
                synchronized (out) {
                    closed[0] = true;
                    try {
                        out.onCompleted();
                    } catch (final RuntimeException ex) {
                        // Already closed.
                    }
                }
            }
        };
    }

    /**
     * Keeps a lease alive once, coalesced with the clients' keep-alives (the proxy's own registration uses it).
     *
     * @param id    the lease.
     * @param reply gets the answer.
     */
    void keepAlive(final long id, final Consumer<LeaseKeepAliveResponse> reply) {
        request(id, reply);
    }

    private void request(final long id, final Consumer<LeaseKeepAliveResponse> reply) {
        LeaseKeepAliveResponse reused = null;
        synchronized (this) {
            received++;
            final LeaseState lease = leases.computeIfAbsent(id, key -> new LeaseState());
            final long now = System.nanoTime();
            if (!lease.inFlight && lease.last != null && lease.last.getTTL() > 0
                && now - lease.lastNanos < REUSE_NANOS) {
                final long elapsedSeconds = (now - lease.lastNanos + 999_999_999L) / 1_000_000_000L;
                reused = lease.last.toBuilder().setTTL(Math.max(1, lease.last.getTTL() - elapsedSeconds)).build();
            } else {
                lease.waiting.add(reply);
                if (!lease.inFlight) {
                    lease.inFlight = true;
                    lease.firstSentNanos = now;
                    lease.sentNanos = now;
                    send(id);
                }
            }
        }
        if (reused != null) {
            reply.accept(reused);
        }
    }

    /** Under the lock. */
    private void send(final long id) {
        if (requests == null) {
            open();
        }
        sent++;
        requests.onNext(LeaseKeepAliveRequest.newBuilder().setID(id).build());
        if (!checkScheduled) {
            checkScheduled = true;
            timer.schedule(this::checkUnanswered, RESEND_NANOS, TimeUnit.NANOSECONDS);
        }
    }

    /** Sends again what waits too long; moves to a new stream what waits far too long. */
    private synchronized void checkUnanswered() {
        checkScheduled = false;
        final long now = System.nanoTime();
        boolean replace = false;
        for (final LeaseState lease : leases.values()) {
            replace |= lease.inFlight && now - lease.firstSentNanos >= REPLACE_NANOS;
        }
        if (replace && requests != null) {
            final StreamObserver<LeaseKeepAliveRequest> stuck = requests;
            requests = null;
            try {
                stuck.onError(io.grpc.Status.CANCELLED.withDescription("grpc-proxy: no answer; another member")
                    .asRuntimeException());
            } catch (final RuntimeException ex) {
                // Already over.
            }
            for (final LeaseState lease : leases.values()) {
                if (lease.inFlight) {
                    lease.firstSentNanos = now;
                }
            }
        }
        for (final Map.Entry<Long, LeaseState> entry : leases.entrySet()) {
            final LeaseState lease = entry.getValue();
            if (lease.inFlight && (replace || now - lease.sentNanos >= RESEND_NANOS)) {
                lease.sentNanos = now;
                send(entry.getKey());
            }
        }
        if (!checkScheduled && leases.values().stream().anyMatch(lease -> lease.inFlight)) {
            checkScheduled = true;
            timer.schedule(this::checkUnanswered, RESEND_NANOS, TimeUnit.NANOSECONDS);
        }
    }

    private void open() {
        final java.util.concurrent.atomic.AtomicReference<StreamObserver<LeaseKeepAliveRequest>> self =
            new java.util.concurrent.atomic.AtomicReference<>();
        // Not in the context of the client call that happens to open it: that call's end would cancel it.
        final Context previous = Context.ROOT.attach();
        try {
            self.set(open(self));
        } finally {
            Context.ROOT.detach(previous);
        }
        requests = self.get();
    }

    private StreamObserver<LeaseKeepAliveRequest> open(
        final java.util.concurrent.atomic.AtomicReference<StreamObserver<LeaseKeepAliveRequest>> self) {
        return LeaseGrpc.newStub(upstream.own()).leaseKeepAlive(new StreamObserver<>() {
            @Override
            public void onNext(final LeaseKeepAliveResponse response) {
                final List<Consumer<LeaseKeepAliveResponse>> answered;
                synchronized (LeaseProxy.this) {
                    final LeaseState lease = leases.get(response.getID());
                    if (lease == null) {
                        return;
                    }
                    lease.inFlight = false;
                    lease.last = response;
                    lease.lastNanos = System.nanoTime();
                    answered = List.copyOf(lease.waiting);
                    lease.waiting.clear();
                }
                for (final Consumer<LeaseKeepAliveResponse> reply : answered) {
                    reply.accept(response);
                }
            }

            @Override
            public void onError(final Throwable error) {
                broken(self.get());
            }

            @Override
            public void onCompleted() {
                broken(self.get());
            }
        });
    }

    /** The upstream stream broke: what was in flight is sent again on a new one, shortly. */
    private synchronized void broken(final StreamObserver<LeaseKeepAliveRequest> stream) {
        if (requests != stream) {
            return;
        }
        requests = null;
        try {
            stream.onCompleted();
        } catch (final RuntimeException ex) {
            // Already over.
        }
        if (!resendScheduled) {
            resendScheduled = true;
            timer.schedule(this::resend, 100, TimeUnit.MILLISECONDS);
        }
    }

    private synchronized void resend() {
        resendScheduled = false;
        final long now = System.nanoTime();
        for (final Map.Entry<Long, LeaseState> lease : leases.entrySet()) {
            if (lease.getValue().inFlight) {
                lease.getValue().sentNanos = now;
                send(lease.getKey());
            }
        }
    }

    private synchronized void forgetIdle() {
        final long now = System.nanoTime();
        final Iterator<LeaseState> all = leases.values().iterator();
        while (all.hasNext()) {
            final LeaseState lease = all.next();
            if (!lease.inFlight && lease.waiting.isEmpty() && now - lease.lastNanos > FORGET_NANOS) {
                all.remove();
            }
        }
    }

    /** Ends the upstream stream (the proxy is stopping). */
    synchronized void close() {
        if (requests != null) {
            try {
                requests.onCompleted();
            } catch (final RuntimeException ex) {
                // Already over.
            }
            requests = null;
        }
    }

    /** For the metrics: leases with keep-alives through the proxy now. */
    synchronized int leases() {
        return leases.size();
    }
}
