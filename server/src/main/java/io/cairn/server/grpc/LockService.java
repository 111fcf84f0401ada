package io.cairn.server.grpc;

import io.cairn.server.node.EtcdStatus;
import io.etcd.jetcd.api.lock.LockGrpc;
import io.etcd.jetcd.api.lock.LockRequest;
import io.etcd.jetcd.api.lock.LockResponse;
import io.etcd.jetcd.api.lock.UnlockRequest;
import io.etcd.jetcd.api.lock.UnlockResponse;
import io.grpc.Channel;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * etcd's {@code v3lockpb.Lock}: a lock is the key {@code <name>/<lease in hex>} under the caller's lease; Lock returns
 * once every key under the name created before it is gone (its holder unlocked, or its lease expired), with the key
 * to unlock with. A caller that goes away while waiting has its key deleted, as etcd's server does.
 */
public final class LockService extends LockGrpc.LockImplBase {
    private final Channel channel;

    /**
     * @param channel the member's own services, in process (so auth, validation and forwarding apply).
     */
    public LockService(final Channel channel) {
        this.channel = channel;
    }

    @Override
    public void lock(final LockRequest request, final StreamObserver<LockResponse> observer) {
        final KeyQueue queue = new KeyQueue(channel, KeyQueue.callerToken());
        final AtomicBoolean cancelled = new AtomicBoolean();
        if (observer instanceof ServerCallStreamObserver<LockResponse> call) {
            call.setOnCancelHandler(() -> cancelled.set(true));
        }
        final com.google.protobuf.ByteString prefix = KeyQueue.prefix(request.getName());
        final com.google.protobuf.ByteString key = KeyQueue.keyOf(request.getName(), request.getLease());
        queue.enter(prefix, key, request.getLease(), com.google.protobuf.ByteString.EMPTY).thenCompose(entry ->
            entry.first() ? java.util.concurrent.CompletableFuture.completedFuture(entry.header())
                : queue.awaitPredecessors(prefix, entry.createRevision(), cancelled::get)
                    .whenComplete((header, error) -> {
                        if (error != null) {
                            queue.deleteIfCreatedAt(key, entry.createRevision()); // gave up waiting: let go
                        }
                    }))
            .whenComplete((header, error) -> {
                if (error != null) {
                    observer.onError(EtcdStatus.of(error));
                } else if (!cancelled.get()) {
                    observer.onNext(LockResponse.newBuilder().setHeader(header).setKey(key).build());
                    observer.onCompleted();
                }
            });
    }

    @Override
    public void unlock(final UnlockRequest request, final StreamObserver<UnlockResponse> observer) {
        new KeyQueue(channel, KeyQueue.callerToken()).deleteIfCreatedAt(request.getKey(), 0)
            .whenComplete((response, error) -> {
                if (error != null) {
                    observer.onError(EtcdStatus.of(error));
                } else {
                    observer.onNext(UnlockResponse.newBuilder().setHeader(response.getHeader()).build());
                    observer.onCompleted();
                }
            });
    }
}
