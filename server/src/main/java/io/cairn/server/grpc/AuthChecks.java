package io.cairn.server.grpc;

import io.cairn.server.auth.AuthStore;
import io.cairn.server.node.Node;
import io.etcd.jetcd.api.Compare;
import io.etcd.jetcd.api.DeleteRangeRequest;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.RequestOp;
import io.etcd.jetcd.api.TxnRequest;

import java.util.ArrayList;
import java.util.List;

/**
 * etcd 3.4's permission checks of KV requests ({@code checkPutAuth}, {@code checkTxnAuth}): a range reads its range;
 * a put writes its key, reads it too with {@code prev_kv}, and with a lease needs write on every key already attached
 * (or root); a delete writes its range and reads it with {@code prev_kv}; a txn reads every compare's range and is
 * checked for every op of both branches, nested txns included, whatever the compares will decide.
 */
final class AuthChecks {
    private static final byte[] NONE = new byte[0];

    private AuthChecks() {
    }

    static void range(final AuthStore auth, final AuthStore.Caller caller, final RangeRequest request) {
        auth.checkRead(caller, request.getKey().toByteArray(), request.getRangeEnd().toByteArray());
    }

    static void put(final AuthStore auth, final Node node, final AuthStore.Caller caller, final PutRequest request) {
        final byte[] key = request.getKey().toByteArray();
        auth.checkWrite(caller, key, NONE);
        if (request.getLease() != 0 && !auth.isAdmin(caller)) {
            final List<byte[]> attached = new ArrayList<>();
            node.read(reader -> reader.leaseKeys(request.getLease(), (buffer, offset, length) -> {
                final byte[] copy = new byte[length];
                buffer.getBytes(offset, copy);
                attached.add(copy);
            }));
            for (final byte[] other : attached) {
                auth.checkWrite(caller, other, NONE);
            }
        }
        if (request.getPrevKv()) {
            auth.checkRead(caller, key, NONE);
        }
    }

    static void delete(final AuthStore auth, final AuthStore.Caller caller, final DeleteRangeRequest request) {
        final byte[] key = request.getKey().toByteArray();
        final byte[] end = request.getRangeEnd().toByteArray();
        if (request.getPrevKv()) {
            auth.checkRead(caller, key, end);
        }
        auth.checkWrite(caller, key, end);
    }

    static void txn(final AuthStore auth, final Node node, final AuthStore.Caller caller, final TxnRequest request) {
        for (final Compare compare : request.getCompareList()) {
            auth.checkRead(caller, compare.getKey().toByteArray(), compare.getRangeEnd().toByteArray());
        }
        ops(auth, node, caller, request.getSuccessList());
        ops(auth, node, caller, request.getFailureList());
    }

    private static void ops(final AuthStore auth, final Node node, final AuthStore.Caller caller,
        final List<RequestOp> ops) {
        for (final RequestOp op : ops) {
            switch (op.getRequestCase()) {
                case REQUEST_RANGE -> range(auth, caller, op.getRequestRange());
                case REQUEST_PUT -> put(auth, node, caller, op.getRequestPut());
                case REQUEST_DELETE_RANGE -> delete(auth, caller, op.getRequestDeleteRange());
                case REQUEST_TXN -> txn(auth, node, caller, op.getRequestTxn());
                default -> {
                }
            }
        }
    }
}
