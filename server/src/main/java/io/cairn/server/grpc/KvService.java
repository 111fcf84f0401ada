package io.cairn.server.grpc;

import io.cairn.engine.mvcc.AuthCommands;
import io.cairn.engine.mvcc.MvccError;
import io.cairn.engine.mvcc.MvccResponse;
import io.cairn.server.auth.AuthStore;
import io.cairn.server.node.EtcdStatus;
import io.cairn.server.node.Node;
import io.etcd.jetcd.api.CompactionRequest;
import io.etcd.jetcd.api.CompactionResponse;
import io.etcd.jetcd.api.DeleteRangeRequest;
import io.etcd.jetcd.api.DeleteRangeResponse;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.PutResponse;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.RangeResponse;
import io.etcd.jetcd.api.TxnRequest;
import io.etcd.jetcd.api.TxnResponse;
import io.grpc.stub.StreamObserver;
import org.agrona.DirectBuffer;
import org.agrona.ExpandableDirectByteBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.util.function.Function;

/**
 * etcd's KV service. Put, DeleteRange, Txn and Compact are validated here and proposed; Range is linearizable by
 * default (a ReadIndex round, then the local keyspace) and local at once when {@code serializable}.
 */
public final class KvService extends KVGrpc.KVImplBase {
    private static final ThreadLocal<EtcdCommands> COMMANDS = ThreadLocal.withInitial(EtcdCommands::new);
    private static final ThreadLocal<EtcdAnswers> ANSWERS = ThreadLocal.withInitial(EtcdAnswers::new);
    private static final ThreadLocal<ExpandableDirectByteBuffer> RESPONSES =
        ThreadLocal.withInitial(() -> new ExpandableDirectByteBuffer(64 * 1024));

    private static final ThreadLocal<ExpandableDirectByteBuffer> AUTHED =
        ThreadLocal.withInitial(() -> new ExpandableDirectByteBuffer(1024));

    private final Node node;
    private final AuthStore auth;

    /**
     * @param node the member it serves.
     * @param auth its authentication state: every request is checked against the caller's permissions (nothing is
     *             when authentication is disabled).
     */
    public KvService(final Node node, final AuthStore auth) {
        this.node = node;
        this.auth = auth;
    }

    /** The caller, checked by {@code check} (null: authentication disabled); refused through the observer. */
    private AuthStore.Caller permitted(final java.util.function.Consumer<AuthStore.Caller> check,
        final StreamObserver<?> observer) {
        try {
            final AuthStore.Caller caller = auth.caller();
            if (caller != null) {
                check.accept(caller);
            }
            return caller;
        } catch (final io.grpc.StatusRuntimeException ex) {
            observer.onError(ex);
            return DENIED;
        }
    }

    private static final AuthStore.Caller DENIED = new AuthStore.Caller("", -1);

    private boolean refused(final int status, final EtcdCommands commands, final StreamObserver<?> observer) {
        final int verdict = status != MvccError.OK ? status : node.validate(commands.buffer(), commands.length());
        if (verdict != MvccError.OK) {
            observer.onError(EtcdStatus.exception(verdict));
            return true;
        }
        return false;
    }

    @Override
    public void range(final RangeRequest request, final StreamObserver<RangeResponse> observer) {
        if (permitted(caller -> AuthChecks.range(auth, caller, request), observer) == DENIED) {
            return;
        }
        final EtcdCommands commands = COMMANDS.get();
        if (refused(commands.range(request), commands, observer)) {
            return;
        }
        final byte[] command = new byte[commands.length()];
        commands.buffer().getBytes(0, command);
        if (request.getSerializable()) {
            answerRange(command, observer);
            return;
        }
        node.readBarrier().whenCompleteAsync((index, error) -> {
            if (error != null) {
                observer.onError(EtcdStatus.of(error));
            } else {
                answerRange(command, observer);
            }
        }, node.executor());
    }

    private void answerRange(final byte[] command, final StreamObserver<RangeResponse> observer) {
        final RangeResponse response;
        try {
            response = node.read(reader -> {
                final ExpandableDirectByteBuffer buffer = RESPONSES.get();
                reader.rangeInto(new UnsafeBuffer(command), 0, buffer, 0);
                final int status = MvccResponse.status(buffer, 0);
                if (status != MvccError.OK) {
                    throw EtcdStatus.exception(status);
                }
                return ANSWERS.get().range(node.header(0), buffer, 0);
            });
        } catch (final RuntimeException ex) {
            observer.onError(EtcdStatus.of(ex));
            return;
        }
        observer.onNext(response);
        observer.onCompleted();
    }

    // The thread's commands hold the request just encoded (its encoder's status given): validate, then propose;
    // a caller's write goes in an AUTHED envelope, applied only while the auth state is the one it was checked in.
    private <R> void propose(final AuthStore.Caller caller, final int encoded, final Function<DirectBuffer, R> decode,
        final StreamObserver<R> observer) {
        final EtcdCommands commands = COMMANDS.get();
        if (refused(encoded, commands, observer)) {
            return;
        }
        if (caller == null) {
            node.write(commands.buffer(), commands.length(), decode, observer);
            return;
        }
        final ExpandableDirectByteBuffer wrapped = AUTHED.get();
        wrapped.checkLimit(commands.length() + AuthCommands.AUTHED_OVERHEAD);
        final int length = AuthCommands.authed(wrapped, caller.revision(), commands.buffer(), 0, commands.length());
        node.write(wrapped, length, decode, observer);
    }

    @Override
    public void put(final PutRequest request, final StreamObserver<PutResponse> observer) {
        final AuthStore.Caller caller = permitted(c -> AuthChecks.put(auth, node, c, request), observer);
        if (caller != DENIED) {
            propose(caller, COMMANDS.get().put(request),
                response -> ANSWERS.get().put(node.header(0), response, 0), observer);
        }
    }

    @Override
    public void deleteRange(final DeleteRangeRequest request, final StreamObserver<DeleteRangeResponse> observer) {
        final AuthStore.Caller caller = permitted(c -> AuthChecks.delete(auth, c, request), observer);
        if (caller != DENIED) {
            propose(caller, COMMANDS.get().deleteRange(request),
                response -> ANSWERS.get().deleteRange(node.header(0), response, 0), observer);
        }
    }

    @Override
    public void txn(final TxnRequest request, final StreamObserver<TxnResponse> observer) {
        final AuthStore.Caller caller = permitted(c -> AuthChecks.txn(auth, node, c, request), observer);
        if (caller != DENIED) {
            propose(caller, COMMANDS.get().txn(request),
                response -> ANSWERS.get().txn(node.header(0), response, 0), observer);
        }
    }

    @Override
    public void compact(final CompactionRequest request, final StreamObserver<CompactionResponse> observer) {
        final AuthStore.Caller caller = permitted(auth::checkAdmin, observer);
        if (caller != DENIED) {
            propose(caller, COMMANDS.get().compact(request.getRevision()), response -> CompactionResponse.newBuilder()
                .setHeader(node.header(MvccResponse.revision(response, 0))).build(), observer);
        }
    }
}
