package io.cairn.embedded.kv;

import java.util.Optional;

/**
 * One change delivered to a watch (etcd's {@code mvccpb.Event}).
 *
 * @param type     a put or a delete.
 * @param kv       the key-value after the change (for a delete: the key and the revision of the delete).
 * @param previous the key-value before it, when the watch asked for it and there was one.
 */
public record WatchEvent(Type type, KeyValue kv, Optional<KeyValue> previous) {
    /** What happened to the key. */
    public enum Type {
        /** Written. */
        PUT,
        /** Deleted (by a delete, a transaction or a lease's expiry). */
        DELETE
    }
}
