package io.cairn.embedded.kv;

import io.cairn.engine.mvcc.KeyValueView;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * One key's value at one revision, copied out of the keyspace (etcd's {@code mvccpb.KeyValue}). The arrays are this
 * object's own; equality compares contents.
 *
 * @param key            the key.
 * @param value          the value (empty for keys-only reads).
 * @param createRevision the revision that created this generation of the key.
 * @param modRevision    the revision of this change.
 * @param version        writes to the key since it was created (1 for a new key).
 * @param lease          the lease it is attached to, or 0.
 */
public record KeyValue(byte[] key, byte[] value, long createRevision, long modRevision, long version, long lease) {
    /**
     * @param view a view into the keyspace or a response.
     * @return a copy.
     */
    public static KeyValue of(final KeyValueView view) {
        return new KeyValue(view.keyBytes(), view.valueBytes(), view.createRevision(), view.modRevision(),
            view.version(), view.lease());
    }

    /**
     * @return the key as UTF-8 text.
     */
    public String keyString() {
        return new String(key, StandardCharsets.UTF_8);
    }

    /**
     * @return the value as UTF-8 text.
     */
    public String valueString() {
        return new String(value, StandardCharsets.UTF_8);
    }

    @Override
    public boolean equals(final Object other) {
        return other instanceof KeyValue that && Arrays.equals(key, that.key) && Arrays.equals(value, that.value)
            && createRevision == that.createRevision && modRevision == that.modRevision && version == that.version
            && lease == that.lease;
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(key) * 31 + Long.hashCode(modRevision);
    }

    @Override
    public String toString() {
        return "KeyValue{key=" + keyString() + ", create=" + createRevision + ", mod=" + modRevision + ", version="
            + version + ", lease=" + lease + ", value=" + value.length + " bytes}";
    }
}
