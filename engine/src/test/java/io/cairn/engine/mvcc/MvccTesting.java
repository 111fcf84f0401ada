package io.cairn.engine.mvcc;

import org.agrona.DirectBuffer;
import org.agrona.ExpandableDirectByteBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Test support: commands from strings (ISO-8859-1, so every byte value round-trips), responses decoded into plain
 * records that compare by value, and a store opened small.
 */
final class MvccTesting {
    private MvccTesting() {
    }

    static byte[] bytes(final String text) {
        return text == null ? new byte[0] : text.getBytes(StandardCharsets.ISO_8859_1);
    }

    static String text(final DirectBuffer buffer, final int offset, final int length) {
        final byte[] bytes = new byte[length];
        buffer.getBytes(offset, bytes);
        return new String(bytes, StandardCharsets.ISO_8859_1);
    }

    static UnsafeBuffer buffer(final String text) {
        return new UnsafeBuffer(bytes(text));
    }

    static MvccStore open(final Path directory) throws java.io.IOException {
        return MvccStore.open(MvccConfig.defaults(directory).withSizes(256L << 20, 128L << 20));
    }

    /** A key-value as the client sees it. */
    record Kv(String key, String value, long create, long mod, long version, long lease) {
        static Kv of(final KeyValueView view) {
            return new Kv(text(view.buffer(), view.keyOffset(), view.keyLength()),
                text(view.buffer(), view.valueOffset(), view.valueLength()), view.createRevision(),
                view.modRevision(), view.version(), view.lease());
        }
    }

    /** A decoded response; fields that do not apply to its type stay empty. */
    record Response(int status, byte type, long revision, Kv prevKv, long deleted, List<Kv> kvs, long count,
        boolean more, boolean succeeded, List<Response> responses, long leaseId, long ttl, int alarms) {
        static Response decode(final DirectBuffer buffer, final int at) {
            final int status = MvccResponse.status(buffer, at);
            final byte type = MvccResponse.type(buffer, at);
            final long revision = MvccResponse.revision(buffer, at);
            final KeyValueView view = new KeyValueView();
            final List<Kv> kvs = new ArrayList<>();
            final List<Response> responses = new ArrayList<>();
            Kv prev = null;
            long deleted = 0;
            long count = 0;
            boolean more = false;
            boolean succeeded = false;
            long leaseId = 0;
            long ttl = 0;
            int alarms = 0;
            if (status == MvccError.OK) {
                switch (type) {
                    case MvccCommand.PUT -> {
                        final int prevAt = MvccResponse.putPrevKv(buffer, at);
                        if (prevAt >= 0) {
                            view.wrapEncoded(buffer, prevAt);
                            prev = Kv.of(view);
                        }
                    }
                    case MvccCommand.DELETE_RANGE -> {
                        deleted = MvccResponse.deleted(buffer, at);
                        int kvAt = MvccResponse.deletePrevKvs(at);
                        for (int i = 0; i < MvccResponse.deletePrevKvCount(buffer, at); i++) {
                            kvAt = view.wrapEncoded(buffer, kvAt);
                            kvs.add(Kv.of(view));
                        }
                    }
                    case MvccCommand.RANGE -> {
                        count = MvccResponse.rangeCount(buffer, at);
                        more = MvccResponse.rangeMore(buffer, at);
                        int kvAt = MvccResponse.rangeKvs(at);
                        for (int i = 0; i < MvccResponse.rangeKvCount(buffer, at); i++) {
                            kvAt = view.wrapEncoded(buffer, kvAt);
                            kvs.add(Kv.of(view));
                        }
                    }
                    case MvccCommand.TXN -> {
                        succeeded = MvccResponse.txnSucceeded(buffer, at);
                        int position = MvccResponse.txnResponses(at);
                        for (int i = 0; i < MvccResponse.txnResponseCount(buffer, at); i++) {
                            final int length = buffer.getInt(position, MvccResponse.ORDER);
                            responses.add(decode(buffer, position + 4));
                            position += 4 + length;
                        }
                    }
                    case MvccCommand.LEASE_GRANT -> {
                        leaseId = MvccResponse.leaseId(buffer, at);
                        ttl = MvccResponse.leaseTtl(buffer, at);
                    }
                    case MvccCommand.ALARM -> alarms = MvccResponse.alarms(buffer, at);
                    default -> {
                    }
                }
            }
            return new Response(status, type, revision, prev, deleted, kvs, count, more, succeeded, responses,
                leaseId, ttl, alarms);
        }
    }

    /**
     * Builds commands and applies them one batch each; for tests that do not care about batching.
     */
    static final class Client {
        final MvccStore store;
        final CommandEncoder encoder = new CommandEncoder();
        final ExpandableDirectByteBuffer response = new ExpandableDirectByteBuffer(1024);
        long index;

        Client(final MvccStore store) {
            this.store = store;
        }

        Response apply() {
            store.beginBatch();
            final int length = store.apply(encoder.buffer(), 0, encoder.length(), response, 0);
            store.commit(++index, 1);
            final Response decoded = Response.decode(response, 0);
            if (length < MvccResponse.HEADER) {
                throw new AssertionError("short response " + length);
            }
            return decoded;
        }

        Response put(final String key, final String value) {
            return put(key, value, 0, 0);
        }

        Response put(final String key, final String value, final long lease, final int flags) {
            encoder.reset();
            encoder.put(bytes(key), bytes(value), lease, flags);
            return apply();
        }

        Response delete(final String key, final String end, final int flags) {
            encoder.reset();
            encoder.deleteRange(buffer(key), 0, bytes(key).length, buffer(end), 0, bytes(end).length, flags);
            return apply();
        }

        CommandEncoder range(final CommandEncoder target, final String key, final String end, final long revision,
            final long limit, final int flags) {
            return target.range(buffer(key), 0, bytes(key).length, buffer(end), 0, bytes(end).length, revision,
                limit, flags);
        }

        Response range(final String key, final String end) {
            return range(key, end, 0, 0, 0);
        }

        Response range(final String key, final String end, final long revision, final long limit, final int flags) {
            encoder.reset();
            range(encoder, key, end, revision, limit, flags);
            return read();
        }

        /** Serves the range encoded in {@link #encoder} through a reader, as the server will. */
        Response read() {
            try (MvccReader reader = store.newReader()) {
                reader.rangeInto(encoder.buffer(), 0, response, 0);
                return Response.decode(response, 0);
            }
        }

        Response compact(final long revision) {
            encoder.reset();
            encoder.compact(revision);
            return apply();
        }

        Response grant(final long lease, final long ttl) {
            encoder.reset();
            encoder.leaseGrant(lease, ttl);
            return apply();
        }

        Response revoke(final long lease) {
            encoder.reset();
            encoder.leaseRevoke(lease);
            return apply();
        }

        Response alarm(final int action, final int alarm) {
            encoder.reset();
            encoder.alarm(action, alarm, 7);
            return apply();
        }

        CommandEncoder compare(final CommandEncoder target, final int result, final int what, final String key,
            final long number) {
            return target.compare(result, what, buffer(key), 0, bytes(key).length, null, 0, 0, number);
        }

        CommandEncoder compareValue(final CommandEncoder target, final int result, final String key,
            final String value) {
            return target.compareValue(result, buffer(key), 0, bytes(key).length, null, 0, 0, buffer(value), 0,
                bytes(value).length);
        }

        CommandEncoder putOp(final CommandEncoder target, final String key, final String value) {
            return target.put(bytes(key), bytes(value), 0, 0);
        }

        CommandEncoder deleteOp(final CommandEncoder target, final String key, final String end) {
            return target.deleteRange(buffer(key), 0, bytes(key).length, buffer(end), 0, bytes(end).length, 0);
        }
    }
}
