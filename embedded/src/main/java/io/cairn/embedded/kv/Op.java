package io.cairn.embedded.kv;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * One operation of a transaction's branch (etcd's {@code RequestOp}): a put, a delete, a range read or a nested
 * transaction.
 */
public sealed interface Op permits Op.Put, Op.Delete, Op.Get, Txn {
    /**
     * @param key   a key.
     * @param value its new value.
     * @return a put with no lease.
     */
    static Put put(final byte[] key, final byte[] value) {
        return new Put(key, value, 0, false);
    }

    /**
     * @param key   a key, as UTF-8.
     * @param value its new value, as UTF-8.
     * @return a put with no lease.
     */
    static Put put(final String key, final String value) {
        return put(key.getBytes(StandardCharsets.UTF_8), value.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * @param key a key.
     * @return a delete of it.
     */
    static Delete delete(final byte[] key) {
        return new Delete(key, new byte[0], false);
    }

    /**
     * @param query a range read.
     * @return it as an op (read at the transaction's revision; its read mode does not apply).
     */
    static Get get(final RangeQuery query) {
        return new Get(query);
    }

    /**
     * A put.
     *
     * @param key    the key.
     * @param value  the value.
     * @param lease  the lease to attach, or 0.
     * @param prevKv answer with the value before.
     */
    record Put(byte[] key, byte[] value, long lease, boolean prevKv) implements Op {
        /**
         * Checks it.
         */
        public Put {
            Objects.requireNonNull(key, "key");
            Objects.requireNonNull(value, "value");
        }

        /**
         * @param leaseId a lease.
         * @return this put attached to it.
         */
        public Put withLease(final long leaseId) {
            return new Put(key, value, leaseId, prevKv);
        }

        /**
         * @return this put answering with the value before.
         */
        public Put withPrevKv() {
            return new Put(key, value, lease, true);
        }
    }

    /**
     * A delete of a key or a range.
     *
     * @param key    the key, or the start of the range.
     * @param end    the end of the range (exclusive), empty for the key alone.
     * @param prevKv answer with the deleted values.
     */
    record Delete(byte[] key, byte[] end, boolean prevKv) implements Op {
        /**
         * Checks it.
         */
        public Delete {
            Objects.requireNonNull(key, "key");
            Objects.requireNonNull(end, "end");
        }

        /**
         * @param rangeEnd the end of the range (exclusive).
         * @return this delete over {@code [key, rangeEnd)}.
         */
        public Delete toEnd(final byte[] rangeEnd) {
            return new Delete(key, rangeEnd, prevKv);
        }

        /**
         * @return this delete answering with the deleted values.
         */
        public Delete withPrevKv() {
            return new Delete(key, end, true);
        }
    }

    /**
     * A range read inside a transaction.
     *
     * @param query what to read.
     */
    record Get(RangeQuery query) implements Op {
        /**
         * Checks it.
         */
        public Get {
            Objects.requireNonNull(query, "query");
        }
    }
}
