package io.cairn.embedded.kv;

import io.cairn.engine.mvcc.MvccCommand;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * One condition of a transaction (etcd's {@code Compare}): a key's (or every key in a range's) value, version, create
 * revision, mod revision or lease against a constant. A missing key has version, create and mod revision 0, lease 0
 * and no value (a value compare on it fails), as in etcd.
 *
 * @param target what is compared ({@link MvccCommand#COMPARE_VERSION}, CREATE, MOD, VALUE, LEASE).
 * @param result how ({@link MvccCommand#COMPARE_EQUAL}, GREATER, LESS, NOT_EQUAL).
 * @param key    the key.
 * @param end    the end of a range of keys (empty: the key alone).
 * @param number the constant for numeric targets.
 * @param value  the constant for the value target (empty otherwise).
 */
public record Compare(int target, int result, byte[] key, byte[] end, long number, byte[] value) {
    private static final byte[] NONE = new byte[0];

    /**
     * Checks it.
     */
    public Compare {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(end, "end");
        Objects.requireNonNull(value, "value");
    }

    /** How a target is compared with the constant. */
    public enum Result {
        /** Equal. */
        EQUAL(MvccCommand.COMPARE_EQUAL),
        /** Not equal. */
        NOT_EQUAL(MvccCommand.COMPARE_NOT_EQUAL),
        /** Greater than the constant. */
        GREATER(MvccCommand.COMPARE_GREATER),
        /** Less than the constant. */
        LESS(MvccCommand.COMPARE_LESS);

        private final int code;

        Result(final int code) {
            this.code = code;
        }
    }

    /**
     * @param key   a key.
     * @param op    how.
     * @param value the bytes its value is compared with.
     * @return the compare.
     */
    public static Compare value(final byte[] key, final Result op, final byte[] value) {
        return new Compare(MvccCommand.COMPARE_VALUE, op.code, key, NONE, 0, value);
    }

    /**
     * @param key   a key, as UTF-8.
     * @param op    how.
     * @param value the text its value is compared with, as UTF-8.
     * @return the compare.
     */
    public static Compare value(final String key, final Result op, final String value) {
        return value(key.getBytes(StandardCharsets.UTF_8), op, value.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * @param key     a key.
     * @param op      how.
     * @param version the number of writes since it was created (0: it does not exist).
     * @return the compare.
     */
    public static Compare version(final byte[] key, final Result op, final long version) {
        return new Compare(MvccCommand.COMPARE_VERSION, op.code, key, NONE, version, NONE);
    }

    /**
     * @param key      a key.
     * @param op       how.
     * @param revision the revision that created it (0: it does not exist).
     * @return the compare.
     */
    public static Compare createRevision(final byte[] key, final Result op, final long revision) {
        return new Compare(MvccCommand.COMPARE_CREATE, op.code, key, NONE, revision, NONE);
    }

    /**
     * @param key      a key.
     * @param op       how.
     * @param revision the revision of its last write.
     * @return the compare.
     */
    public static Compare modRevision(final byte[] key, final Result op, final long revision) {
        return new Compare(MvccCommand.COMPARE_MOD, op.code, key, NONE, revision, NONE);
    }

    /**
     * @param key   a key.
     * @param op    how.
     * @param lease the lease it is attached to (0: none).
     * @return the compare.
     */
    public static Compare lease(final byte[] key, final Result op, final long lease) {
        return new Compare(MvccCommand.COMPARE_LEASE, op.code, key, NONE, lease, NONE);
    }

    /**
     * @param rangeEnd the end of a range of keys (exclusive): the compare must hold for each of them.
     * @return this compare over {@code [key, rangeEnd)}.
     */
    public Compare overRange(final byte[] rangeEnd) {
        return new Compare(target, result, key, rangeEnd, number, value);
    }
}
