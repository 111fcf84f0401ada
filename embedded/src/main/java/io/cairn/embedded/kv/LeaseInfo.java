package io.cairn.embedded.kv;

import java.util.List;

/**
 * A lease as etcd's LeaseTimeToLive describes it.
 *
 * @param id         the lease.
 * @param ttl        seconds left, as the leader keeps time; -1 when the lease does not exist (expired, revoked or
 *                   never granted), as etcd answers.
 * @param grantedTtl the TTL it was granted with (0 when it does not exist).
 * @param keys       the keys attached to it, when asked for.
 */
public record LeaseInfo(long id, long ttl, long grantedTtl, List<byte[]> keys) {
    /**
     * Copies the list.
     */
    public LeaseInfo {
        keys = List.copyOf(keys);
    }

    /**
     * @return whether the lease exists.
     */
    public boolean exists() {
        return ttl >= 0;
    }
}
