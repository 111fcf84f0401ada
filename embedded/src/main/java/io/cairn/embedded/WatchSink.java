package io.cairn.embedded;

import io.cairn.engine.mvcc.KeyValueView;

/**
 * Receives one watch's changes on the node's watch thread, as views into the keyspace (valid during the call; copy
 * what must outlive it): the zero-copy form of {@link CairnNode#watch}. The dispatcher reads each watch's changes from
 * the keyspace's history from the next revision it needs, in passes; a pass delivers {@link #onEvent}s in revision
 * order and ends with {@link #onBatchEnd}. A sink that is not {@link #ready} is skipped and catches up later; one that
 * is {@link #full} ends the pass at the next revision boundary. Methods must return quickly and throw nothing: they
 * run on the one thread that serves every watch of the node.
 */
public interface WatchSink {
    /**
     * @return false while the consumer cannot take more (flow control): the watch falls behind and catches up.
     */
    default boolean ready() {
        return true;
    }

    /**
     * @return true when the events since the last batch end fill a batch: the pass ends before the next revision.
     */
    default boolean full() {
        return false;
    }

    /**
     * A change in the watched range that passes the watch's filters.
     *
     * @param change   the key-value after it ({@link KeyValueView#isTombstone()} for a delete).
     * @param previous the key-value before it, when asked for and there was one; null otherwise.
     */
    void onEvent(KeyValueView change, KeyValueView previous);

    /**
     * A pass delivered events: every change up to the pass's end is delivered.
     *
     * @param revision the keyspace's revision when the pass read it.
     */
    void onBatchEnd(long revision);

    /**
     * The next revision the watch needs was compacted away: the watch is cancelled (etcd's answer).
     *
     * @param compactRevision the keyspace's compacted revision.
     * @param revision        the keyspace's revision.
     */
    void onCompacted(long compactRevision, long revision);

    /**
     * Nothing was delivered for the progress interval (only for watches that asked for it).
     *
     * @param revision the keyspace's revision: every change up to it was delivered.
     */
    default void onProgress(final long revision) {
    }
}
