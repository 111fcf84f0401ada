package io.cairn.consensus.loop;

import io.cairn.consensus.RaftCore;
import org.agrona.DirectBuffer;

/**
 * Two loop duties as one, told apart by request type: types below {@code firstHighType} go to the low duty, the rest
 * to the high one (a keyspace member's lease keeper and its application's duties; an embedded node's membership relay
 * and its corruption check). Relayed answers carry no type, so both hear each one and act only on the IDs they issued.
 */
public final class SplitDuty implements LoopDuty {
    private final LoopDuty low;
    private final byte firstHighType;
    private final LoopDuty high;

    /**
     * @param low           the duty of the types below {@code firstHighType}.
     * @param firstHighType the first type the high duty owns.
     * @param high          the duty of the types from {@code firstHighType}.
     */
    public SplitDuty(final LoopDuty low, final byte firstHighType, final LoopDuty high) {
        this.low = low;
        this.firstHighType = firstHighType;
        this.high = high;
    }

    private LoopDuty owner(final byte type) {
        return type >= firstHighType ? high : low;
    }

    @Override
    public int doWork(final long nowNs, final RaftCore core) {
        return low.doWork(nowNs, core) + high.doWork(nowNs, core);
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
        low.onPeerAnswer(requestId, code, value, second);
        high.onPeerAnswer(requestId, code, value, second);
    }
}
