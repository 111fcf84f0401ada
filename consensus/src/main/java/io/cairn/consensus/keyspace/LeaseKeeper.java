package io.cairn.consensus.keyspace;

import io.cairn.consensus.EntryType;
import io.cairn.consensus.RaftCore;
import io.cairn.consensus.RaftResult;
import io.cairn.consensus.Role;
import io.cairn.consensus.loop.LoopDuty;
import io.cairn.engine.lease.LeaseDeadlines;
import io.cairn.engine.lease.LeaseVisitor;
import io.cairn.engine.mvcc.CommandEncoder;
import io.cairn.engine.mvcc.MvccReader;
import io.cairn.engine.mvcc.MvccStore;
import org.agrona.DirectBuffer;
import org.agrona.collections.LongHashSet;

import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;

/**
 * etcd's lessor on the event loop: only the leader keeps time for leases. Every lease granted (applied) gets a
 * deadline of now + TTL on the leader; a keep-alive moves it; when it passes, the leader proposes a revoke (which
 * deletes the lease's keys in one revision on every member). A member that becomes leader gives every lease its whole
 * TTL again, as etcd does, so leadership moving never expires a lease early; a member that stops leading forgets.
 *
 * <p>Keep-alives and TTL questions arrive from other threads as local requests ({@link #KEEP_ALIVE},
 * {@link #TIME_TO_LIVE}, payload: the lease ID as a little-endian long) and are answered through {@link Responder}, on
 * the loop's thread. A follower that knows its leader relays them there inside Raft ({@code RaftCore.forwardLocal},
 * etcd relays them over HTTP) and answers when the leader's answer comes back; a relayed request lost with a leader is
 * never answered (the caller's timeout decides). {@link #NOT_LEADER} is the answer only when no leader is known.
 * Revokes are proposed at most {@link #REVOKES_PER_SECOND_MAX} per second (etcd's rate), and a lease whose revoke is in
 * flight answers keep-alives with "not found".
 */
public final class LeaseKeeper implements LoopDuty {
    /** Local request: renew a lease. */
    public static final byte KEEP_ALIVE = 1;
    /** Local request: how long a lease has left. */
    public static final byte TIME_TO_LIVE = 2;
    /** Answer: done; {@code ttlSeconds} is the TTL granted (keep-alive) or remaining (time-to-live). */
    public static final int OK = 0;
    /** Answer: this member is not the leader (ask it). */
    public static final int NOT_LEADER = 1;
    /** Answer: no such lease (never granted, revoked, or expired). */
    public static final int NOT_FOUND = 2;
    /** Most revokes proposed per second. */
    public static final int REVOKES_PER_SECOND_MAX = 1000;
    private static final long SECOND_NS = TimeUnit.SECONDS.toNanos(1);
    private static final long REVOKE_RETRY_NS = TimeUnit.SECONDS.toNanos(3);

    /** Told the answer to a local lease request, on the loop's thread. */
    @FunctionalInterface
    public interface Responder {
        /**
         * @param correlationId the request's id.
         * @param code          {@link #OK}, {@link #NOT_LEADER} or {@link #NOT_FOUND}.
         * @param leaseId       the lease.
         * @param ttlSeconds    granted (keep-alive) or remaining (time-to-live) seconds.
         */
        void onLeaseAnswer(long correlationId, int code, long leaseId, long ttlSeconds);
    }

    private final MvccStore store;
    private final Responder responder;
    private final LeaseDeadlines deadlines = new LeaseDeadlines(1024);
    private final LongHashSet revoking = new LongHashSet();
    private final CommandEncoder encoder = new CommandEncoder();
    private final LeaseVisitor refresher = this::restartLease;
    private MvccReader reader;
    private boolean leader;
    private long nowNs;
    private long windowStartNs;
    private int revokesInWindow;
    private long revokesProposed;
    private long relayed;
    private int answerCode;
    private long answerTtl;

    /**
     * @param store     the keyspace (read on the loop's thread for granted TTLs).
     * @param responder told the answers to local requests.
     */
    public LeaseKeeper(final MvccStore store, final Responder responder) {
        this.store = store;
        this.responder = responder;
    }

    @Override
    public int doWork(final long nowNs, final RaftCore core) {
        this.nowNs = nowNs;
        final boolean leading = core.role() == Role.LEADER;
        if (leading != leader) {
            leader = leading;
            if (leading) {
                refreshAll();
            } else {
                deadlines.clear();
                revoking.clear();
            }
        }
        if (!leader) {
            return 0;
        }
        if (nowNs - windowStartNs >= SECOND_NS) {
            windowStartNs = nowNs;
            revokesInWindow = 0;
        }
        int work = 0;
        while (deadlines.size() > 0 && deadlines.earliestDeadline() <= nowNs
            && revokesInWindow < REVOKES_PER_SECOND_MAX) {
            final long lease = deadlines.earliestLease();
            encoder.reset().leaseRevoke(lease);
            if (core.propose(EntryType.NORMAL, encoder.buffer(), 0, encoder.length()) < 0) {
                break; // full or no longer leader: try again next cycle
            }
            revoking.add(lease);
            deadlines.set(lease, nowNs + REVOKE_RETRY_NS); // proposed again if the revoke never applies
            revokesInWindow++;
            revokesProposed++;
            work++;
        }
        return work;
    }

    @Override
    public void onLocalRequest(final long correlationId, final byte type, final DirectBuffer buffer,
        final int offset, final int length, final long nowNs, final RaftCore core) {
        this.nowNs = nowNs;
        final long lease = length >= Long.BYTES ? buffer.getLong(offset, ByteOrder.LITTLE_ENDIAN) : 0;
        if ((core.role() != Role.LEADER || !leader)
            && core.forwardLocal(correlationId, type, buffer, offset, length) == RaftResult.ACCEPTED) {
            relayed++;
            return; // the leader's answer arrives as onPeerAnswer
        }
        answer(type, lease, core);
        responder.onLeaseAnswer(correlationId, answerCode, lease, answerTtl);
    }

    @Override
    public void onPeerRequest(final int from, final long requestId, final byte type, final DirectBuffer buffer,
        final int offset, final int length, final long nowNs, final RaftCore core) {
        this.nowNs = nowNs;
        final long lease = length >= Long.BYTES ? buffer.getLong(offset, ByteOrder.LITTLE_ENDIAN) : 0;
        answer(type, lease, core);
        core.answerLocal(from, requestId, answerCode, lease, answerTtl);
    }

    @Override
    public void onPeerAnswer(final long requestId, final int code, final long value, final long second) {
        responder.onLeaseAnswer(requestId, code, value, second);
    }

    /**
     * @return keep-alives and TTL questions this member relayed to the leader.
     */
    public long relayed() {
        return relayed;
    }

    // The answer to a keep-alive or TTL question here: into answerCode and answerTtl (no allocation).
    private void answer(final byte type, final long lease, final RaftCore core) {
        answerTtl = 0;
        if (core.role() != Role.LEADER || !leader) {
            answerCode = NOT_LEADER;
            return;
        }
        final long deadline = deadlines.deadline(lease);
        if (deadline == LeaseDeadlines.NO_DEADLINE || revoking.contains(lease)) {
            answerCode = NOT_FOUND;
            return;
        }
        answerCode = OK;
        if (type == KEEP_ALIVE) {
            answerTtl = grantedTtl(lease);
            deadlines.set(lease, nowNs + answerTtl * SECOND_NS);
        } else {
            final long remainingNs = Math.max(0, deadline - nowNs);
            answerTtl = (remainingNs + SECOND_NS - 1) / SECOND_NS;
        }
    }

    private long grantedTtl(final long lease) {
        final MvccReader current = reader();
        current.refresh();
        final long ttl = Math.max(current.leaseTtl(lease), 0);
        current.release(); // an idle reader must not pin an old snapshot (LMDB could not reuse freed pages)
        return ttl;
    }

    private MvccReader reader() {
        if (reader == null) {
            reader = store.newReader();
        }
        return reader;
    }

    /** Every lease gets its whole TTL again (a new leader, or a store replaced by a snapshot). */
    private void refreshAll() {
        deadlines.clear();
        revoking.clear();
        final MvccReader current = reader();
        current.refresh();
        current.leases(refresher);
        current.release();
    }

    private void restartLease(final long lease, final long ttlSeconds) {
        deadlines.set(lease, nowNs + ttlSeconds * SECOND_NS);
    }

    /**
     * A lease grant was applied (on every member; only the leader keeps its time).
     *
     * @param lease      the lease.
     * @param ttlSeconds its TTL.
     */
    void onGranted(final long lease, final long ttlSeconds) {
        if (leader) {
            deadlines.set(lease, nowNs + ttlSeconds * SECOND_NS);
        }
    }

    /**
     * A lease revoke was applied.
     *
     * @param lease the lease.
     */
    void onRevoked(final long lease) {
        deadlines.remove(lease);
        revoking.remove(lease);
    }

    /**
     * The store was replaced by a snapshot.
     */
    void onInstalled() {
        if (leader) {
            refreshAll();
        }
    }

    /**
     * @return revokes proposed for expired leases.
     */
    public long revokesProposed() {
        return revokesProposed;
    }

    /**
     * @return leases whose time this member keeps (0 unless leader).
     */
    public int leasesTimed() {
        return deadlines.size();
    }

    /**
     * Closes the keeper's reader (loop thread, when the member stops).
     */
    public void close() {
        if (reader != null) {
            reader.close();
            reader = null;
        }
    }
}
