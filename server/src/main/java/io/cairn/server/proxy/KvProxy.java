package io.cairn.server.proxy;

import io.etcd.jetcd.api.CompactionRequest;
import io.etcd.jetcd.api.CompactionResponse;
import io.etcd.jetcd.api.DeleteRangeRequest;
import io.etcd.jetcd.api.DeleteRangeResponse;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.PutResponse;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.RangeResponse;
import io.etcd.jetcd.api.RequestOp;
import io.etcd.jetcd.api.TxnRequest;
import io.etcd.jetcd.api.TxnResponse;
import io.grpc.Channel;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;

import java.util.function.Function;

/**
 * etcd's KV through the proxy: serializable ranges answered from the {@link RangeCache} when it can, every other call
 * relayed (linearizable ranges always), the answers kept for later serializable ranges, and writes through the proxy
 * dropping the kept answers they touch — before they are sent and again when they are answered. Keys are mapped by
 * the {@link Namespace}.
 */
final class KvProxy extends KVGrpc.KVImplBase {
    private final Channel upstream;
    private final Namespace namespace;
    private final RangeCache cache;
    private final LeaderRouter leader;

    /**
     * @param upstream  the cluster, with the caller's headers.
     * @param namespace the proxy's namespace.
     * @param cache     the range cache.
     * @param leader    where writes go.
     */
    KvProxy(final Channel upstream, final Namespace namespace, final RangeCache cache, final LeaderRouter leader) {
        this.upstream = upstream;
        this.namespace = namespace;
        this.cache = cache;
        this.leader = leader;
    }

    private KVGrpc.KVStub stub() {
        return stub(upstream);
    }

    private static KVGrpc.KVStub stub(final Channel channel) {
        final Deadline deadline = Context.current().getDeadline();
        final KVGrpc.KVStub stub = KVGrpc.newStub(channel);
        return deadline == null ? stub : stub.withDeadline(deadline);
    }

    /** A write, sent to the leader; an UNAVAILABLE answer makes the router look for the leader again. */
    private void write(final java.util.function.BiConsumer<KVGrpc.KVStub, Runnable> call) {
        leader.whenLeader(channel -> call.accept(stub(channel), leader::suspect));
    }

    /** Tells the router when an answer says the member it went to is unavailable. */
    private static <A> StreamObserver<A> suspecting(final StreamObserver<A> observer, final Runnable suspect) {
        return new StreamObserver<>() {
            @Override
            public void onNext(final A answer) {
                observer.onNext(answer);
            }

            @Override
            public void onError(final Throwable error) {
                if (io.grpc.Status.fromThrowable(error).getCode() == io.grpc.Status.Code.UNAVAILABLE) {
                    suspect.run();
                }
                observer.onError(error);
            }

            @Override
            public void onCompleted() {
                observer.onCompleted();
            }
        };
    }

    @Override
    public void range(final RangeRequest request, final StreamObserver<RangeResponse> observer) {
        final RangeRequest mapped;
        try {
            mapped = namespace.range(request);
        } catch (final StatusRuntimeException ex) {
            observer.onError(ex);
            return;
        }
        final String token = Upstream.callerToken();
        if (mapped.getSerializable()) {
            final RangeResponse kept = cache.get(token, mapped);
            if (kept != null) {
                observer.onNext(namespace.strip(kept));
                observer.onCompleted();
                return;
            }
        }
        final long generation = cache.generation();
        stub().range(mapped, relay(observer, response -> {
            cache.put(token, mapped, response, generation);
            return namespace.strip(response);
        }, null));
    }

    @Override
    public void put(final PutRequest request, final StreamObserver<PutResponse> observer) {
        final PutRequest mapped;
        try {
            mapped = namespace.put(request);
        } catch (final StatusRuntimeException ex) {
            observer.onError(ex);
            return;
        }
        final Runnable touched = () -> cache.invalidate(mapped.getKey(), com.google.protobuf.ByteString.EMPTY);
        touched.run();
        write((kv, suspect) -> kv.put(mapped, suspecting(relay(observer, namespace::strip, touched), suspect)));
    }

    @Override
    public void deleteRange(final DeleteRangeRequest request, final StreamObserver<DeleteRangeResponse> observer) {
        final DeleteRangeRequest mapped;
        try {
            mapped = namespace.deleteRange(request);
        } catch (final StatusRuntimeException ex) {
            observer.onError(ex);
            return;
        }
        final Runnable touched = () -> cache.invalidate(mapped.getKey(), mapped.getRangeEnd());
        touched.run();
        write((kv, suspect) -> kv.deleteRange(mapped, suspecting(relay(observer, namespace::strip, touched),
            suspect)));
    }

    @Override
    public void txn(final TxnRequest request, final StreamObserver<TxnResponse> observer) {
        final TxnRequest mapped;
        try {
            mapped = namespace.txn(request);
        } catch (final StatusRuntimeException ex) {
            observer.onError(ex);
            return;
        }
        final Runnable touched = () -> invalidate(mapped);
        touched.run();
        write((kv, suspect) -> kv.txn(mapped, suspecting(relay(observer, namespace::strip, touched), suspect)));
    }

    private void invalidate(final TxnRequest txn) {
        for (final java.util.List<RequestOp> ops : java.util.List.of(txn.getSuccessList(), txn.getFailureList())) {
            for (final RequestOp op : ops) {
                switch (op.getRequestCase()) {
                    case REQUEST_PUT -> cache.invalidate(op.getRequestPut().getKey(),
                        com.google.protobuf.ByteString.EMPTY);
                    case REQUEST_DELETE_RANGE -> cache.invalidate(op.getRequestDeleteRange().getKey(),
                        op.getRequestDeleteRange().getRangeEnd());
                    case REQUEST_TXN -> invalidate(op.getRequestTxn());
                    default -> {
                    }
                }
            }
        }
    }

    @Override
    public void compact(final CompactionRequest request, final StreamObserver<CompactionResponse> observer) {
        write((kv, suspect) -> kv.compact(request, suspecting(relay(observer, response -> {
            cache.compact(request.getRevision());
            return response;
        }, null), suspect)));
    }

    /** The cluster's answer (mapped) or its error, to the caller; {@code after} runs once either has come. */
    static <A, R> StreamObserver<A> relay(final StreamObserver<R> caller, final Function<A, R> map,
        final Runnable after) {
        return new StreamObserver<>() {
            @Override
            public void onNext(final A answer) {
                if (after != null) {
                    after.run();
                }
                caller.onNext(map.apply(answer));
            }

            @Override
            public void onError(final Throwable error) {
                if (after != null) {
                    after.run();
                }
                caller.onError(error);
            }

            @Override
            public void onCompleted() {
                caller.onCompleted();
            }
        };
    }
}
