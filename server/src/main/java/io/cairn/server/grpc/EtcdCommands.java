package io.cairn.server.grpc;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnknownFieldSet;
import io.cairn.engine.mvcc.CommandEncoder;
import io.cairn.engine.mvcc.MvccCommand;
import io.cairn.engine.mvcc.MvccError;
import io.etcd.jetcd.api.Compare;
import io.etcd.jetcd.api.DeleteRangeRequest;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.RequestOp;
import io.etcd.jetcd.api.TxnRequest;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * etcd's protobuf requests copied, once, into the keyspace's command layout ({@link MvccCommand}): the only place a
 * request's bytes are copied off the gRPC message. Field meanings are etcd's; enum values are the same numbers.
 * Not thread-safe: one per calling thread (or per call).
 */
public final class EtcdCommands {
    private static final byte[] EMPTY = new byte[0];
    private static final int COMPARE_LEASE_FIELD = 8;
    private final CommandEncoder encoder = new CommandEncoder();
    private final UnsafeBuffer first = new UnsafeBuffer(EMPTY);
    private final UnsafeBuffer second = new UnsafeBuffer(EMPTY);
    private final UnsafeBuffer third = new UnsafeBuffer(EMPTY);

    /**
     * @return the command last encoded.
     */
    public DirectBuffer buffer() {
        return encoder.buffer();
    }

    /**
     * @return its length.
     */
    public int length() {
        return encoder.length();
    }

    /**
     * @param request a Put.
     * @return {@link MvccError#OK} (the command is in {@link #buffer()}).
     */
    public int put(final PutRequest request) {
        encoder.reset();
        putOp(request);
        return MvccError.OK;
    }

    /**
     * @param request a Range.
     * @return {@link MvccError#OK}.
     */
    public int range(final RangeRequest request) {
        encoder.reset();
        rangeOp(request);
        return MvccError.OK;
    }

    /**
     * @param request a DeleteRange.
     * @return {@link MvccError#OK}.
     */
    public int deleteRange(final DeleteRangeRequest request) {
        encoder.reset();
        deleteOp(request);
        return MvccError.OK;
    }

    /**
     * @param request a Txn.
     * @return {@link MvccError#OK}, or KEY_NOT_FOUND for an op with no request in it (etcd's answer to that).
     */
    public int txn(final TxnRequest request) {
        encoder.reset();
        return txnOp(request);
    }

    /**
     * @param revision compact below it.
     * @return {@link MvccError#OK}.
     */
    public int compact(final long revision) {
        encoder.reset().compact(revision);
        return MvccError.OK;
    }

    /**
     * @param leaseId the ID (assigned by the caller when the client left it 0).
     * @param ttl     seconds.
     * @return {@link MvccError#OK}.
     */
    public int leaseGrant(final long leaseId, final long ttl) {
        encoder.reset().leaseGrant(leaseId, ttl);
        return MvccError.OK;
    }

    /**
     * @param leaseId the lease.
     * @return {@link MvccError#OK}.
     */
    public int leaseRevoke(final long leaseId) {
        encoder.reset().leaseRevoke(leaseId);
        return MvccError.OK;
    }

    /**
     * @param action   {@link MvccCommand#ALARM_ACTIVATE} or DEACTIVATE.
     * @param alarm    {@link MvccCommand#ALARM_NOSPACE} or CORRUPT.
     * @param memberId who raises it.
     * @return {@link MvccError#OK}.
     */
    public int alarm(final int action, final int alarm, final long memberId) {
        encoder.reset().alarm(action, alarm, memberId);
        return MvccError.OK;
    }

    private static UnsafeBuffer wrap(final UnsafeBuffer view, final ByteString bytes) {
        view.wrap(bytes.isEmpty() ? EMPTY : bytes.toByteArray());
        return view;
    }

    private void putOp(final PutRequest request) {
        final int flags = (request.getPrevKv() ? MvccCommand.FLAG_PREV_KV : 0)
            | (request.getIgnoreValue() ? MvccCommand.FLAG_IGNORE_VALUE : 0)
            | (request.getIgnoreLease() ? MvccCommand.FLAG_IGNORE_LEASE : 0);
        final UnsafeBuffer key = wrap(first, request.getKey());
        final UnsafeBuffer value = wrap(second, request.getValue());
        encoder.put(key, 0, key.capacity(), value, 0, value.capacity(), request.getLease(), flags);
    }

    private void rangeOp(final RangeRequest request) {
        final int flags = (request.getKeysOnly() ? MvccCommand.FLAG_KEYS_ONLY : 0)
            | (request.getCountOnly() ? MvccCommand.FLAG_COUNT_ONLY : 0)
            | (request.getSerializable() ? MvccCommand.FLAG_SERIALIZABLE : 0);
        final UnsafeBuffer key = wrap(first, request.getKey());
        final UnsafeBuffer end = wrap(second, request.getRangeEnd());
        encoder.range(key, 0, key.capacity(), end, 0, end.capacity(), request.getRevision(), request.getLimit(), flags)
            .sort(request.getSortOrderValue(), request.getSortTargetValue())
            .filters(request.getMinModRevision(), request.getMaxModRevision(), request.getMinCreateRevision(),
                request.getMaxCreateRevision());
    }

    private void deleteOp(final DeleteRangeRequest request) {
        final UnsafeBuffer key = wrap(first, request.getKey());
        final UnsafeBuffer end = wrap(second, request.getRangeEnd());
        encoder.deleteRange(key, 0, key.capacity(), end, 0, end.capacity(),
            request.getPrevKv() ? MvccCommand.FLAG_PREV_KV : 0);
    }

    private int txnOp(final TxnRequest request) {
        for (final RequestOp op : request.getSuccessList()) {
            if (op.getRequestCase() == RequestOp.RequestCase.REQUEST_NOT_SET) {
                return MvccError.KEY_NOT_FOUND; // etcd's checkRequestOp answers an empty op so
            }
        }
        for (final RequestOp op : request.getFailureList()) {
            if (op.getRequestCase() == RequestOp.RequestCase.REQUEST_NOT_SET) {
                return MvccError.KEY_NOT_FOUND;
            }
        }
        encoder.beginTxn();
        for (final Compare compare : request.getCompareList()) {
            compareOp(compare);
        }
        encoder.success();
        int status = ops(request, true);
        encoder.failure();
        if (status == MvccError.OK) {
            status = ops(request, false);
        }
        encoder.endTxn();
        return status;
    }

    private int ops(final TxnRequest request, final boolean success) {
        for (final RequestOp op : success ? request.getSuccessList() : request.getFailureList()) {
            switch (op.getRequestCase()) {
                case REQUEST_PUT:
                    putOp(op.getRequestPut());
                    break;
                case REQUEST_RANGE:
                    rangeOp(op.getRequestRange());
                    break;
                case REQUEST_DELETE_RANGE:
                    deleteOp(op.getRequestDeleteRange());
                    break;
                default:
                    final int status = txnOp(op.getRequestTxn());
                    if (status != MvccError.OK) {
                        return status;
                    }
                    break;
            }
        }
        return MvccError.OK;
    }

    /**
     * etcd reads the number from the union member its target names; any other member counts as zero. jetcd's proto
     * predates etcd 3.3's LEASE target (4) and its {@code lease} field (8): both arrive as unknown values and are read
     * as such.
     */
    private void compareOp(final Compare compare) {
        final UnsafeBuffer key = wrap(first, compare.getKey());
        final UnsafeBuffer end = wrap(second, compare.getRangeEnd());
        final int result = compare.getResultValue();
        final int target = compare.getTargetValue();
        if (target == MvccCommand.COMPARE_VALUE) {
            final UnsafeBuffer value = wrap(third, compare.getValue());
            encoder.compareValue(result, key, 0, key.capacity(), end, 0, end.capacity(), value, 0, value.capacity());
            return;
        }
        final long number;
        switch (target) {
            case MvccCommand.COMPARE_CREATE:
                number = compare.getCreateRevision();
                break;
            case MvccCommand.COMPARE_MOD:
                number = compare.getModRevision();
                break;
            case MvccCommand.COMPARE_LEASE:
                final UnknownFieldSet.Field lease = compare.getUnknownFields().getField(COMPARE_LEASE_FIELD);
                number = lease.getVarintList().isEmpty() ? 0 : lease.getVarintList().get(0);
                break;
            default:
                number = compare.getVersion();
                break;
        }
        encoder.compare(result, target, key, 0, key.capacity(), end, 0, end.capacity(), number);
    }
}
