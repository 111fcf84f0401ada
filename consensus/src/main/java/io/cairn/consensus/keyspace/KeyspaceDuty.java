package io.cairn.consensus.keyspace;

import io.cairn.consensus.RaftCore;
import io.cairn.consensus.loop.LoopDuty;
import org.agrona.DirectBuffer;

/**
 * The loop work of a keyspace member: the lease keeper's, and the application's (an embedded node's membership
 * relay), told apart by request type ({@link KeyspaceMember#APPLICATION_TYPE_MIN}). Relayed answers carry no type, so
 * both hear each one and act only on the ids they issued.
 */
final class KeyspaceDuty implements LoopDuty {
    private final LeaseKeeper leases;
    private final LoopDuty application;

    KeyspaceDuty(final LeaseKeeper leases, final LoopDuty application) {
        this.leases = leases;
        this.application = application;
    }

    private LoopDuty owner(final byte type) {
        return type >= KeyspaceMember.APPLICATION_TYPE_MIN ? application : leases;
    }

    @Override
    public int doWork(final long nowNs, final RaftCore core) {
        return leases.doWork(nowNs, core) + application.doWork(nowNs, core);
    }

    @Override
    public void onLocalRequest(final long correlationId, final byte type, final DirectBuffer buffer, final int offset,
        final int length, final long nowNs, final RaftCore core) {
        owner(type).onLocalRequest(correlationId, type, buffer, offset, length, nowNs, core);
    }

    @Override
    public void onPeerRequest(final int from, final long requestId, final byte type, final DirectBuffer buffer,
        final int offset, final int length, final long nowNs, final RaftCore core) {
        owner(type).onPeerRequest(from, requestId, type, buffer, offset, length, nowNs, core);
    }

    @Override
    public void onPeerAnswer(final long requestId, final int code, final long value, final long second) {
        leases.onPeerAnswer(requestId, code, value, second);
        application.onPeerAnswer(requestId, code, value, second);
    }
}
