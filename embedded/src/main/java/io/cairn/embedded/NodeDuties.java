package io.cairn.embedded;

import io.cairn.consensus.RaftCore;
import io.cairn.consensus.loop.LoopDuty;
import org.agrona.DirectBuffer;

/**
 * The node's own loop work, told apart by request type: membership relays ({@link MembershipRelay}) below
 * {@link CorruptionCheck#REPORT}, corruption checks from it. Relayed answers carry no type, so both hear each one and
 * act only on the IDs they issued (IDs come from one counter).
 */
final class NodeDuties implements LoopDuty {
    private final MembershipRelay membership;
    private final CorruptionCheck corruption;

    NodeDuties(final MembershipRelay membership, final CorruptionCheck corruption) {
        this.membership = membership;
        this.corruption = corruption;
    }

    private LoopDuty owner(final byte type) {
        return type >= CorruptionCheck.REPORT ? corruption : membership;
    }

    @Override
    public int doWork(final long nowNs, final RaftCore core) {
        return membership.doWork(nowNs, core) + corruption.doWork(nowNs, core);
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
        membership.onPeerAnswer(requestId, code, value, second);
        corruption.onPeerAnswer(requestId, code, value, second);
    }
}
