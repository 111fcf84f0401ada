package io.cairn.server.proxy;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.Compare;
import io.etcd.jetcd.api.DeleteRangeRequest;
import io.etcd.jetcd.api.DeleteRangeResponse;
import io.etcd.jetcd.api.Event;
import io.etcd.jetcd.api.KeyValue;
import io.etcd.jetcd.api.LeaseTimeToLiveResponse;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.PutResponse;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.RangeResponse;
import io.etcd.jetcd.api.RequestOp;
import io.etcd.jetcd.api.ResponseOp;
import io.etcd.jetcd.api.TxnRequest;
import io.etcd.jetcd.api.TxnResponse;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;

/**
 * {@code --namespace}: every key a client names is the namespace's prefix plus that key, and every key the cluster
 * answers with loses the prefix again, so clients of the proxy see a keyspace of their own and cannot reach outside
 * it (etcd's {@code clientv3/namespace}, the same mapping). A range to the end of the keyspace ({@code range_end}
 * {@code "\0"}) ends at the end of the prefix; an empty key is refused as etcd refuses it (a prefixed empty key would
 * otherwise be the prefix itself). With no namespace every method returns its argument.
 */
final class Namespace {
    private static final ByteString EDGE = ByteString.copyFrom(new byte[] {0});
    private final ByteString prefix;
    private final ByteString prefixEnd;

    /**
     * @param prefix the namespace ("" for none).
     */
    Namespace(final String prefix) {
        this.prefix = ByteString.copyFromUtf8(prefix);
        this.prefixEnd = end(this.prefix);
    }

    private static ByteString end(final ByteString prefix) {
        final byte[] bytes = prefix.toByteArray();
        for (int i = bytes.length - 1; i >= 0; i--) {
            if (++bytes[i] != 0) {
                return ByteString.copyFrom(bytes, 0, i + 1);
            }
        }
        return EDGE; // all 0xff: to the end of the keyspace
    }

    /**
     * @return true when there is no namespace.
     */
    boolean none() {
        return prefix.isEmpty();
    }

    /**
     * @param key a client's key.
     * @return the cluster's.
     */
    ByteString key(final ByteString key) {
        return none() ? key : prefix.concat(key);
    }

    /**
     * @param rangeEnd a client's range end (empty: one key; {@code "\0"}: to the end).
     * @return the cluster's.
     */
    ByteString rangeEnd(final ByteString rangeEnd) {
        if (none() || rangeEnd.isEmpty()) {
            return rangeEnd;
        }
        return rangeEnd.equals(EDGE) ? prefixEnd : prefix.concat(rangeEnd);
    }

    /**
     * @param key a cluster's key, inside the namespace.
     * @return the client's.
     */
    ByteString strip(final ByteString key) {
        return none() ? key : key.substring(Math.min(prefix.size(), key.size()));
    }

    /**
     * @param key a cluster's key.
     * @return whether it is inside the namespace.
     */
    boolean contains(final ByteString key) {
        return key.startsWith(prefix);
    }

    private void checkKey(final ByteString key) {
        if (!none() && key.isEmpty()) {
            throw new StatusRuntimeException(Status.INVALID_ARGUMENT
                .withDescription("etcdserver: key is not provided"));
        }
    }

    RangeRequest range(final RangeRequest request) {
        if (none()) {
            return request;
        }
        checkKey(request.getKey());
        return request.toBuilder().setKey(key(request.getKey())).setRangeEnd(rangeEnd(request.getRangeEnd())).build();
    }

    PutRequest put(final PutRequest request) {
        if (none()) {
            return request;
        }
        checkKey(request.getKey());
        return request.toBuilder().setKey(key(request.getKey())).build();
    }

    DeleteRangeRequest deleteRange(final DeleteRangeRequest request) {
        if (none()) {
            return request;
        }
        checkKey(request.getKey());
        return request.toBuilder().setKey(key(request.getKey())).setRangeEnd(rangeEnd(request.getRangeEnd())).build();
    }

    TxnRequest txn(final TxnRequest request) {
        if (none()) {
            return request;
        }
        final TxnRequest.Builder txn = TxnRequest.newBuilder();
        for (final Compare compare : request.getCompareList()) {
            txn.addCompare(compare.toBuilder().setKey(key(compare.getKey()))
                .setRangeEnd(rangeEnd(compare.getRangeEnd())).build());
        }
        for (final RequestOp op : request.getSuccessList()) {
            txn.addSuccess(op(op));
        }
        for (final RequestOp op : request.getFailureList()) {
            txn.addFailure(op(op));
        }
        return txn.build();
    }

    private RequestOp op(final RequestOp op) {
        return switch (op.getRequestCase()) {
            case REQUEST_RANGE -> RequestOp.newBuilder().setRequestRange(range(op.getRequestRange())).build();
            case REQUEST_PUT -> RequestOp.newBuilder().setRequestPut(put(op.getRequestPut())).build();
            case REQUEST_DELETE_RANGE -> RequestOp.newBuilder()
                .setRequestDeleteRange(deleteRange(op.getRequestDeleteRange())).build();
            case REQUEST_TXN -> RequestOp.newBuilder().setRequestTxn(txn(op.getRequestTxn())).build();
            default -> op;
        };
    }

    KeyValue strip(final KeyValue kv) {
        return none() ? kv : kv.toBuilder().setKey(strip(kv.getKey())).build();
    }

    RangeResponse strip(final RangeResponse response) {
        if (none() || response.getKvsCount() == 0) {
            return response;
        }
        final RangeResponse.Builder stripped = response.toBuilder().clearKvs();
        for (final KeyValue kv : response.getKvsList()) {
            stripped.addKvs(strip(kv));
        }
        return stripped.build();
    }

    PutResponse strip(final PutResponse response) {
        return none() || !response.hasPrevKv() ? response
            : response.toBuilder().setPrevKv(strip(response.getPrevKv())).build();
    }

    DeleteRangeResponse strip(final DeleteRangeResponse response) {
        if (none() || response.getPrevKvsCount() == 0) {
            return response;
        }
        final DeleteRangeResponse.Builder stripped = response.toBuilder().clearPrevKvs();
        for (final KeyValue kv : response.getPrevKvsList()) {
            stripped.addPrevKvs(strip(kv));
        }
        return stripped.build();
    }

    TxnResponse strip(final TxnResponse response) {
        if (none()) {
            return response;
        }
        final TxnResponse.Builder stripped = response.toBuilder().clearResponses();
        for (final ResponseOp op : response.getResponsesList()) {
            stripped.addResponses(switch (op.getResponseCase()) {
                case RESPONSE_RANGE -> ResponseOp.newBuilder().setResponseRange(strip(op.getResponseRange())).build();
                case RESPONSE_PUT -> ResponseOp.newBuilder().setResponsePut(strip(op.getResponsePut())).build();
                case RESPONSE_DELETE_RANGE -> ResponseOp.newBuilder()
                    .setResponseDeleteRange(strip(op.getResponseDeleteRange())).build();
                case RESPONSE_TXN -> ResponseOp.newBuilder().setResponseTxn(strip(op.getResponseTxn())).build();
                default -> op;
            });
        }
        return stripped.build();
    }

    Event strip(final Event event) {
        if (none()) {
            return event;
        }
        final Event.Builder stripped = event.toBuilder().setKv(strip(event.getKv()));
        if (event.hasPrevKv()) {
            stripped.setPrevKv(strip(event.getPrevKv()));
        }
        return stripped.build();
    }

    /** A lease's keys: those in the namespace, without the prefix (the others are not the client's to see). */
    LeaseTimeToLiveResponse strip(final LeaseTimeToLiveResponse response) {
        if (none() || response.getKeysCount() == 0) {
            return response;
        }
        final LeaseTimeToLiveResponse.Builder stripped = response.toBuilder().clearKeys();
        for (final ByteString key : response.getKeysList()) {
            if (contains(key)) {
                stripped.addKeys(strip(key));
            }
        }
        return stripped.build();
    }
}
