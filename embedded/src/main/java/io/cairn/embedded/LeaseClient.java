package io.cairn.embedded;

import io.cairn.consensus.keyspace.LeaseKeeper;
import io.cairn.embedded.kv.LeaseInfo;
import io.cairn.engine.mvcc.CommandEncoder;
import io.cairn.engine.mvcc.MvccResponse;
import io.cairn.engine.mvcc.MvccValidator;
import org.agrona.DirectBuffer;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * etcd's Lease calls on a {@link CairnNode}, typed. Grants and revokes are writes through Raft (any member); the time
 * of a lease lives on the leader only (its keeper revokes an expired lease, deleting its keys in one revision on every
 * member), so a keep-alive or a TTL question on a follower is relayed to the leader inside Raft and answered from
 * there. A new leader gives every lease its whole TTL again, as etcd's does. Futures fail with {@link CairnException}:
 * {@link CairnError#LEASE_NOT_FOUND}, {@link CairnError#LEASE_TTL_TOO_LARGE}, {@link CairnError#NO_LEADER},
 * {@link CairnError#TIMEOUT}. Thread-safe.
 */
public final class LeaseClient {
    /** etcd's minimum TTL with a 100 ms heartbeat and 1 s election timeout: ceil(1.5 × election), in seconds. */
    public static final long TTL_MIN_SECONDS = 2;
    private static final ThreadLocal<CommandEncoder> ENCODERS = ThreadLocal.withInitial(CommandEncoder::new);

    private final CairnNode node;

    LeaseClient(final CairnNode node) {
        this.node = node;
    }

    /**
     * A lease with an ID this node picks (its member ID in the top bits, as etcd's).
     *
     * @param ttlSeconds its TTL (raised to {@link #TTL_MIN_SECONDS}, as etcd does).
     * @return completes with the lease's ID and TTL.
     */
    public CompletableFuture<LeaseInfo> grant(final long ttlSeconds) {
        return grant(node.newLeaseId(), ttlSeconds);
    }

    /**
     * @param id         the lease's ID (non-zero; {@link CairnError#LEASE_EXISTS} if taken).
     * @param ttlSeconds its TTL (raised to {@link #TTL_MIN_SECONDS}).
     * @return completes with the lease's ID and TTL.
     */
    public CompletableFuture<LeaseInfo> grant(final long id, final long ttlSeconds) {
        if (ttlSeconds > MvccValidator.LEASE_TTL_MAX) {
            return CompletableFuture.failedFuture(new CairnException(CairnError.LEASE_TTL_TOO_LARGE));
        }
        final long ttl = Math.max(ttlSeconds, TTL_MIN_SECONDS);
        final CommandEncoder encoder = ENCODERS.get().reset().leaseGrant(id, ttl);
        return write(encoder).thenApply(response -> new LeaseInfo(id, ttl, ttl, List.of()));
    }

    /**
     * Revokes a lease: its keys are deleted in one revision.
     *
     * @param id the lease.
     * @return completes with the revision after it.
     */
    public CompletableFuture<Long> revoke(final long id) {
        final CommandEncoder encoder = ENCODERS.get().reset().leaseRevoke(id);
        return write(encoder).thenApply(response -> MvccResponse.revision(response, 0));
    }

    /**
     * Renews a lease once (the leader restarts its TTL). A service that holds a lease calls this about every third of
     * its TTL.
     *
     * @param id the lease.
     * @return completes with the TTL it was renewed for; fails with {@link CairnError#LEASE_NOT_FOUND} when the lease
     *     is gone.
     */
    public CompletableFuture<Long> keepAliveOnce(final long id) {
        return node.leaseRequest(LeaseKeeper.KEEP_ALIVE, id).thenApply(answer -> {
            if (answer[0] == LeaseKeeper.NOT_FOUND) {
                throw new CairnException(CairnError.LEASE_NOT_FOUND);
            }
            if (answer[0] != LeaseKeeper.OK) {
                throw new CairnException(CairnError.NO_LEADER);
            }
            return answer[1];
        });
    }

    /**
     * @param id       the lease.
     * @param withKeys list the keys attached to it.
     * @return completes with what the leader's keeper and this member's keyspace say of it ({@code ttl} -1 when it
     *     does not exist).
     */
    public CompletableFuture<LeaseInfo> timeToLive(final long id, final boolean withKeys) {
        return node.leaseRequest(LeaseKeeper.TIME_TO_LIVE, id).thenApplyAsync(answer -> {
            if (answer[0] == LeaseKeeper.NOT_LEADER) {
                throw new CairnException(CairnError.NO_LEADER);
            }
            return node.read(reader -> {
                final long granted = reader.leaseTtl(id);
                if (answer[0] != LeaseKeeper.OK || granted < 0) {
                    return new LeaseInfo(id, -1, 0, List.of());
                }
                final List<byte[]> keys = new ArrayList<>();
                if (withKeys) {
                    reader.leaseKeys(id, (buffer, offset, length) -> {
                        final byte[] key = new byte[length];
                        buffer.getBytes(offset, key);
                        keys.add(key);
                    });
                }
                return new LeaseInfo(id, answer[1], granted, keys);
            });
        }, node.executor());
    }

    /**
     * @return the IDs of every lease in this member's keyspace (etcd's LeaseLeases).
     */
    public List<Long> leases() {
        return node.read(reader -> {
            final List<Long> ids = new ArrayList<>();
            reader.leases((leaseId, ttl) -> ids.add(leaseId));
            return List.copyOf(ids);
        });
    }

    private CompletableFuture<DirectBuffer> write(final CommandEncoder encoder) {
        return node.validateAndWrite(encoder.buffer(), encoder.length());
    }
}
