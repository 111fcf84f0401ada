package io.cairn.embedded.kv;

/**
 * How current a read must be (etcd's {@code serializable} flag).
 */
public enum ReadMode {
    /**
     * Sees every write acknowledged anywhere before the read began: one ReadIndex round with the leader (a heartbeat
     * round trip), then the local keyspace. etcd's default.
     */
    LINEARIZABLE,
    /** This member's keyspace as it is now, with no round trip: may be behind the leader. */
    SERIALIZABLE
}
