package io.cairn.embedded;

import io.cairn.consensus.loop.RaftListener;
import org.agrona.DirectBuffer;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The requests this member handed to its loop and has not heard back about, one slot per kind, keyed by the
 * correlation ID the loop answers with: writes (answered with the keyspace's response), linearizable reads (the read
 * index), leadership transfers and membership changes (done or refused) and lease questions to the leader's keeper.
 * The kinds are apart so that each answer completes what it belongs to and the metrics count what happened: a
 * transfer is not a committed proposal.
 *
 * <p>Deadlines: a request's future is {@link Deadlined}; one sweep on the watchdog thread every
 * {@link #EXPIRY_SWEEP_MS} while requests are in flight (none on an idle member) fails those past their deadline with
 * {@link CairnError#TIMEOUT} (etcd's "request timed out"), instead of {@code orTimeout}'s timer per request, which woke
 * the JDK's delay thread twice per request (schedule and cancel), a futex call and a context switch each on the
 * threads that answer.
 */
final class Requests {
    /** How long a request may wait for its answer (etcd's request timeout is 7 s with default settings). */
    static final long REQUEST_TIMEOUT_MS = 7_000;
    /** How often the watchdog fails requests past their deadline. */
    static final long EXPIRY_SWEEP_MS = 250;
    /** Zero-allocation writes in flight at most (more are refused with {@link CairnError#TOO_MANY_REQUESTS}). */
    static final int WRITE_SLOTS = 8192;

    final Map<Long, CompletableFuture<DirectBuffer>> writes = new ConcurrentHashMap<>();
    final Map<Long, CompletableFuture<Long>> reads = new ConcurrentHashMap<>();
    final Map<Long, CompletableFuture<Void>> transfers = new ConcurrentHashMap<>();
    final Map<Long, CompletableFuture<Void>> membershipChanges = new ConcurrentHashMap<>();
    final Map<Long, CompletableFuture<long[]>> leaseAnswers = new ConcurrentHashMap<>();
    /** Membership calls relayed to the leader, completed with the configuration index that holds the change. */
    final Map<Long, CompletableFuture<Long>> membershipRelays = new ConcurrentHashMap<>();
    final AtomicLong writesCommitted = new AtomicLong();
    final AtomicLong writesFailed = new AtomicLong();
    final AtomicInteger writesPending = new AtomicInteger();
    /** The writes of the zero-allocation path, in flight. */
    final WriteSlots slots = new WriteSlots(WRITE_SLOTS);
    private final AtomicLong correlations = new AtomicLong();
    private final ScheduledExecutorService watchdog;
    /** An expiry sweep is scheduled: sweeps run only while requests are in flight. */
    private final AtomicBoolean expiryArmed = new AtomicBoolean();

    /**
     * @param watchdog where the expiry sweeps run.
     */
    Requests(final ScheduledExecutorService watchdog) {
        this.watchdog = watchdog;
    }

    /**
     * @return a correlation ID no request of this member has had.
     */
    long nextId() {
        return correlations.incrementAndGet();
    }

    /**
     * Registers a request in its slot and makes sure a sweep will look at it.
     *
     * @param slot   the kind's slot.
     * @param id     its correlation ID.
     * @param future its future.
     * @param <T>    what it completes with.
     * @return the future.
     */
    <T> CompletableFuture<T> register(final Map<Long, CompletableFuture<T>> slot, final long id,
        final CompletableFuture<T> future) {
        slot.put(id, future);
        armExpiry();
        return future;
    }

    /**
     * Completes whatever waits for {@code correlationId} with the loop's code; writes are completed by the caller,
     * which copies the response out of the applied run.
     *
     * @param correlationId the request.
     * @param code          {@link RaftListener#COMMITTED} or why not.
     * @return true if a transfer or membership change was waiting for it.
     */
    boolean completeOther(final long correlationId, final long code) {
        final CompletableFuture<Void> transfer = transfers.remove(correlationId);
        final CompletableFuture<Void> done = transfer != null ? transfer : membershipChanges.remove(correlationId);
        if (done == null) {
            return false;
        }
        if (code == RaftListener.COMMITTED) {
            done.complete(null);
        } else {
            done.completeExceptionally(new ProposalFailed(code));
        }
        return true;
    }

    /**
     * Fails every request past its deadline (a few hundred in flight at most under load: a cheap walk).
     */
    private void expireRequests() {
        expiryArmed.set(false); // first: a request registered from here on arms the next sweep itself
        final long nowNs = System.nanoTime();
        expire(writes.values(), nowNs);
        expire(reads.values(), nowNs);
        expire(transfers.values(), nowNs);
        expire(leaseAnswers.values(), nowNs);
        expire(membershipRelays.values(), nowNs);
        final int slotted = slots.expire(nowNs);
        if (slotted > 0 || !writes.isEmpty() || !reads.isEmpty() || !transfers.isEmpty() || !leaseAnswers.isEmpty()
            || !membershipRelays.isEmpty()) {
            armExpiry();
        }
    }

    /**
     * Schedules the next expiry sweep unless one is scheduled. Called after a request is registered (so the sweep
     * that runs next finds it, or the request arms a sweep of its own).
     */
    void armExpiry() {
        if (!expiryArmed.get() && expiryArmed.compareAndSet(false, true)) {
            try {
                watchdog.schedule(this::expireRequests, EXPIRY_SWEEP_MS, TimeUnit.MILLISECONDS);
            } catch (final RejectedExecutionException closing) {
                expiryArmed.set(false); // the member is closing: its clients are cut off with the server
            }
        }
    }

    /**
     * @param futures requests in flight.
     * @param nowNs   now ({@link System#nanoTime()}).
     */
    static void expire(final Iterable<? extends CompletableFuture<?>> futures, final long nowNs) {
        for (final CompletableFuture<?> future : futures) {
            if (future instanceof Deadlined<?> deadlined && nowNs - deadlined.deadlineNs >= 0) {
                future.completeExceptionally(new CairnException(CairnError.TIMEOUT));
            }
        }
    }

    /**
     * A request's future with its deadline, which the sweep enforces.
     *
     * @param <T> what the request completes with.
     */
    static final class Deadlined<T> extends CompletableFuture<T> {
        private final long deadlineNs;

        /** A request that times out {@link #REQUEST_TIMEOUT_MS} from now. */
        Deadlined() {
            this(System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(REQUEST_TIMEOUT_MS));
        }

        /**
         * @param deadlineNs when it times out ({@link System#nanoTime()}).
         */
        Deadlined(final long deadlineNs) {
            this.deadlineNs = deadlineNs;
        }
    }
}
