package io.cairn.embedded.kv;

import java.util.List;
import java.util.Optional;

/**
 * What one write or read did: the answers of {@link io.cairn.embedded.KvClient} and the per-op answers inside a
 * {@link TxnResult}. {@link #revision()} is the keyspace's revision after it (etcd's header revision).
 */
public sealed interface OpResult permits OpResult.Put, OpResult.Delete, OpResult.Range, TxnResult {
    /**
     * @return the keyspace's revision after the operation.
     */
    long revision();

    /**
     * A put's answer.
     *
     * @param revision the revision it wrote.
     * @param previous the key's value before, when asked for and present.
     */
    record Put(long revision, Optional<KeyValue> previous) implements OpResult {
    }

    /**
     * A delete's answer.
     *
     * @param revision the revision after it (unchanged when nothing was deleted).
     * @param deleted  how many keys it deleted.
     * @param previous their values before, when asked for.
     */
    record Delete(long revision, long deleted, List<KeyValue> previous) implements OpResult {
    }

    /**
     * A range read's answer.
     *
     * @param revision the revision it read at (the current one unless the query named one).
     * @param count    how many keys are in the range (all of them, whatever the limit).
     * @param more     whether the limit left keys out.
     * @param kvs      the key-values (none for count-only reads).
     */
    record Range(long revision, long count, boolean more, List<KeyValue> kvs) implements OpResult {
        /**
         * @return the first key-value, if any (a single-key get's answer).
         */
        public Optional<KeyValue> first() {
            return kvs.isEmpty() ? Optional.empty() : Optional.of(kvs.get(0));
        }
    }
}
