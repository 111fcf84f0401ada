package io.cairn.embedded;

import io.cairn.embedded.kv.WatchEvent;

import java.util.List;

/**
 * Receives a watch's changes, copied, on the executor the watch was created with, one call at a time and in revision
 * order (the node serializes its calls whatever the executor's threads).
 */
public interface WatchListener {
    /**
     * Changes in revision order; a batch never splits a revision's changes, so a transaction's changes arrive
     * together.
     *
     * @param events   the changes.
     * @param revision the keyspace's revision when they were read: every change up to it has been delivered.
     */
    void onEvents(List<WatchEvent> events, long revision);

    /**
     * The watch needed a revision that was compacted away: it is cancelled; nothing more comes.
     *
     * @param compactRevision the keyspace's compacted revision (restart from it, or later).
     */
    default void onCompacted(final long compactRevision) {
    }

    /**
     * Nothing changed for etcd's progress interval (only for watches that asked for it).
     *
     * @param revision every change up to it has been delivered.
     */
    default void onProgress(final long revision) {
    }
}
