package io.cairn.embedded;

import io.cairn.consensus.RaftCore;
import io.cairn.consensus.RaftResult;
import io.cairn.consensus.Role;
import io.cairn.consensus.keyspace.KeyspaceMember;
import io.cairn.consensus.loop.LoopDuty;
import io.cairn.consensus.loop.RaftRequests;
import org.agrona.DirectBuffer;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Function;
import java.util.function.LongUnaryOperator;

/**
 * Carries a membership call made on a follower to the leader inside Raft, the way lease keep-alives travel: the
 * caller offers a {@link #RELAY} request to this member's loop, the loop relays it to the leader
 * ({@code RaftCore.forwardLocal}), the leader's loop hands it to the leader's pool, which runs etcd's checks and the
 * change ({@link ClusterClient}) and offers the outcome back to its loop as an {@link #ANSWER}, which leaves as the
 * relayed request's answer: the code (0, or 1 + the {@link CairnError}'s ordinal; members run one build) and the
 * configuration index at which the change applied. Nothing is retried: a relay lost with a leader times out.
 *
 * <p>On the loop's thread, except the leader side's work and the callers' completions, which run on the pool (never on
 * the loop: a caller's continuation must not stall it).
 */
final class MembershipRelay implements LoopDuty {
    /** A caller's request, to relay (follower) or to carry out (leader). */
    static final byte RELAY = KeyspaceMember.APPLICATION_TYPE_MIN;
    /** The leader's pool has an outcome for a relayed request: send it. */
    static final byte ANSWER = RELAY + 1;
    private static final CairnError[] ERRORS = CairnError.values();

    private final Executor executor;
    private final Map<Long, CompletableFuture<Long>> pending;
    private final Function<MembershipRequest, CompletableFuture<Long>> leader;
    private final LongUnaryOperator eachCycle;
    private volatile RaftRequests loop;

    /**
     * @param executor  the node's pool.
     * @param pending   the callers' futures by correlation ID, completed with the configuration index.
     * @param leader    the leader's side: checks and proposes, completes with the configuration index.
     * @param eachCycle the node's own work every loop cycle (closing removed peers' publications): given the loop's
     *                  clock, returns work done.
     */
    MembershipRelay(final Executor executor, final Map<Long, CompletableFuture<Long>> pending,
        final Function<MembershipRequest, CompletableFuture<Long>> leader, final LongUnaryOperator eachCycle) {
        this.executor = executor;
        this.pending = pending;
        this.leader = leader;
        this.eachCycle = eachCycle;
    }

    /**
     * @param requests the loop's request ring, where answers are offered (set once the member is built).
     */
    void attach(final RaftRequests requests) {
        this.loop = requests;
    }

    @Override
    public int doWork(final long nowNs, final RaftCore core) {
        return (int)eachCycle.applyAsLong(nowNs);
    }

    @Override
    public void onLocalRequest(final long correlationId, final byte type, final DirectBuffer buffer, final int offset,
        final int length, final long nowNs, final RaftCore core) {
        if (type == ANSWER) {
            RelayAnswer.send(core, correlationId, buffer, offset);
            return;
        }
        if (core.role() == Role.LEADER) {
            // Leads now (it did not when the caller looked): carry it out here.
            final MembershipRequest request = MembershipRequest.decode(buffer, offset, length);
            if (request == null) {
                complete(correlationId, 1 + CairnError.INVALID.ordinal(), 0);
                return;
            }
            run(() -> leader.apply(request).whenComplete((index, error) -> complete(correlationId,
                error == null ? 0 : code(error), index == null ? 0 : index)), correlationId);
            return;
        }
        final long relayed = core.forwardLocal(correlationId, RELAY, buffer, offset, length);
        if (relayed != RaftResult.ACCEPTED) {
            complete(correlationId, 1 + CairnError.ofLoop(relayed).ordinal(), 0);
        }
    }

    @Override
    public void onPeerRequest(final int from, final long requestId, final byte type, final DirectBuffer buffer,
        final int offset, final int length, final long nowNs, final RaftCore core) {
        final MembershipRequest request = type == RELAY ? MembershipRequest.decode(buffer, offset, length) : null;
        if (request == null || core.role() != Role.LEADER) {
            core.answerLocal(from, requestId, 1 + (request == null ? CairnError.INVALID : CairnError.NO_LEADER)
                .ordinal(), 0, 0);
            return;
        }
        run(() -> leader.apply(request).whenComplete((index, error) -> answer(from, requestId,
            error == null ? 0 : code(error), index == null ? 0 : index)), requestId);
    }

    @Override
    public void onPeerAnswer(final long requestId, final int code, final long value, final long second) {
        complete(requestId, code, second); // ids of other duties' requests are not in the map
    }

    private void run(final Runnable work, final long correlationId) {
        try {
            executor.execute(work);
        } catch (final RejectedExecutionException closing) {
            final CompletableFuture<Long> future = pending.remove(correlationId);
            if (future != null) {
                future.completeExceptionally(new CairnException(CairnError.STOPPED));
            }
        }
    }

    // On the leader's pool: the outcome goes back through the loop, which sends it with its next messages.
    private void answer(final int to, final long requestId, final int code, final long configIndex) {
        RelayAnswer.offer(loop, requestId, ANSWER, to, code, 0, configIndex); // lost: the relay times out
    }

    private void complete(final long correlationId, final int code, final long configIndex) {
        final CompletableFuture<Long> future = pending.remove(correlationId);
        if (future == null) {
            return;
        }
        final Runnable completion = () -> {
            if (code == 0) {
                future.complete(configIndex);
            } else {
                future.completeExceptionally(new CairnException(code > 0 && code <= ERRORS.length ? ERRORS[code - 1]
                    : CairnError.INVALID));
            }
        };
        try {
            executor.execute(completion);
        } catch (final RejectedExecutionException closing) {
            future.completeExceptionally(new CairnException(CairnError.STOPPED));
        }
    }

    /**
     * @param error a failure of the leader's side.
     * @return its wire code.
     */
    static int code(final Throwable error) {
        final CairnException found = CairnException.find(error);
        return 1 + (found == null ? CairnError.TIMEOUT : found.error()).ordinal();
    }
}
