package io.cairn.embedded;

import io.cairn.embedded.kv.WatchOptions;
import io.cairn.engine.mvcc.KeyValueView;
import io.cairn.engine.mvcc.MvccError;
import io.cairn.engine.mvcc.MvccReader;
import org.agrona.concurrent.UnsafeBuffer;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Delivers the keyspace's changes to watches, on its own thread: the loop only says "a new revision" (a volatile write
 * and an unpark), so a slow or stuck watcher never stalls applying. Every watch remembers the next revision it needs
 * and is served from the keyspace's history ({@code MvccReader.changes}), so a watch created with an old start
 * revision catches up the same way a live one keeps up, and one whose consumer is not ready ({@link WatchSink#ready},
 * gRPC flow control) simply falls behind and catches up later, as etcd's unsynced watchers do. A watch whose next
 * revision has been compacted gets etcd's answer ({@link WatchSink#onCompacted}) and is cancelled. With nobody
 * watching, the thread sleeps until a watch is added.
 */
final class WatchHub implements AutoCloseable {
    private static final long IDLE_PARK_NS = TimeUnit.MILLISECONDS.toNanos(50);
    /** With nobody watching the thread waits for {@link #add} (or close); the timeout only guards a lost unpark. */
    private static final long UNWATCHED_PARK_NS = TimeUnit.SECONDS.toNanos(1);

    /** One watch. */
    private final class Watcher implements Watch {
        final WatchSink sink;
        final UnsafeBuffer key;
        final UnsafeBuffer end;
        final WatchOptions options;
        volatile long next;
        long lastSentNs;

        Watcher(final WatchSink sink, final WatchOptions options, final long next) {
            this.sink = sink;
            this.options = options;
            this.key = new UnsafeBuffer(options.key());
            this.end = new UnsafeBuffer(options.end());
            this.next = next;
            this.lastSentNs = System.nanoTime();
        }

        @Override
        public void cancel() {
            watchers.remove(this);
        }

        @Override
        public long nextRevision() {
            return next;
        }
    }

    private final CairnNode node;
    private final Set<Watcher> watchers = ConcurrentHashMap.newKeySet();
    private final Thread thread;
    /** How long a progress-notify watch goes without a response before it gets one (the node's setting). */
    private final long progressIntervalNs;
    private int delivered;
    private long lastDelivered;
    private long cutAt;
    private volatile boolean running = true;

    /**
     * @param node the node whose keyspace it reads.
     */
    WatchHub(final CairnNode node) {
        this.progressIntervalNs = TimeUnit.MILLISECONDS.toNanos(node.config().watchProgressNotifyMs());
        this.node = node;
        this.thread = DaemonThreads.named("cairn-" + node.config().name() + "-watch").newThread(this::run);
    }

    /** Starts the dispatcher. */
    void start() {
        thread.start();
    }

    /**
     * From the loop: a run made a new revision durable.
     *
     * @param revision the store's revision.
     */
    void onRevision(final long revision) {
        if (!watchers.isEmpty()) {
            // No watcher, no wake-up: a futex call and a context switch per applied run otherwise, on the loop.
            LockSupport.unpark(thread);
        }
    }

    /**
     * @param options what to watch.
     * @param sink    where its changes go.
     * @param current the keyspace's revision now (a watch with no start revision begins after it).
     * @return the watch.
     */
    Watch add(final WatchOptions options, final WatchSink sink, final long current) {
        final Watcher watcher = new Watcher(sink, options,
            options.startRevision() > 0 ? options.startRevision() : current + 1);
        watchers.add(watcher);
        LockSupport.unpark(thread);
        return watcher;
    }

    private void run() {
        while (running) {
            if (watchers.isEmpty()) {
                LockSupport.parkNanos(UNWATCHED_PARK_NS); // add() wakes it
                continue;
            }
            boolean behind = false;
            try {
                behind = node.read(reader -> {
                    boolean anyBehind = false;
                    final long revision = reader.revision();
                    for (final Watcher watcher : watchers) {
                        anyBehind |= serve(reader, watcher, revision);
                    }
                    return anyBehind;
                });
            } catch (final RuntimeException ex) {
                if (!running) {
                    return;
                }
                System.getLogger(WatchHub.class.getName()).log(System.Logger.Level.WARNING, "watch dispatch", ex);
            }
            LockSupport.parkNanos(behind ? TimeUnit.MILLISECONDS.toNanos(5) : IDLE_PARK_NS);
        }
    }

    // Returns true when the watch still needs more (its sink was not ready, or full).
    private boolean serve(final MvccReader reader, final Watcher watcher, final long revision) {
        if (watcher.next > revision) {
            maybeNotifyProgress(watcher, revision);
            return false;
        }
        if (!watcher.sink.ready()) {
            return true;
        }
        delivered = 0;
        cutAt = 0;
        final int status = reader.changes(watcher.next, revision, watcher.key, 0, watcher.key.capacity(),
            watcher.end, 0, watcher.end.capacity(), watcher.options.prevKv(), (change, previous) -> {
                if (delivered > 0 && change.modRevision() != lastDelivered && watcher.sink.full()) {
                    cutAt = change.modRevision(); // a long catch-up goes out in pieces, whole revisions each
                    return false;
                }
                deliver(watcher, change, previous);
                return true;
            });
        if (status == MvccError.COMPACTED) {
            watchers.remove(watcher);
            watcher.sink.onCompacted(reader.compactRevision(), revision);
            return false;
        }
        final long next = cutAt != 0 ? cutAt : revision + 1;
        if (delivered > 0) {
            watcher.lastSentNs = System.nanoTime();
            watcher.sink.onBatchEnd(revision);
        }
        // Only once the batch is out: a progress answer built from nextRevision() must never run ahead of it.
        watcher.next = next;
        if (delivered == 0) {
            maybeNotifyProgress(watcher, revision);
        }
        return cutAt != 0;
    }

    private void deliver(final Watcher watcher, final KeyValueView change, final KeyValueView previous) {
        if (change.isTombstone() ? watcher.options.noDelete() : watcher.options.noPut()) {
            return;
        }
        watcher.sink.onEvent(change, previous);
        delivered++;
        lastDelivered = change.modRevision();
    }

    private void maybeNotifyProgress(final Watcher watcher, final long revision) {
        if (watcher.options.progressNotify() && System.nanoTime() - watcher.lastSentNs >= progressIntervalNs) {
            watcher.lastSentNs = System.nanoTime();
            watcher.sink.onProgress(revision);
        }
    }

    @Override
    public void close() {
        running = false;
        LockSupport.unpark(thread);
        try {
            thread.join(2_000);
        } catch (final InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
        watchers.clear();
    }
}
