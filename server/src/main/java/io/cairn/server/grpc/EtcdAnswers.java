package io.cairn.server.grpc;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import io.cairn.engine.mvcc.KeyValueView;
import io.cairn.engine.mvcc.MvccCommand;
import io.cairn.engine.mvcc.MvccResponse;
import io.etcd.jetcd.api.DeleteRangeResponse;
import io.etcd.jetcd.api.KeyValue;
import io.etcd.jetcd.api.PutResponse;
import io.etcd.jetcd.api.RangeResponse;
import io.etcd.jetcd.api.ResponseHeader;
import io.etcd.jetcd.api.ResponseOp;
import io.etcd.jetcd.api.TxnResponse;
import org.agrona.DirectBuffer;

/**
 * Keyspace responses ({@link MvccResponse} layout) turned into etcd's protobuf responses, with etcd's header
 * (cluster ID, member ID, revision, Raft term). Bytes are copied once, into the protobuf message; the byte arrays are
 * handed to protobuf without a second copy.
 */
public final class EtcdAnswers {
    /** etcd gives responses nested in a txn a header with the revision alone. */
    private static final ResponseHeader NESTED = ResponseHeader.getDefaultInstance();
    private final KeyValueView view = new KeyValueView();

    /**
     * @param base     cluster ID, member ID and Raft term (revision is set per response).
     * @param revision the header revision.
     * @return etcd's response header.
     */
    public static ResponseHeader header(final ResponseHeader base, final long revision) {
        return base.toBuilder().setRevision(revision).build();
    }

    /**
     * @param base   header fields.
     * @param buffer a PUT response.
     * @param at     where it starts.
     * @return etcd's PutResponse.
     */
    public PutResponse put(final ResponseHeader base, final DirectBuffer buffer, final int at) {
        final PutResponse.Builder builder = PutResponse.newBuilder()
            .setHeader(header(base, MvccResponse.revision(buffer, at)));
        final int previous = MvccResponse.putPrevKv(buffer, at);
        if (previous >= 0) {
            view.wrapEncoded(buffer, previous);
            builder.setPrevKv(keyValue(view));
        }
        return builder.build();
    }

    /**
     * @param base   header fields.
     * @param buffer a RANGE response.
     * @param at     where it starts.
     * @return etcd's RangeResponse.
     */
    public RangeResponse range(final ResponseHeader base, final DirectBuffer buffer, final int at) {
        final RangeResponse.Builder builder = RangeResponse.newBuilder()
            .setHeader(header(base, MvccResponse.revision(buffer, at)))
            .setCount(MvccResponse.rangeCount(buffer, at))
            .setMore(MvccResponse.rangeMore(buffer, at));
        int kv = MvccResponse.rangeKvs(at);
        for (int i = 0, n = MvccResponse.rangeKvCount(buffer, at); i < n; i++) {
            kv = view.wrapEncoded(buffer, kv);
            builder.addKvs(keyValue(view));
        }
        return builder.build();
    }

    /**
     * @param base   header fields.
     * @param buffer a DELETE_RANGE response.
     * @param at     where it starts.
     * @return etcd's DeleteRangeResponse.
     */
    public DeleteRangeResponse deleteRange(final ResponseHeader base, final DirectBuffer buffer, final int at) {
        final DeleteRangeResponse.Builder builder = DeleteRangeResponse.newBuilder()
            .setHeader(header(base, MvccResponse.revision(buffer, at)))
            .setDeleted(MvccResponse.deleted(buffer, at));
        int kv = MvccResponse.deletePrevKvs(at);
        for (int i = 0, n = MvccResponse.deletePrevKvCount(buffer, at); i < n; i++) {
            kv = view.wrapEncoded(buffer, kv);
            builder.addPrevKvs(keyValue(view));
        }
        return builder.build();
    }

    /**
     * @param base   header fields.
     * @param buffer a TXN response.
     * @param at     where it starts.
     * @return etcd's TxnResponse, nested responses included.
     */
    public TxnResponse txn(final ResponseHeader base, final DirectBuffer buffer, final int at) {
        final TxnResponse.Builder builder = TxnResponse.newBuilder()
            .setHeader(header(base, MvccResponse.revision(buffer, at)))
            .setSucceeded(MvccResponse.txnSucceeded(buffer, at));
        int position = MvccResponse.txnResponses(at);
        for (int i = 0, n = MvccResponse.txnResponseCount(buffer, at); i < n; i++) {
            final int nested = position + Integer.BYTES;
            final ResponseOp.Builder op = ResponseOp.newBuilder();
            switch (MvccResponse.type(buffer, nested)) {
                case MvccCommand.PUT:
                    op.setResponsePut(put(NESTED, buffer, nested));
                    break;
                case MvccCommand.RANGE:
                    op.setResponseRange(range(NESTED, buffer, nested));
                    break;
                case MvccCommand.DELETE_RANGE:
                    op.setResponseDeleteRange(deleteRange(NESTED, buffer, nested));
                    break;
                default:
                    op.setResponseTxn(txn(NESTED, buffer, nested));
                    break;
            }
            builder.addResponses(op);
            position = nested + buffer.getInt(position, MvccResponse.ORDER);
        }
        return builder.build();
    }

    /**
     * @param kv a key-value view.
     * @return etcd's KeyValue (a copy).
     */
    public static KeyValue keyValue(final KeyValueView kv) {
        final KeyValue.Builder builder = KeyValue.newBuilder()
            .setKey(bytes(kv.buffer(), kv.keyOffset(), kv.keyLength()))
            .setModRevision(kv.modRevision());
        if (!kv.isTombstone()) {
            builder.setCreateRevision(kv.createRevision())
                .setVersion(kv.version())
                .setLease(kv.lease())
                .setValue(bytes(kv.buffer(), kv.valueOffset(), kv.valueLength()));
        }
        return builder.build();
    }

    private static ByteString bytes(final DirectBuffer buffer, final int offset, final int length) {
        if (length == 0) {
            return ByteString.EMPTY;
        }
        final byte[] copy = new byte[length];
        buffer.getBytes(offset, copy);
        return UnsafeByteOperations.unsafeWrap(copy);
    }
}
