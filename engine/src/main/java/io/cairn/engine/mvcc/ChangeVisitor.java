package io.cairn.engine.mvcc;

/**
 * Receives the keyspace's changes in revision order (for watchers catching up from a revision).
 */
@FunctionalInterface
public interface ChangeVisitor {
    /**
     * @param change   the change: a put, or a delete when {@link KeyValueView#isTombstone()} (then only the key and
     *                 the mod revision mean anything).
     * @param previous the key-value just before the change, when asked for and there was one; otherwise null.
     * @return false to stop.
     */
    boolean onChange(KeyValueView change, KeyValueView previous);
}
