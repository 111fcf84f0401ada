package io.cairn.embedded.kv;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * A range read (etcd's {@code RangeRequest}): one key, a prefix or {@code [key, end)}, at a revision, limited,
 * linearizable or serializable. Build it with {@link #key}, {@link #prefix}, {@link #range} or {@link #all} and the
 * {@code with}/{@code as} methods (each returns a new query).
 *
 * @param key       the key, or the start of the range.
 * @param end       the end of the range (exclusive), empty for the key alone, one zero byte for every key from
 *                  {@code key} on.
 * @param revision  the revision to read at, 0 for the current one.
 * @param limit     most key-values returned, 0 for no limit.
 * @param keysOnly  leave the values out.
 * @param countOnly return only the count.
 * @param mode      how current the answer must be.
 */
public record RangeQuery(byte[] key, byte[] end, long revision, long limit, boolean keysOnly, boolean countOnly,
    ReadMode mode) {
    private static final byte[] NONE = new byte[0];

    /**
     * Checks the query.
     */
    public RangeQuery {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(end, "end");
        Objects.requireNonNull(mode, "mode");
        if (revision < 0 || limit < 0) {
            throw new IllegalArgumentException("revision and limit must not be negative");
        }
    }

    /**
     * @param key a key.
     * @return a linearizable read of it.
     */
    public static RangeQuery key(final byte[] key) {
        return new RangeQuery(key, NONE, 0, 0, false, false, ReadMode.LINEARIZABLE);
    }

    /**
     * @param key a key, as UTF-8.
     * @return a linearizable read of it.
     */
    public static RangeQuery key(final String key) {
        return key(key.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * @param from the first key.
     * @param end  the key after the last (exclusive).
     * @return a linearizable read of {@code [from, end)}.
     */
    public static RangeQuery range(final byte[] from, final byte[] end) {
        return new RangeQuery(from, end, 0, 0, false, false, ReadMode.LINEARIZABLE);
    }

    /**
     * @param prefix a prefix (empty: every key).
     * @return a linearizable read of every key that starts with it.
     */
    public static RangeQuery prefix(final byte[] prefix) {
        return range(prefix.length == 0 ? new byte[1] : prefix, prefixEnd(prefix));
    }

    /**
     * @param prefix a prefix, as UTF-8.
     * @return a linearizable read of every key that starts with it.
     */
    public static RangeQuery prefix(final String prefix) {
        return prefix(prefix.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * @return a linearizable read of every key.
     */
    public static RangeQuery all() {
        return range(new byte[1], new byte[1]);
    }

    /**
     * @param prefix a prefix.
     * @return the smallest key greater than every key with that prefix (etcd's {@code GetPrefixRangeEnd}); one zero
     *     byte (every key) when there is none.
     */
    public static byte[] prefixEnd(final byte[] prefix) {
        for (int i = prefix.length - 1; i >= 0; i--) {
            if ((prefix[i] & 0xFF) != 0xFF) {
                final byte[] end = java.util.Arrays.copyOf(prefix, i + 1);
                end[i]++;
                return end;
            }
        }
        return new byte[1];
    }

    /**
     * @param atRevision the revision to read at (0: the current one).
     * @return this query at that revision.
     */
    public RangeQuery withRevision(final long atRevision) {
        return new RangeQuery(key, end, atRevision, limit, keysOnly, countOnly, mode);
    }

    /**
     * @param most most key-values returned (0: no limit).
     * @return this query with that limit.
     */
    public RangeQuery withLimit(final long most) {
        return new RangeQuery(key, end, revision, most, keysOnly, countOnly, mode);
    }

    /**
     * @return this query without values.
     */
    public RangeQuery asKeysOnly() {
        return new RangeQuery(key, end, revision, limit, true, countOnly, mode);
    }

    /**
     * @return this query counting only.
     */
    public RangeQuery asCountOnly() {
        return new RangeQuery(key, end, revision, limit, keysOnly, true, mode);
    }

    /**
     * @return this query read from this member's keyspace with no round trip.
     */
    public RangeQuery asSerializable() {
        return new RangeQuery(key, end, revision, limit, keysOnly, countOnly, ReadMode.SERIALIZABLE);
    }
}
