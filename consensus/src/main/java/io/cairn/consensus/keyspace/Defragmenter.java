package io.cairn.consensus.keyspace;

import io.cairn.consensus.RaftCore;
import io.cairn.consensus.loop.LoopDuty;
import io.cairn.consensus.loop.RaftRequests;
import io.cairn.engine.mvcc.Defragmentation;
import io.cairn.engine.mvcc.MvccStore;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * etcd's {@code Maintenance.Defragment} for this member, on the loop ({@link Defragmentation} says how): the copy
 * runs on a thread of its own; the loop applies the batches the copy missed, at most
 * {@link #STEP_BUDGET_NS} per cycle, and does the swap, during which (only) writes and applies wait. Like etcd's, it
 * is local to the member asked; requests that arrive while one is under way get its result.
 */
public final class Defragmenter implements LoopDuty {
    /** A request: defragment (or wait for the defragmentation under way). */
    public static final byte DEFRAGMENT = 8;
    /** The worker finished a step: wakes the loop. */
    static final byte STEP = DEFRAGMENT + 1;
    /** Time the loop spends applying batches to the copy per cycle. */
    static final long STEP_BUDGET_NS = 1_000_000;
    /** Most batches left to apply when the swap starts (the rest are applied during it). */
    static final int FINISH_BATCHES = 4;
    /** Most bytes of batches kept for the copy (writes faster than it catches up abandon it). */
    static final long JOURNAL_BYTES_MAX = 256L << 20;
    private static final System.Logger LOG = System.getLogger(Defragmenter.class.getName());
    private static final DirectBuffer EMPTY = new UnsafeBuffer(new byte[0]);

    /**
     * What a defragmentation did.
     *
     * @param bytesBefore the store's used bytes before ({@code dbSize}).
     * @param bytesAfter  after.
     * @param tookNs      from the request to the swap.
     * @param pauseNs     the swap: the time writes waited.
     * @param batches     batches applied to the copy.
     */
    public record Report(long bytesBefore, long bytesAfter, long tookNs, long pauseNs, long batches) {
    }

    private enum Phase { IDLE, COPYING, CATCHING_UP }

    private final MvccStore store;
    private final RaftRequests requests;
    private final Map<Long, CompletableFuture<Report>> offered = new ConcurrentHashMap<>();
    private final List<CompletableFuture<Report>> waiting = new ArrayList<>();
    private final AtomicLong ids = new AtomicLong();
    private final AtomicLong done = new AtomicLong();
    private final LazyWorker worker = new LazyWorker("cairn-defragment");
    private Phase phase = Phase.IDLE;
    private Defragmentation defragmentation;
    private Future<?> step;
    private long startNs;
    private long bytesBefore;
    private volatile Report last;

    /**
     * @param store    the member's keyspace.
     * @param requests the loop's request ring (requests and wake-ups go through it).
     */
    public Defragmenter(final MvccStore store, final RaftRequests requests) {
        this.store = store;
        this.requests = requests;
    }

    /**
     * Asks for a defragmentation; thread-safe.
     *
     * @return completed (off the loop's thread) when the compact store is in place, or exceptionally with why not.
     */
    public CompletableFuture<Report> request() {
        final long id = ids.incrementAndGet();
        final CompletableFuture<Report> result = new CompletableFuture<>();
        offered.put(id, result);
        if (!requests.offerLocal(id, DEFRAGMENT, EMPTY, 0, 0)) {
            offered.remove(id);
            result.completeExceptionally(new IOException("the member is too busy to take a defragmentation now"));
        }
        return result;
    }

    /**
     * @return defragmentations finished.
     */
    public long defragmentations() {
        return done.get();
    }

    /**
     * @return the last finished defragmentation's report, or null.
     */
    public Report last() {
        return last;
    }

    @Override
    public void onLocalRequest(final long correlationId, final byte type, final DirectBuffer buffer,
        final int offset, final int length, final long nowNs, final RaftCore core) {
        if (type != DEFRAGMENT) {
            return; // STEP only wakes the loop
        }
        final CompletableFuture<Report> result = offered.remove(correlationId);
        if (result == null) {
            return;
        }
        waiting.add(result);
        if (phase == Phase.IDLE) {
            startNs = System.nanoTime();
            bytesBefore = store.usedBytes();
            defragmentation = store.beginDefragmentation(JOURNAL_BYTES_MAX);
            final Defragmentation started = defragmentation;
            phase = Phase.COPYING;
            step = worker.executor().submit(() -> {
                started.copy();
                wake();
                return null;
            });
        }
    }

    @Override
    public int doWork(final long nowNs, final RaftCore core) {
        try {
            switch (phase) {
                case COPYING:
                    if (!step.isDone()) {
                        return 0;
                    }
                    step.get();
                    defragmentation.open();
                    phase = Phase.CATCHING_UP;
                    return 1;
                case CATCHING_UP:
                    if (catchUp() <= FINISH_BATCHES && !store.copying()) {
                        finish(); // (a snapshot being copied would hold the swap up: wait for it)
                    }
                    return 1;
                default:
                    return 0;
            }
        } catch (final IOException | ExecutionException | RuntimeException ex) {
            fail(ex instanceof ExecutionException && ex.getCause() != null ? ex.getCause() : ex);
            return 1;
        } catch (final InterruptedException ex) {
            Thread.currentThread().interrupt();
            fail(ex);
            return 1;
        }
    }

    private int catchUp() throws IOException {
        final long start = System.nanoTime();
        int left;
        do {
            left = defragmentation.catchUp(16);
        } while (left > 0 && System.nanoTime() - start < STEP_BUDGET_NS);
        return left;
    }

    private void finish() throws IOException {
        final long swapStart = System.nanoTime();
        defragmentation.finish();
        final long now = System.nanoTime();
        final Defragmentation finished = defragmentation;
        worker.executor().execute(() -> {
            try {
                finished.deleteLeftovers();
            } catch (final IOException ex) {
                LOG.log(System.Logger.Level.WARNING, "the keyspace's old file was not deleted: {0}", ex.getMessage());
            }
        });
        final Report report = new Report(bytesBefore, store.usedBytes(), now - startNs, now - swapStart,
            defragmentation.replayed());
        defragmentation = null;
        phase = Phase.IDLE;
        last = report;
        done.incrementAndGet();
        LOG.log(System.Logger.Level.INFO, "defragmented the keyspace: {0} -> {1} bytes in {2} ms; writes waited {3}"
            + " ms for the swap; {4} batches written meanwhile applied to the copy", report.bytesBefore(),
            report.bytesAfter(), report.tookNs() / 1_000_000, String.format("%.1f", report.pauseNs() / 1e6),
            report.batches());
        complete(result -> result.complete(report));
    }

    private void fail(final Throwable why) {
        LOG.log(System.Logger.Level.WARNING, "defragmentation abandoned: {0}", why.toString());
        if (defragmentation != null) {
            defragmentation.close();
            defragmentation = null;
        }
        phase = Phase.IDLE;
        complete(result -> result.completeExceptionally(why));
    }

    private void complete(final java.util.function.Consumer<CompletableFuture<Report>> how) {
        final List<CompletableFuture<Report>> results = new ArrayList<>(waiting);
        waiting.clear();
        worker.executor().execute(() -> results.forEach(how)); // callers' continuations never run on the loop
    }

    private void wake() {
        requests.offerLocal(0, STEP, EMPTY, 0, 0);
    }

    /**
     * Abandons a defragmentation under way (the loop has stopped) and stops the worker.
     */
    public void close() {
        worker.close();
        if (defragmentation != null) {
            defragmentation.close();
            defragmentation = null;
        }
        final IOException closed = new IOException("the member closed during the defragmentation");
        waiting.forEach(result -> result.completeExceptionally(closed));
        waiting.clear();
        offered.values().forEach(result -> result.completeExceptionally(closed));
        offered.clear();
        phase = Phase.IDLE;
    }
}
