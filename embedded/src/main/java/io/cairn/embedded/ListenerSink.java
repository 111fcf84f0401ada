package io.cairn.embedded;

import io.cairn.embedded.kv.KeyValue;
import io.cairn.embedded.kv.WatchEvent;
import io.cairn.engine.mvcc.KeyValueView;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A {@link WatchSink} that copies each batch into {@link WatchEvent}s and hands it to a {@link WatchListener} on the
 * caller's executor, one call at a time and in order (a queue drained by one task at a time, whatever the executor's
 * threads). While {@link #PENDING_MAX} batches wait for the executor the watch is not ready: it falls behind in the
 * keyspace's history, not in memory.
 */
final class ListenerSink implements WatchSink {
    /** Batches handed to the executor and not yet delivered, beyond which the watch waits. */
    static final int PENDING_MAX = 4;
    /** Events per batch, at most (a revision with more is delivered whole). */
    static final int EVENTS_PER_BATCH = 1_000;

    private final Executor executor;
    private final WatchListener listener;
    private final Queue<Runnable> calls = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean draining = new AtomicBoolean();
    private final AtomicInteger pending = new AtomicInteger();
    private List<WatchEvent> batch = new ArrayList<>();

    ListenerSink(final Executor executor, final WatchListener listener) {
        this.executor = executor;
        this.listener = listener;
    }

    @Override
    public boolean ready() {
        return pending.get() < PENDING_MAX;
    }

    @Override
    public boolean full() {
        return batch.size() >= EVENTS_PER_BATCH;
    }

    @Override
    public void onEvent(final KeyValueView change, final KeyValueView previous) {
        final Optional<KeyValue> before = previous == null ? Optional.empty() : Optional.of(KeyValue.of(previous));
        batch.add(new WatchEvent(change.isTombstone() ? WatchEvent.Type.DELETE : WatchEvent.Type.PUT,
            KeyValue.of(change), before));
    }

    @Override
    public void onBatchEnd(final long revision) {
        final List<WatchEvent> events = List.copyOf(batch);
        batch = new ArrayList<>();
        call(() -> listener.onEvents(events, revision));
    }

    @Override
    public void onCompacted(final long compactRevision, final long revision) {
        call(() -> listener.onCompacted(compactRevision));
    }

    @Override
    public void onProgress(final long revision) {
        call(() -> listener.onProgress(revision));
    }

    private void call(final Runnable call) {
        pending.incrementAndGet();
        calls.add(call);
        schedule();
    }

    private void schedule() {
        if (!calls.isEmpty() && draining.compareAndSet(false, true)) {
            try {
                executor.execute(this::drain);
            } catch (final RejectedExecutionException ex) {
                draining.set(false); // the caller's executor is shut down: nobody to deliver to
            }
        }
    }

    private void drain() {
        try {
            Runnable call;
            while ((call = calls.poll()) != null) {
                pending.decrementAndGet();
                try {
                    call.run();
                } catch (final RuntimeException ex) {
                    System.getLogger(ListenerSink.class.getName()).log(System.Logger.Level.WARNING,
                        "a watch listener threw", ex);
                }
            }
        } finally {
            draining.set(false);
        }
        schedule(); // a call added after the poll above and before the flag cleared
    }
}
