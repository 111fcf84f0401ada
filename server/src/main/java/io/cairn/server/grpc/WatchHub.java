package io.cairn.server.grpc;

import com.google.protobuf.UnknownFieldSet;

import io.cairn.engine.mvcc.KeyValueView;
import io.cairn.engine.mvcc.MvccError;
import io.cairn.embedded.DaemonThreads;
import io.cairn.server.node.Node;
import io.etcd.jetcd.api.Event;
import io.etcd.jetcd.api.WatchResponse;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import org.agrona.concurrent.UnsafeBuffer;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Delivers the keyspace's changes to watchers, on its own thread: the loop only says "a new revision" (a volatile
 * write and an unpark), so a slow or stuck watcher never stalls applying. Every watcher remembers the next revision
 * it needs and is served from the keyspace's history ({@code MvccReader.changes}), so a watcher created with an old
 * start revision catches up the same way a live one keeps up, and one whose stream is not ready (gRPC flow control)
 * simply falls behind and catches up later, as etcd's unsynced watchers do. A watcher whose next revision has been
 * compacted gets etcd's answer: {@code compact_revision} set, and it is cancelled.
 */
public final class WatchHub implements AutoCloseable {
    /** etcd's default progress notification interval. */
    static final long PROGRESS_INTERVAL_NS = TimeUnit.MINUTES.toNanos(10);
    private static final long IDLE_PARK_NS = TimeUnit.MILLISECONDS.toNanos(50);
    /** With nobody watching the thread waits for {@link #add} (or close); the timeout only guards a lost unpark. */
    private static final long UNWATCHED_PARK_NS = TimeUnit.SECONDS.toNanos(1);
    /** A watcher catching up from far back gets its history in responses of about this many events. */
    static final int EVENTS_PER_RESPONSE_MAX = 1000;
    /**
     * ... or this many bytes of keys and values, whichever comes first; cuts fall between revisions, except for a
     * watcher that asked for fragments (etcd's limit for them: its 1.5 MiB request size).
     */
    static final int BYTES_PER_RESPONSE_MAX = 3 << 19;
    private static final int RESPONSE_FRAGMENT_FIELD = 7; // etcd 3.4's WatchResponse.fragment, newer than the stubs

    /** One watcher on one stream. */
    static final class Watcher {
        final StreamObserver<WatchResponse> stream;
        final long id;
        final UnsafeBuffer key;
        final UnsafeBuffer end;
        final boolean prevKv;
        final boolean noPut;
        final boolean noDelete;
        final boolean progressNotify;
        final boolean fragment;
        volatile long next;
        long lastSentNs;

        Watcher(final StreamObserver<WatchResponse> stream, final long id, final byte[] key, final byte[] end,
            final long next, final boolean prevKv, final boolean noPut, final boolean noDelete,
            final boolean progressNotify, final boolean fragment) {
            this.stream = stream;
            this.id = id;
            this.key = new UnsafeBuffer(key);
            this.end = new UnsafeBuffer(end);
            this.next = next;
            this.prevKv = prevKv;
            this.noPut = noPut;
            this.noDelete = noDelete;
            this.progressNotify = progressNotify;
            this.fragment = fragment;
            this.lastSentNs = System.nanoTime();
        }
    }

    private static final UnknownFieldSet FRAGMENT = UnknownFieldSet.newBuilder()
        .addField(RESPONSE_FRAGMENT_FIELD, UnknownFieldSet.Field.newBuilder().addVarint(1).build()).build();
    private final Node node;
    private final Set<Watcher> watchers = ConcurrentHashMap.newKeySet();
    private final Thread thread;
    private final List<Event> events = new ArrayList<>();
    private long lastCollected;
    private long collectedBytes;
    private long cutAt;
    private volatile long latest;
    private volatile boolean running = true;

    /**
     * @param node the member whose keyspace it reads.
     */
    public WatchHub(final Node node) {
        this.node = node;
        this.thread = DaemonThreads.named("cairn-watch").newThread(this::run);
    }

    /** Starts the dispatcher. */
    public void start() {
        thread.start();
    }

    /**
     * From the loop: a run made a new revision durable.
     *
     * @param revision the store's revision.
     */
    public void onRevision(final long revision) {
        latest = revision;
        if (!watchers.isEmpty()) {
            // No watcher, no wake-up: a futex call and a context switch per applied run otherwise, on the loop.
            LockSupport.unpark(thread);
        }
    }

    void add(final Watcher watcher) {
        watchers.add(watcher);
        LockSupport.unpark(thread);
    }

    void remove(final StreamObserver<WatchResponse> stream, final long id) {
        watchers.removeIf(watcher -> watcher.stream == stream && watcher.id == id);
    }

    void removeAll(final StreamObserver<WatchResponse> stream) {
        watchers.removeIf(watcher -> watcher.stream == stream);
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

    // Returns true when the watcher still needs more (its stream was not ready).
    private boolean serve(final io.cairn.engine.mvcc.MvccReader reader, final Watcher watcher, final long revision) {
        if (watcher.next > revision) {
            maybeNotifyProgress(watcher, revision);
            return false;
        }
        if (watcher.stream instanceof ServerCallStreamObserver<?> call && !call.isReady()) {
            return true;
        }
        events.clear();
        collectedBytes = 0;
        cutAt = 0;
        final int status = reader.changes(watcher.next, revision, watcher.key, 0, watcher.key.capacity(),
            watcher.end, 0, watcher.end.capacity(), watcher.prevKv, (change, previous) -> {
                final boolean full = events.size() >= EVENTS_PER_RESPONSE_MAX
                    || collectedBytes >= BYTES_PER_RESPONSE_MAX;
                if (full && change.modRevision() != lastCollected) {
                    cutAt = change.modRevision(); // a long catch-up goes out in pieces, whole revisions each
                    return false;
                }
                if (full && watcher.fragment) {
                    // One revision larger than a message: the watcher asked for it in fragments.
                    send(watcher.stream, WatchResponse.newBuilder().setHeader(node.header(revision))
                        .setWatchId(watcher.id).addAllEvents(events).setUnknownFields(FRAGMENT).build());
                    events.clear();
                    collectedBytes = 0;
                }
                collect(watcher, change, previous);
                return true;
            });
        if (status == MvccError.COMPACTED) {
            watchers.remove(watcher);
            send(watcher.stream, WatchResponse.newBuilder().setHeader(node.header(revision))
                .setWatchId(watcher.id).setCompactRevision(reader.compactRevision()).setCanceled(true)
                .setCancelReason("etcdserver: mvcc: required revision has been compacted").build());
            return false;
        }
        watcher.next = cutAt != 0 ? cutAt : revision + 1;
        if (!events.isEmpty()) {
            watcher.lastSentNs = System.nanoTime();
            send(watcher.stream, WatchResponse.newBuilder().setHeader(node.header(revision))
                .setWatchId(watcher.id).addAllEvents(events).build());
        } else {
            maybeNotifyProgress(watcher, revision);
        }
        return cutAt != 0;
    }

    private void collect(final Watcher watcher, final KeyValueView change, final KeyValueView previous) {
        final boolean delete = change.isTombstone();
        if (delete ? watcher.noDelete : watcher.noPut) {
            return;
        }
        final Event.Builder event = Event.newBuilder()
            .setType(delete ? Event.EventType.DELETE : Event.EventType.PUT)
            .setKv(EtcdAnswers.keyValue(change));
        if (previous != null) {
            event.setPrevKv(EtcdAnswers.keyValue(previous));
        }
        events.add(event.build());
        collectedBytes += change.keyLength() + change.valueLength()
            + (previous == null ? 0 : previous.keyLength() + previous.valueLength());
        lastCollected = change.modRevision();
    }

    private void maybeNotifyProgress(final Watcher watcher, final long revision) {
        if (watcher.progressNotify && System.nanoTime() - watcher.lastSentNs >= PROGRESS_INTERVAL_NS) {
            watcher.lastSentNs = System.nanoTime();
            send(watcher.stream, WatchResponse.newBuilder().setHeader(node.header(revision))
                .setWatchId(watcher.id).build());
        }
    }

    static void send(final StreamObserver<WatchResponse> stream, final WatchResponse response) {
        synchronized (stream) {
            try {
                stream.onNext(response);
            } catch (final RuntimeException ex) {
                // The stream is closed (client gone): its watchers are removed when the call ends.
            }
        }
    }

    /**
     * @return the revision the dispatcher last heard of.
     */
    public long latestRevision() {
        return latest;
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
