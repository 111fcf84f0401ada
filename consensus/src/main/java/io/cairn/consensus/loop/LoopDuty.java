package io.cairn.consensus.loop;

import io.cairn.consensus.RaftCore;
import org.agrona.DirectBuffer;

/**
 * Work of the application's that must run on the event loop's thread: time-driven decisions only a leader makes
 * (etcd's lease expiry becomes revoke proposals) and local requests other threads send through
 * {@link RaftRequests#offerLocal} (a lease keep-alive, a TTL lookup). Called every duty cycle, before the core's
 * outputs are handled, so whatever it proposes joins the cycle's batch.
 */
public interface LoopDuty {
    /**
     * @param nowNs the loop's clock.
     * @param core  the core (propose through it; the entries are the application's own, nobody waits on them).
     * @return work done, for the idle strategy.
     */
    int doWork(long nowNs, RaftCore core);

    /**
     * A request another thread offered with {@link RaftRequests#offerLocal}.
     *
     * @param correlationId the caller's id.
     * @param type          the application's request type.
     * @param buffer        its bytes (valid during the call).
     * @param offset        where they start.
     * @param length        how many.
     * @param nowNs         the loop's clock.
     * @param core          the core.
     */
    void onLocalRequest(long correlationId, byte type, DirectBuffer buffer, int offset, int length, long nowNs,
        RaftCore core);

    /**
     * A request a follower's duty relayed to this member ({@link RaftCore#forwardLocal}); answer it with
     * {@link RaftCore#answerLocal} during this call (the answer leaves with this cycle's messages).
     *
     * @param from      the member that relayed it.
     * @param requestId its id, to echo.
     * @param type      the request type.
     * @param buffer    its bytes (valid during the call).
     * @param offset    where they start.
     * @param length    how many.
     * @param nowNs     the loop's clock.
     * @param core      the core.
     */
    default void onPeerRequest(final int from, final long requestId, final byte type, final DirectBuffer buffer,
        final int offset, final int length, final long nowNs, final RaftCore core) {
        core.answerLocal(from, requestId, 0, 0, 0);
    }

    /**
     * The leader's answer to a request this member relayed.
     *
     * @param requestId the id it was relayed with.
     * @param code      the leader duty's code.
     * @param value     its first value.
     * @param second    its second value.
     */
    default void onPeerAnswer(final long requestId, final int code, final long value, final long second) {
    }

    /** A duty for members that have none. */
    LoopDuty NONE = new LoopDuty() {
        @Override
        public int doWork(final long nowNs, final RaftCore core) {
            return 0;
        }

        @Override
        public void onLocalRequest(final long correlationId, final byte type, final DirectBuffer buffer,
            final int offset, final int length, final long nowNs, final RaftCore core) {
            // No local requests are expected without a duty.
        }
    };
}
