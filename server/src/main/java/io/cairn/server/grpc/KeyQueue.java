package io.cairn.server.grpc;

import com.google.protobuf.ByteString;
import io.cairn.server.auth.AuthStore;
import io.etcd.jetcd.api.Compare;
import io.etcd.jetcd.api.DeleteRangeRequest;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.KeyValue;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.RangeResponse;
import io.etcd.jetcd.api.RequestOp;
import io.etcd.jetcd.api.ResponseHeader;
import io.etcd.jetcd.api.TxnRequest;
import io.etcd.jetcd.api.TxnResponse;
import io.etcd.jetcd.api.WatchCreateRequest;
import io.etcd.jetcd.api.WatchGrpc;
import io.etcd.jetcd.api.WatchRequest;
import io.etcd.jetcd.api.WatchResponse;
import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.Metadata;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;

import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;

/**
 * etcd's recipe for locks and elections ({@code concurrency.Mutex}, {@code concurrency.Election}), built on the
 * member's own KV and Watch services in process, with the caller's token: each contender puts a key
 * {@code <name>/<lease in hex>} under its lease (or finds the one it put before), and the contender whose key was
 * created first holds the lock or leads; the others wait, each for the deletion of the last key created before its own
 * (not for every change under the name), so a release wakes exactly the next in line. A holder whose lease expires
 * loses its key, and so its place. Asynchronous throughout: a waiting contender holds no thread.
 */
final class KeyQueue {
    private final KVGrpc.KVFutureStub kv;
    private final WatchGrpc.WatchStub watch;

    /** Where a contender stands once its key exists. */
    record Entry(ByteString key, long createRevision, KeyValue existing, ResponseHeader header, boolean first) {
    }

    /**
     * @param channel the member's own services, in process.
     * @param token   the caller's token (null: none), passed on so the caller's permissions apply.
     */
    KeyQueue(final Channel channel, final String token) {
        Channel credited = channel;
        if (token != null) {
            final Metadata headers = new Metadata();
            headers.put(Metadata.Key.of("token", Metadata.ASCII_STRING_MARSHALLER), token);
            credited = ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(headers));
        }
        this.kv = KVGrpc.newFutureStub(credited);
        this.watch = WatchGrpc.newStub(credited);
    }

    /** @return the caller's token in the current call, for {@link #KeyQueue}. */
    static String callerToken() {
        return AuthStore.TOKEN.get();
    }

    static ByteString prefix(final ByteString name) {
        return name.concat(ByteString.copyFromUtf8("/"));
    }

    static ByteString keyOf(final ByteString name, final long lease) {
        return prefix(name).concat(ByteString.copyFromUtf8(Long.toHexString(lease)));
    }

    /** The first key past every key that starts with {@code prefix} (etcd's GetPrefixRangeEnd). */
    static ByteString prefixEnd(final ByteString prefix) {
        final byte[] end = prefix.toByteArray();
        for (int i = end.length - 1; i >= 0; i--) {
            if (end[i] != (byte)0xFF) {
                end[i]++;
                return ByteString.copyFrom(end, 0, i + 1);
            }
        }
        return ByteString.copyFrom(new byte[] {0});
    }

    /** The key created first under a prefix (the holder, the leader). */
    static RangeRequest firstCreated(final ByteString prefix) {
        return RangeRequest.newBuilder().setKey(prefix).setRangeEnd(prefixEnd(prefix)).setLimit(1)
            .setSortTarget(RangeRequest.SortTarget.CREATE).setSortOrder(RangeRequest.SortOrder.ASCEND).build();
    }

    /**
     * Puts {@code key} with {@code value} under {@code lease} unless it exists; either way learns its creation
     * revision and whether it is the first under the prefix.
     */
    CompletableFuture<Entry> enter(final ByteString prefix, final ByteString key, final long lease,
        final ByteString value) {
        final TxnRequest txn = TxnRequest.newBuilder()
            .addCompare(Compare.newBuilder().setKey(key).setTarget(Compare.CompareTarget.CREATE)
                .setResult(Compare.CompareResult.EQUAL).setCreateRevision(0))
            .addSuccess(RequestOp.newBuilder().setRequestPut(PutRequest.newBuilder().setKey(key).setValue(value)
                .setLease(lease)))
            .addSuccess(RequestOp.newBuilder().setRequestRange(firstCreated(prefix)))
            .addFailure(RequestOp.newBuilder().setRequestRange(RangeRequest.newBuilder().setKey(key)))
            .addFailure(RequestOp.newBuilder().setRequestRange(firstCreated(prefix))).build();
        return Futures.of(kv.txn(txn)).thenApply((TxnResponse response) -> {
            final long created;
            final KeyValue existing;
            if (response.getSucceeded()) {
                created = response.getHeader().getRevision();
                existing = null;
            } else {
                existing = response.getResponses(0).getResponseRange().getKvs(0);
                created = existing.getCreateRevision();
            }
            final RangeResponse owner = response.getResponses(1).getResponseRange();
            final boolean first = owner.getKvsCount() > 0 && owner.getKvs(0).getCreateRevision() == created;
            return new Entry(key, created, existing, response.getHeader(), first);
        });
    }

    /**
     * Waits until no key under {@code prefix} created before {@code revision} is left (etcd's waitDeletes): each time,
     * the last one created before it, watched until it is deleted.
     *
     * @param cancelled true once the caller has gone (then the wait ends exceptionally).
     * @return the header of the last read that found none.
     */
    CompletableFuture<ResponseHeader> awaitPredecessors(final ByteString prefix, final long revision,
        final BooleanSupplier cancelled) {
        final RangeRequest last = RangeRequest.newBuilder().setKey(prefix).setRangeEnd(prefixEnd(prefix)).setLimit(1)
            .setMaxCreateRevision(revision - 1).setSortTarget(RangeRequest.SortTarget.CREATE)
            .setSortOrder(RangeRequest.SortOrder.DESCEND).build();
        return Futures.of(kv.range(last)).thenCompose(response -> {
            if (cancelled.getAsBoolean()) {
                return CompletableFuture.failedFuture(io.grpc.Status.CANCELLED.withDescription("context canceled")
                    .asRuntimeException());
            }
            if (response.getKvsCount() == 0) {
                return CompletableFuture.completedFuture(response.getHeader());
            }
            return deleted(response.getKvs(0).getKey(), response.getHeader().getRevision() + 1, cancelled)
                .thenCompose(gone -> awaitPredecessors(prefix, revision, cancelled));
        });
    }

    /** Completes once {@code key} is deleted at or after {@code fromRevision}. */
    CompletableFuture<Void> deleted(final ByteString key, final long fromRevision, final BooleanSupplier cancelled) {
        final CompletableFuture<Void> done = new CompletableFuture<>();
        final java.util.concurrent.atomic.AtomicReference<StreamObserver<WatchRequest>> requests =
            new java.util.concurrent.atomic.AtomicReference<>();
        requests.set(watch.watch(new StreamObserver<>() {
            @Override
            public void onNext(final WatchResponse response) {
                final boolean gone = response.getEventsList().stream()
                    .anyMatch(event -> event.getType() == io.etcd.jetcd.api.Event.EventType.DELETE);
                if (gone || response.getCanceled() || cancelled.getAsBoolean()) {
                    if (response.getCanceled() && !gone) {
                        done.completeExceptionally(io.grpc.Status.UNAVAILABLE.withDescription(
                            response.getCancelReason()).asRuntimeException());
                    } else {
                        done.complete(null);
                    }
                    requests.get().onCompleted();
                }
            }

            @Override
            public void onError(final Throwable error) {
                done.completeExceptionally(error);
            }

            @Override
            public void onCompleted() {
                done.complete(null);
            }
        }));
        requests.get().onNext(WatchRequest.newBuilder().setCreateRequest(WatchCreateRequest.newBuilder().setKey(key)
            .setStartRevision(fromRevision).addFilters(WatchCreateRequest.FilterType.NOPUT)).build());
        return done;
    }

    /** Reads the current holder (first created) under a prefix. */
    CompletableFuture<RangeResponse> holder(final ByteString prefix) {
        return Futures.of(kv.range(firstCreated(prefix)));
    }

    /** Puts {@code value} on the key only while it is still the one created at {@code revision}. */
    CompletableFuture<TxnResponse> putIfCreatedAt(final ByteString key, final long revision, final long lease,
        final ByteString value) {
        return Futures.of(kv.txn(TxnRequest.newBuilder()
            .addCompare(Compare.newBuilder().setKey(key).setTarget(Compare.CompareTarget.CREATE)
                .setResult(Compare.CompareResult.EQUAL).setCreateRevision(revision))
            .addSuccess(RequestOp.newBuilder().setRequestPut(PutRequest.newBuilder().setKey(key).setValue(value)
                .setLease(lease))).build()));
    }

    /** Deletes the key only while it is still the one created at {@code revision} (0: whatever it is). */
    CompletableFuture<TxnResponse> deleteIfCreatedAt(final ByteString key, final long revision) {
        final TxnRequest.Builder txn = TxnRequest.newBuilder()
            .addSuccess(RequestOp.newBuilder().setRequestDeleteRange(DeleteRangeRequest.newBuilder().setKey(key)));
        if (revision > 0) {
            txn.addCompare(Compare.newBuilder().setKey(key).setTarget(Compare.CompareTarget.CREATE)
                .setResult(Compare.CompareResult.EQUAL).setCreateRevision(revision));
        }
        return Futures.of(kv.txn(txn.build()));
    }

    /** Watches the keys under a prefix from a revision; for Observe. */
    StreamObserver<WatchRequest> watch(final ByteString key, final ByteString end, final long fromRevision,
        final StreamObserver<WatchResponse> events) {
        final StreamObserver<WatchRequest> requests = watch.watch(events);
        requests.onNext(WatchRequest.newBuilder().setCreateRequest(WatchCreateRequest.newBuilder().setKey(key)
            .setRangeEnd(end).setStartRevision(fromRevision)).build());
        return requests;
    }

    /** ListenableFuture → CompletableFuture. */
    static final class Futures {
        private Futures() {
        }

        static <T> CompletableFuture<T> of(final com.google.common.util.concurrent.ListenableFuture<T> future) {
            final CompletableFuture<T> done = new CompletableFuture<>();
            com.google.common.util.concurrent.Futures.addCallback(future,
                new com.google.common.util.concurrent.FutureCallback<T>() {
                    @Override
                    public void onSuccess(final T result) {
                        done.complete(result);
                    }

                    @Override
                    public void onFailure(final Throwable error) {
                        done.completeExceptionally(error);
                    }
                }, Runnable::run);
            return done;
        }
    }
}
