package io.cairn.embedded;

import io.cairn.embedded.kv.Compare;
import io.cairn.embedded.kv.KeyValue;
import io.cairn.embedded.kv.Op;
import io.cairn.embedded.kv.OpResult;
import io.cairn.embedded.kv.RangeQuery;
import io.cairn.embedded.kv.ReadMode;
import io.cairn.embedded.kv.Txn;
import io.cairn.embedded.kv.TxnResult;
import io.cairn.engine.mvcc.CommandEncoder;
import io.cairn.engine.mvcc.KeyValueView;
import io.cairn.engine.mvcc.MvccCommand;
import io.cairn.engine.mvcc.MvccError;
import io.cairn.engine.mvcc.MvccResponse;
import io.cairn.engine.mvcc.RangeVisitor;
import org.agrona.DirectBuffer;
import org.agrona.ExpandableDirectByteBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * etcd's KV calls on a {@link CairnNode}, typed: {@link #put}, {@link #get}, {@link #range}, {@link #delete},
 * {@link #txn}, {@link #compact}. Writes go through Raft and complete once this member has applied them; reads come
 * from this member's keyspace, after a ReadIndex round unless the query is serializable. Every future fails with a
 * {@link CairnException} carrying etcd's reason.
 *
 * <p>Each call encodes its request into the node's command layout (the one etcd's gRPC requests are translated into
 * by the server) and goes through the same {@link CairnNode#validate}, {@link CairnNode#write},
 * {@link CairnNode#readBarrier} and {@link CairnNode#read} the server uses. Futures of writes complete on the node's
 * loop thread, reads on the node's pool (linearizable) or the caller's thread (serializable): chain what waits with
 * the {@code ...Async} forms. Thread-safe.
 */
public final class KvClient {
    private static final byte[] NONE = new byte[0];
    private static final ThreadLocal<CommandEncoder> ENCODERS = ThreadLocal.withInitial(CommandEncoder::new);
    private static final ThreadLocal<ExpandableDirectByteBuffer> RESPONSES =
        ThreadLocal.withInitial(() -> new ExpandableDirectByteBuffer(4096));

    private final CairnNode node;

    KvClient(final CairnNode node) {
        this.node = node;
    }

    /**
     * @param key   a key.
     * @param value its new value.
     * @return completes with the revision written.
     */
    public CompletableFuture<OpResult.Put> put(final byte[] key, final byte[] value) {
        return put(Op.put(key, value));
    }

    /**
     * @param key   a key, as UTF-8.
     * @param value its new value, as UTF-8.
     * @return completes with the revision written.
     */
    public CompletableFuture<OpResult.Put> put(final String key, final String value) {
        return put(Op.put(key, value));
    }

    /**
     * @param put a put, with its lease and whether to return the previous value.
     * @return completes with the revision written (and the previous value when asked for).
     */
    public CompletableFuture<OpResult.Put> put(final Op.Put put) {
        final CommandEncoder encoder = ENCODERS.get().reset();
        encodePut(encoder, put);
        return write(encoder).thenApply(response -> (OpResult.Put)decode(response, 0));
    }

    /**
     * A put on the zero-allocation path: no object per put on this thread or the node's loop
     * ({@link CairnNode#write(DirectBuffer, int, WriteHandler, long)} says when and where {@code handler} is called;
     * its response view holds the revision: {@code MvccResponse.revision(response, offset)}).
     *
     * @param key         key bytes.
     * @param keyOffset   where they start.
     * @param keyLength   how many.
     * @param value       value bytes.
     * @param valueOffset where they start.
     * @param valueLength how many.
     * @param lease       a lease to attach, or 0.
     * @param handler     the answer (one instance can serve every put).
     * @param context     handed back to {@code handler}.
     */
    public void put(final DirectBuffer key, final int keyOffset, final int keyLength, final DirectBuffer value,
        final int valueOffset, final int valueLength, final long lease, final WriteHandler handler,
        final long context) {
        final CommandEncoder encoder = ENCODERS.get().reset();
        encoder.put(key, keyOffset, keyLength, value, valueOffset, valueLength, lease, 0);
        node.write(encoder.buffer(), encoder.length(), handler, context);
    }

    /**
     * A serializable get on the calling thread with no allocation: {@code visitor} sees the key's value as a view into
     * this member's map (valid during the call), or is not called when the key does not exist.
     *
     * @param key       key bytes.
     * @param keyOffset where they start.
     * @param keyLength how many.
     * @param visitor   gets the key-value.
     * @return {@link MvccError#OK}, or the keyspace's refusal as {@code MvccError} codes.
     */
    public int getSerializable(final DirectBuffer key, final int keyOffset, final int keyLength,
        final RangeVisitor visitor) {
        final CommandEncoder encoder = ENCODERS.get().reset();
        encoder.range(key, keyOffset, keyLength, null, 0, 0, 0, 1, MvccCommand.FLAG_SERIALIZABLE);
        return node.readSerializable(encoder.buffer(), visitor);
    }

    /**
     * @param key a key.
     * @return completes with its value now, linearizable, or empty if it does not exist.
     */
    public CompletableFuture<Optional<KeyValue>> get(final byte[] key) {
        return range(RangeQuery.key(key)).thenApply(OpResult.Range::first);
    }

    /**
     * @param key a key, as UTF-8.
     * @return completes with its value now, linearizable, or empty if it does not exist.
     */
    public CompletableFuture<Optional<KeyValue>> get(final String key) {
        return get(key.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * @param query what to read.
     * @return completes with the key-values, copied.
     */
    public CompletableFuture<OpResult.Range> range(final RangeQuery query) {
        return read(query, this::readRange);
    }

    /**
     * A range read that hands each key-value to {@code visitor} as a view into the keyspace (valid during the call;
     * copy what must outlive it), with no copy and no allocation per key. Serializable queries run on the calling
     * thread before this returns; linearizable ones on the node's pool after the ReadIndex round.
     *
     * @param query   what to read (the views show values whether or not it is keys-only: a view copies nothing).
     * @param visitor called for each key-value in order; false stops the scan.
     * @return completes with the range's revision, count and "more" (no key-values: the visitor had them).
     */
    public CompletableFuture<OpResult.Range> range(final RangeQuery query, final RangeVisitor visitor) {
        return read(query, command -> visitRange(command, visitor));
    }

    // Validates the query, then reads at once (serializable, on this thread) or after the ReadIndex round (on the
    // node's pool).
    private CompletableFuture<OpResult.Range> read(final RangeQuery query,
        final Function<byte[], OpResult.Range> reading) {
        final byte[] command = encodeRange(query);
        final int verdict = node.validate(new UnsafeBuffer(command), command.length);
        if (verdict != MvccError.OK) {
            return CompletableFuture.failedFuture(new CairnException(CairnError.ofKeyspace(verdict)));
        }
        if (query.mode() == ReadMode.SERIALIZABLE) {
            try {
                return CompletableFuture.completedFuture(reading.apply(command));
            } catch (final CairnException ex) {
                return CompletableFuture.failedFuture(ex);
            }
        }
        return node.readBarrier().thenApplyAsync(index -> reading.apply(command), node.executor());
    }

    /**
     * @param key a key.
     * @return completes with how many keys were deleted (0 or 1).
     */
    public CompletableFuture<OpResult.Delete> delete(final byte[] key) {
        return delete(Op.delete(key));
    }

    /**
     * @param key a key, as UTF-8.
     * @return completes with how many keys were deleted (0 or 1).
     */
    public CompletableFuture<OpResult.Delete> delete(final String key) {
        return delete(key.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * @param delete a delete of a key or a range, with or without the previous values.
     * @return completes with how many keys were deleted.
     */
    public CompletableFuture<OpResult.Delete> delete(final Op.Delete delete) {
        final CommandEncoder encoder = ENCODERS.get().reset();
        encodeDelete(encoder, delete);
        return write(encoder).thenApply(response -> (OpResult.Delete)decode(response, 0));
    }

    /**
     * @param txn a transaction.
     * @return completes with which branch ran and its ops' answers.
     */
    public CompletableFuture<TxnResult> txn(final Txn txn) {
        final CommandEncoder encoder = ENCODERS.get().reset();
        encodeTxn(encoder, txn);
        return write(encoder).thenApply(response -> (TxnResult)decode(response, 0));
    }

    /**
     * Discards the history below {@code revision} (etcd's Compact): reads and watches from earlier revisions fail with
     * {@link CairnError#COMPACTED} from then on.
     *
     * @param revision the oldest revision to keep.
     * @return completes with the revision after it.
     */
    public CompletableFuture<Long> compact(final long revision) {
        final CommandEncoder encoder = ENCODERS.get().reset().compact(revision);
        return write(encoder).thenApply(response -> MvccResponse.revision(response, 0));
    }

    private CompletableFuture<DirectBuffer> write(final CommandEncoder encoder) {
        return node.validateAndWrite(encoder.buffer(), encoder.length());
    }

    private OpResult.Range readRange(final byte[] command) {
        return node.read(reader -> {
            final ExpandableDirectByteBuffer response = RESPONSES.get();
            reader.rangeInto(new UnsafeBuffer(command), 0, response, 0);
            final int status = MvccResponse.status(response, 0);
            if (status != MvccError.OK) {
                throw new CairnException(CairnError.ofKeyspace(status));
            }
            return (OpResult.Range)decode(response, 0);
        });
    }

    private OpResult.Range visitRange(final byte[] command, final RangeVisitor visitor) {
        return node.read(reader -> {
            final int status = reader.range(new UnsafeBuffer(command), 0, visitor);
            if (status != MvccError.OK) {
                throw new CairnException(CairnError.ofKeyspace(status));
            }
            return new OpResult.Range(reader.revision(), reader.count(), reader.more(), List.of());
        });
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Encoding: the typed requests into the keyspace's command layout.

    private static byte[] encodeRange(final RangeQuery query) {
        final CommandEncoder encoder = ENCODERS.get().reset();
        encodeRange(encoder, query);
        final byte[] command = new byte[encoder.length()];
        encoder.buffer().getBytes(0, command);
        return command;
    }

    private static void encodeRange(final CommandEncoder encoder, final RangeQuery query) {
        final int flags = (query.keysOnly() ? MvccCommand.FLAG_KEYS_ONLY : 0)
            | (query.countOnly() ? MvccCommand.FLAG_COUNT_ONLY : 0)
            | (query.mode() == ReadMode.SERIALIZABLE ? MvccCommand.FLAG_SERIALIZABLE : 0);
        encoder.range(wrap(query.key()), 0, query.key().length, wrap(query.end()), 0, query.end().length,
            query.revision(), query.limit(), flags);
    }

    private static void encodePut(final CommandEncoder encoder, final Op.Put put) {
        encoder.put(wrap(put.key()), 0, put.key().length, wrap(put.value()), 0, put.value().length, put.lease(),
            put.prevKv() ? MvccCommand.FLAG_PREV_KV : 0);
    }

    private static void encodeDelete(final CommandEncoder encoder, final Op.Delete delete) {
        encoder.deleteRange(wrap(delete.key()), 0, delete.key().length, wrap(delete.end()), 0, delete.end().length,
            delete.prevKv() ? MvccCommand.FLAG_PREV_KV : 0);
    }

    private static void encodeTxn(final CommandEncoder encoder, final Txn txn) {
        encoder.beginTxn();
        for (final Compare compare : txn.compares()) {
            if (compare.target() == MvccCommand.COMPARE_VALUE) {
                encoder.compareValue(compare.result(), wrap(compare.key()), 0, compare.key().length,
                    wrap(compare.end()), 0, compare.end().length, wrap(compare.value()), 0, compare.value().length);
            } else {
                encoder.compare(compare.result(), compare.target(), wrap(compare.key()), 0, compare.key().length,
                    wrap(compare.end()), 0, compare.end().length, compare.number());
            }
        }
        encoder.success();
        txn.success().forEach(op -> encodeOp(encoder, op));
        encoder.failure();
        txn.failure().forEach(op -> encodeOp(encoder, op));
        encoder.endTxn();
    }

    private static void encodeOp(final CommandEncoder encoder, final Op op) {
        if (op instanceof Op.Put put) {
            encodePut(encoder, put);
        } else if (op instanceof Op.Delete delete) {
            encodeDelete(encoder, delete);
        } else if (op instanceof Op.Get get) {
            encodeRange(encoder, get.query());
        } else {
            encodeTxn(encoder, (Txn)op);
        }
    }

    private static DirectBuffer wrap(final byte[] bytes) {
        return new UnsafeBuffer(bytes.length == 0 ? NONE : bytes);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Decoding: the keyspace's responses into typed results (copies: the response may be reused).

    private static OpResult decode(final DirectBuffer response, final int offset) {
        final long revision = MvccResponse.revision(response, offset);
        final KeyValueView view = new KeyValueView();
        switch (MvccResponse.type(response, offset)) {
            case MvccCommand.PUT -> {
                final int previous = MvccResponse.putPrevKv(response, offset);
                if (previous < 0) {
                    return new OpResult.Put(revision, Optional.empty());
                }
                view.wrapEncoded(response, previous);
                return new OpResult.Put(revision, Optional.of(KeyValue.of(view)));
            }
            case MvccCommand.DELETE_RANGE -> {
                return new OpResult.Delete(revision, MvccResponse.deleted(response, offset),
                    kvs(response, MvccResponse.deletePrevKvs(offset), MvccResponse.deletePrevKvCount(response, offset),
                        view));
            }
            case MvccCommand.RANGE -> {
                return new OpResult.Range(revision, MvccResponse.rangeCount(response, offset),
                    MvccResponse.rangeMore(response, offset),
                    kvs(response, MvccResponse.rangeKvs(offset), MvccResponse.rangeKvCount(response, offset), view));
            }
            case MvccCommand.TXN -> {
                final int count = MvccResponse.txnResponseCount(response, offset);
                final List<OpResult> results = new ArrayList<>(count);
                int position = MvccResponse.txnResponses(offset);
                for (int i = 0; i < count; i++) {
                    final int length = response.getInt(position, MvccResponse.ORDER);
                    results.add(decode(response, position + Integer.BYTES));
                    position += Integer.BYTES + length;
                }
                return new TxnResult(revision, MvccResponse.txnSucceeded(response, offset), List.copyOf(results));
            }
            default -> throw new CairnException(CairnError.MALFORMED);
        }
    }

    private static List<KeyValue> kvs(final DirectBuffer response, final int first, final int count,
        final KeyValueView view) {
        final List<KeyValue> kvs = new ArrayList<>(count);
        int position = first;
        for (int i = 0; i < count; i++) {
            position = view.wrapEncoded(response, position);
            kvs.add(KeyValue.of(view));
        }
        return List.copyOf(kvs);
    }
}
