package io.cairn.server.grpc;

import com.google.protobuf.ByteString;
import io.cairn.server.node.EtcdStatus;
import io.etcd.jetcd.api.CampaignRequest;
import io.etcd.jetcd.api.CampaignResponse;
import io.etcd.jetcd.api.ElectionGrpc;
import io.etcd.jetcd.api.Event;
import io.etcd.jetcd.api.KeyValue;
import io.etcd.jetcd.api.LeaderKey;
import io.etcd.jetcd.api.LeaderRequest;
import io.etcd.jetcd.api.LeaderResponse;
import io.etcd.jetcd.api.ProclaimRequest;
import io.etcd.jetcd.api.ProclaimResponse;
import io.etcd.jetcd.api.ResignRequest;
import io.etcd.jetcd.api.ResignResponse;
import io.etcd.jetcd.api.WatchRequest;
import io.etcd.jetcd.api.WatchResponse;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * etcd's {@code v3electionpb.Election}: a candidate's key is {@code <name>/<lease in hex>} holding its value under its
 * lease; the candidate whose key was created first leads. Campaign returns once every earlier candidate's key is gone;
 * Proclaim changes the leader's value while it still leads; Leader reads the leader; Observe streams the leader each
 * time it or its value changes; Resign deletes the leader's key. etcd's errors: "election: not leader", "election: no
 * leader" (gRPC Unknown, as etcd answers them).
 */
public final class ElectionService extends ElectionGrpc.ElectionImplBase {
    private final Channel channel;

    /**
     * @param channel the member's own services, in process.
     */
    public ElectionService(final Channel channel) {
        this.channel = channel;
    }

    private static AtomicBoolean cancellation(final StreamObserver<?> observer) {
        final AtomicBoolean cancelled = new AtomicBoolean();
        if (observer instanceof ServerCallStreamObserver<?> call) {
            call.setOnCancelHandler(() -> cancelled.set(true));
        }
        return cancelled;
    }

    private static <T> void answer(final StreamObserver<T> observer, final CompletableFuture<T> result) {
        result.whenComplete((response, error) -> {
            if (error != null) {
                observer.onError(EtcdStatus.of(error));
            } else {
                observer.onNext(response);
                observer.onCompleted();
            }
        });
    }

    @Override
    public void campaign(final CampaignRequest request, final StreamObserver<CampaignResponse> observer) {
        final KeyQueue queue = new KeyQueue(channel, KeyQueue.callerToken());
        final AtomicBoolean cancelled = cancellation(observer);
        final ByteString prefix = KeyQueue.prefix(request.getName());
        final ByteString key = KeyQueue.keyOf(request.getName(), request.getLease());
        answer(observer, queue.enter(prefix, key, request.getLease(), request.getValue()).thenCompose(entry -> {
            // Campaigning again with another value proclaims it (etcd's Campaign).
            final CompletableFuture<?> value = entry.existing() != null
                && !entry.existing().getValue().equals(request.getValue())
                ? queue.putIfCreatedAt(key, entry.createRevision(), request.getLease(), request.getValue())
                : CompletableFuture.completedFuture(null);
            return value.thenCompose(ignored -> queue.awaitPredecessors(prefix, entry.createRevision(),
                cancelled::get)).whenComplete((header, error) -> {
                    if (error != null) {
                        queue.deleteIfCreatedAt(key, entry.createRevision());
                    }
                }).thenApply(header -> CampaignResponse.newBuilder().setHeader(header).setLeader(LeaderKey
                    .newBuilder().setName(request.getName()).setKey(key).setRev(entry.createRevision())
                    .setLease(request.getLease())).build());
        }));
    }

    @Override
    public void proclaim(final ProclaimRequest request, final StreamObserver<ProclaimResponse> observer) {
        final LeaderKey leader = request.getLeader();
        answer(observer, new KeyQueue(channel, KeyQueue.callerToken()).putIfCreatedAt(leader.getKey(),
            leader.getRev(), leader.getLease(), request.getValue()).thenApply(response -> {
                if (!response.getSucceeded()) {
                    throw Status.UNKNOWN.withDescription("election: not leader").asRuntimeException();
                }
                return ProclaimResponse.newBuilder().setHeader(response.getHeader()).build();
            }));
    }

    @Override
    public void leader(final LeaderRequest request, final StreamObserver<LeaderResponse> observer) {
        answer(observer, new KeyQueue(channel, KeyQueue.callerToken()).holder(KeyQueue.prefix(request.getName()))
            .thenApply(range -> {
                if (range.getKvsCount() == 0) {
                    throw Status.UNKNOWN.withDescription("election: no leader").asRuntimeException();
                }
                return LeaderResponse.newBuilder().setHeader(range.getHeader()).setKv(range.getKvs(0)).build();
            }));
    }

    @Override
    public void resign(final ResignRequest request, final StreamObserver<ResignResponse> observer) {
        final LeaderKey leader = request.getLeader();
        answer(observer, new KeyQueue(channel, KeyQueue.callerToken()).deleteIfCreatedAt(leader.getKey(),
            leader.getRev()).thenApply(response -> ResignResponse.newBuilder().setHeader(response.getHeader())
            .build()));
    }

    @Override
    public void observe(final LeaderRequest request, final StreamObserver<LeaderResponse> observer) {
        new Observer(new KeyQueue(channel, KeyQueue.callerToken()), KeyQueue.prefix(request.getName()), observer)
            .start();
    }

    /**
     * Streams the leader: reads who leads (first created), sends it, then follows every change under the name; a
     * change to the leader's key sends its new value, its deletion (or a new first key) sends the next leader.
     */
    private static final class Observer implements StreamObserver<WatchResponse> {
        private final KeyQueue queue;
        private final ByteString prefix;
        private final StreamObserver<LeaderResponse> out;
        private final AtomicBoolean cancelled;
        private StreamObserver<WatchRequest> watch;
        private KeyValue current;

        Observer(final KeyQueue queue, final ByteString prefix, final StreamObserver<LeaderResponse> out) {
            this.queue = queue;
            this.prefix = prefix;
            this.out = out;
            this.cancelled = cancellation(out);
            if (out instanceof ServerCallStreamObserver<LeaderResponse> call) {
                call.setOnCancelHandler(this::stop);
            }
        }

        void start() {
            queue.holder(prefix).whenComplete((range, error) -> {
                if (error != null) {
                    out.onError(EtcdStatus.of(error));
                    return;
                }
                synchronized (this) {
                    if (range.getKvsCount() > 0) {
                        send(range.getHeader(), range.getKvs(0));
                    }
                    watch = queue.watch(prefix, KeyQueue.prefixEnd(prefix), range.getHeader().getRevision() + 1,
                        this);
                }
            });
        }

        private void send(final io.etcd.jetcd.api.ResponseHeader header, final KeyValue leader) {
            current = leader;
            out.onNext(LeaderResponse.newBuilder().setHeader(header).setKv(leader).build());
        }

        @Override
        public synchronized void onNext(final WatchResponse response) {
            if (cancelled.get()) {
                return;
            }
            boolean leaderGone = false;
            for (final Event event : response.getEventsList()) {
                final KeyValue kv = event.getKv();
                if (current != null && kv.getKey().equals(current.getKey())) {
                    if (event.getType() == Event.EventType.DELETE) {
                        leaderGone = true;
                        current = null;
                    } else if (!leaderGone) {
                        send(response.getHeader(), kv); // the leader proclaimed a new value
                    }
                } else if (current == null && event.getType() == Event.EventType.PUT && !leaderGone) {
                    send(response.getHeader(), kv); // the first candidate while nobody led
                }
            }
            if (leaderGone) {
                // The next leader is the first created of those left: read it (it may have been there all along).
                queue.holder(prefix).whenComplete((range, error) -> {
                    synchronized (this) {
                        if (error == null && range.getKvsCount() > 0 && current == null) {
                            send(range.getHeader(), range.getKvs(0));
                        }
                    }
                });
            }
        }

        @Override
        public void onError(final Throwable error) {
            if (!cancelled.get()) {
                out.onError(EtcdStatus.of(error));
            }
        }

        @Override
        public void onCompleted() {
            if (!cancelled.get()) {
                out.onCompleted();
            }
        }

        private synchronized void stop() {
            cancelled.set(true);
            if (watch != null) {
                watch.onCompleted();
            }
        }
    }
}
