package io.cairn.server.grpc;

import io.cairn.server.auth.AuthStore;
import com.google.protobuf.UnknownFieldSet;

import io.cairn.embedded.Watch;
import io.cairn.embedded.WatchSink;
import io.cairn.embedded.kv.WatchOptions;
import io.cairn.engine.mvcc.KeyValueView;
import io.cairn.server.node.EtcdStatus;
import io.cairn.server.node.Node;
import io.etcd.jetcd.api.Event;
import io.etcd.jetcd.api.WatchCreateRequest;
import io.etcd.jetcd.api.WatchGrpc;
import io.etcd.jetcd.api.WatchRequest;
import io.etcd.jetcd.api.WatchResponse;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * etcd's Watch service: one bidirectional stream carries many watchers. Create (key, range or prefix; start
 * revision for history then live; prev_kv; NOPUT/NODELETE filters; progress_notify; a client-chosen watch ID or the
 * next free one from 0), cancel, and progress requests (answered with the current revision and watch ID -1, as etcd
 * 3.4). Events are delivered by the embedded node's watch dispatcher ({@code CairnNode.watch}) to one
 * {@link StreamSink} per watcher, which turns them into etcd's responses: at most {@link #EVENTS_PER_RESPONSE_MAX}
 * events or {@link #BYTES_PER_RESPONSE_MAX} bytes each (a long catch-up goes out in pieces of whole revisions; one
 * revision larger than that goes out whole, or in fragments for a watcher that asked for them), not ready while gRPC's
 * flow control holds the stream, a compacted start answered with {@code compact_revision} and cancelled.
 */
public final class WatchService extends WatchGrpc.WatchImplBase {
    /** etcd's WatchCreateRequest.FilterType NOPUT. */
    public static final int FILTER_NOPUT = 0;
    /** etcd's WatchCreateRequest.FilterType NODELETE. */
    public static final int FILTER_NODELETE = 1;
    private static final int CREATE_FRAGMENT_FIELD = 8;
    private static final int CREATE_WATCH_ID_FIELD = 7;
    private static final int PROGRESS_REQUEST_FIELD = 3;
    private static final int RESPONSE_FRAGMENT_FIELD = 7; // etcd 3.4's WatchResponse.fragment, newer than the stubs
    private static final UnknownFieldSet FRAGMENT = UnknownFieldSet.newBuilder()
        .addField(RESPONSE_FRAGMENT_FIELD, UnknownFieldSet.Field.newBuilder().addVarint(1).build()).build();
    /** A watcher catching up from far back gets its history in responses of about this many events. */
    static final int EVENTS_PER_RESPONSE_MAX = 1000;
    /**
     * ... or this many bytes of keys and values, whichever comes first; cuts fall between revisions, except for a
     * watcher that asked for fragments (etcd's limit for them: its 1.5 MiB request size).
     */
    static final int BYTES_PER_RESPONSE_MAX = 3 << 19;

    /** Set for a stream whose client asked for a leader (etcd's {@code hasleader: true} metadata). */
    private static final io.grpc.Context.Key<Boolean> REQUIRE_LEADER = io.grpc.Context.key("cairn-require-leader");
    private static final io.grpc.Metadata.Key<String> HAS_LEADER =
        io.grpc.Metadata.Key.of("hasleader", io.grpc.Metadata.ASCII_STRING_MARSHALLER);
    /** etcd's monitorLeader: streams that require a leader are cancelled after this many seconds without one. */
    static final int LEADERLESS_SECONDS_MAX = 3;

    /**
     * Reads etcd's {@code hasleader} metadata (clientv3's {@code WithRequireLeader}) into the call: wrap this service's
     * definition with it.
     */
    public static final io.grpc.ServerInterceptor REQUIRE_LEADER_METADATA = new io.grpc.ServerInterceptor() {
        @Override
        public <Q, A> io.grpc.ServerCall.Listener<Q> interceptCall(final io.grpc.ServerCall<Q, A> call,
            final io.grpc.Metadata headers, final io.grpc.ServerCallHandler<Q, A> next) {
            if (!"true".equals(headers.get(HAS_LEADER))) {
                return next.startCall(call, headers);
            }
            return io.grpc.Contexts.interceptCall(io.grpc.Context.current().withValue(REQUIRE_LEADER, true), call,
                headers, next);
        }
    };

    private final Node node;
    private final AuthStore auth;
    /** Streams that require a leader: how to end each with "no leader". */
    private final java.util.Set<Runnable> requiringLeader = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private int leaderlessSeconds; // the watchdog's thread only
    /** Open watch streams and their watchers (etcd's etcd_debugging_mvcc_watch_stream_total, _watcher_total). */
    private final java.util.concurrent.atomic.AtomicLong streams = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong watchers = new java.util.concurrent.atomic.AtomicLong();

    /**
     * @param node the member it serves.
     * @param auth its authentication state (checks of the caller; none while authentication is disabled).
     */
    public WatchService(final Node node, final AuthStore auth) {
        this.node = node;
        this.auth = auth;
        node.everySecond(this::checkLeader);
    }

    /** A stream that requires a leader on a member without one: ended at once, as etcd's interceptor does. */
    private static StreamObserver<WatchRequest> refusedForNoLeader(final StreamObserver<WatchResponse> stream) {
        stream.onError(EtcdStatus.noLeader());
        return new StreamObserver<>() {
            @Override
            public void onNext(final WatchRequest request) {
            }

            @Override
            public void onError(final Throwable error) {
            }

            @Override
            public void onCompleted() {
            }
        };
    }

    /** etcd's monitorLeader: with no leader for {@link #LEADERLESS_SECONDS_MAX} s, end every require-leader stream. */
    private void checkLeader() {
        if (node.leaderId() != 0) {
            leaderlessSeconds = 0;
            return;
        }
        if (++leaderlessSeconds >= LEADERLESS_SECONDS_MAX && !requiringLeader.isEmpty()) {
            for (final Runnable end : List.copyOf(requiringLeader)) {
                end.run();
            }
        }
    }

    /**
     * @param create a watch create request.
     * @return the watch ID its client chose, 0 for none (etcd 3.4's watch_id, field 7, is newer than the stubs'
     *     proto: it arrives as an unknown field).
     */
    public static long chosenWatchId(final WatchCreateRequest create) {
        final var chosen = create.getUnknownFields().getField(CREATE_WATCH_ID_FIELD);
        return chosen == null || chosen.getVarintList().isEmpty() ? 0 : chosen.getVarintList().get(0);
    }

    /**
     * @param create a watch create request.
     * @param filter {@link #FILTER_NOPUT} or {@link #FILTER_NODELETE}.
     * @return whether it asks for that filter.
     */
    public static boolean filters(final WatchCreateRequest create, final int filter) {
        for (final WatchCreateRequest.FilterType asked : create.getFiltersList()) {
            if (asked.getNumber() == filter) {
                return true;
            }
        }
        return false;
    }

    /**
     * etcd's {@code isWatchPermitted}: read permission on the watched key or range, with etcd's normalisation first
     * (an empty key is "\0"; a range end of "\0" is dropped, so a from-key watch is checked on its start key).
     *
     * @return null when permitted, else the cancel reason.
     */
    private String refusal(final WatchCreateRequest create) {
        try {
            final AuthStore.Caller caller = auth.caller();
            if (caller == null) {
                return null;
            }
            final byte[] key = create.getKey().isEmpty() ? new byte[] {0} : create.getKey().toByteArray();
            final byte[] end = create.getRangeEnd().size() == 1 && create.getRangeEnd().byteAt(0) == 0 ? new byte[0]
                : create.getRangeEnd().toByteArray();
            auth.checkRead(caller, key, end);
            return null;
        } catch (final io.grpc.StatusRuntimeException ex) {
            // etcd 3.4 puts the gRPC error's Go text in the reason: "rpc error: code = PermissionDenied desc = ...".
            return EtcdStatus.goText(ex.getStatus());
        }
    }

    /**
     * @return watch streams open now.
     */
    public long streams() {
        return streams.get();
    }

    /**
     * @return watchers on them now.
     */
    public long watchers() {
        return watchers.get();
    }

    @Override
    public StreamObserver<WatchRequest> watch(final StreamObserver<WatchResponse> stream) {
        final boolean requireLeader = Boolean.TRUE.equals(REQUIRE_LEADER.get());
        if (requireLeader && node.leaderId() == 0) {
            return refusedForNoLeader(stream);
        }
        return new StreamObserver<>() {
            private final Map<Long, Watch> watches = new HashMap<>();
            private long nextId;
            private final Runnable endForNoLeader = this::endForNoLeader;
            private boolean ended;

            {
                streams.incrementAndGet();
                if (requireLeader) {
                    requiringLeader.add(endForNoLeader);
                }
            }

            private void endForNoLeader() {
                requiringLeader.remove(endForNoLeader);
                cancelAll();
                fail(stream, EtcdStatus.noLeader());
            }

            @Override
            public synchronized void onNext(final WatchRequest request) {
                if (request.hasCreateRequest()) {
                    create(request.getCreateRequest());
                } else if (request.hasCancelRequest()) {
                    final long id = request.getCancelRequest().getWatchId();
                    final Watch watch = watches.remove(id);
                    if (watch != null) {
                        watchers.decrementAndGet();
                        watch.cancel();
                        send(stream, WatchResponse.newBuilder().setHeader(node.header(revision()))
                            .setWatchId(id).setCanceled(true).build());
                    }
                } else if (request.hasProgressRequest()
                    || request.getUnknownFields().hasField(PROGRESS_REQUEST_FIELD)) {
                    send(stream, progress(watches.values()));
                }
            }

            private void create(final WatchCreateRequest create) {
                final String refused = refusal(create);
                if (refused != null) {
                    send(stream, WatchResponse.newBuilder().setHeader(node.header(revision())).setWatchId(-1)
                        .setCreated(true).setCanceled(true).setCancelReason(refused).build());
                    return;
                }
                long id = chosenWatchId(create);
                if (id == 0) {
                    while (watches.containsKey(nextId)) {
                        nextId++;
                    }
                    id = nextId++;
                } else if (watches.containsKey(id)) {
                    send(stream, WatchResponse.newBuilder().setHeader(node.header(revision()))
                        .setWatchId(id).setCreated(true).setCanceled(true)
                        .setCancelReason("etcdserver: duplicate watch ID").build());
                    return;
                }
                final boolean noPut = filters(create, FILTER_NOPUT);
                final boolean noDelete = filters(create, FILTER_NODELETE);
                send(stream, WatchResponse.newBuilder().setHeader(node.header(revision()))
                    .setWatchId(id).setCreated(true).build());
                // etcd 3.4's fragment (field 8): a revision too large for one message may come in pieces.
                final var fragment = create.getUnknownFields().getField(CREATE_FRAGMENT_FIELD);
                final boolean fragments = fragment != null && !fragment.getVarintList().isEmpty()
                    && fragment.getVarintList().get(0) != 0;
                watchers.incrementAndGet();
                watches.put(id, node.watch(new WatchOptions(create.getKey().toByteArray(),
                    create.getRangeEnd().toByteArray(), create.getStartRevision(), create.getPrevKv(), noPut,
                    noDelete, create.getProgressNotify()), new StreamSink(stream, id, fragments)));
            }

            private synchronized void cancelAll() {
                ended = ended(watches, ended);
            }

            @Override
            public void onError(final Throwable error) {
                requiringLeader.remove(endForNoLeader);
                cancelAll();
            }

            @Override
            public void onCompleted() {
                requiringLeader.remove(endForNoLeader);
                cancelAll();
                synchronized (stream) {
                    try {
                        stream.onCompleted();
                    } catch (final IllegalStateException ex) {
                        // Already closed.
                    }
                }
            }
        };
    }

    /**
     * etcd's progress_request (field 3: known to these stubs; older stubs saw an unknown field). The answer is a
     * bookmark: no event at or below its revision is still to come on this stream, so it is the lowest revision
     * every watch here has delivered through.
     */
    private WatchResponse progress(final java.util.Collection<Watch> watches) {
        long bookmark = revision();
        for (final Watch watch : watches) {
            bookmark = Math.min(bookmark, watch.nextRevision() - 1);
        }
        return WatchResponse.newBuilder().setHeader(node.header(bookmark)).setWatchId(-1).build();
    }

    /** Cancels a stream's watchers; counts the stream ended if it was not yet (returns true). */
    private boolean ended(final Map<Long, Watch> watches, final boolean already) {
        watchers.addAndGet(-watches.size());
        watches.values().forEach(Watch::cancel);
        watches.clear();
        if (!already) {
            streams.decrementAndGet();
        }
        return true;
    }

    private static void fail(final StreamObserver<WatchResponse> stream, final io.grpc.StatusRuntimeException error) {
        synchronized (stream) {
            try {
                stream.onError(error);
            } catch (final IllegalStateException ex) {
                // Already closed.
            }
        }
    }

    private long revision() {
        return node.read(reader -> reader.revision());
    }

    static void send(final StreamObserver<WatchResponse> stream, final WatchResponse response) {
        synchronized (stream) {
            try {
                stream.onNext(response);
            } catch (final RuntimeException ex) {
                // The stream is closed (client gone): its watchers are cancelled when the call ends.
            }
        }
    }

    /** One watcher's deliveries as etcd's responses on its stream (on the node's watch thread). */
    private final class StreamSink implements WatchSink {
        private final StreamObserver<WatchResponse> stream;
        private final long id;
        private final boolean fragments;
        private final List<Event> events = new ArrayList<>();
        private long bytes;

        StreamSink(final StreamObserver<WatchResponse> stream, final long id, final boolean fragments) {
            this.stream = stream;
            this.id = id;
            this.fragments = fragments;
        }

        @Override
        public boolean ready() {
            return !(stream instanceof ServerCallStreamObserver<?> call) || call.isReady();
        }

        @Override
        public boolean full() {
            return events.size() >= EVENTS_PER_RESPONSE_MAX || bytes >= BYTES_PER_RESPONSE_MAX;
        }

        @Override
        public void onEvent(final KeyValueView change, final KeyValueView previous) {
            if (fragments && full()) {
                // One revision larger than a message (the dispatcher cuts between revisions): the watcher asked for
                // it in fragments.
                send(stream, WatchResponse.newBuilder().setHeader(node.header(change.modRevision()))
                    .setWatchId(id).addAllEvents(events).setUnknownFields(FRAGMENT).build());
                events.clear();
                bytes = 0;
            }
            final boolean delete = change.isTombstone();
            final Event.Builder event = Event.newBuilder()
                .setType(delete ? Event.EventType.DELETE : Event.EventType.PUT)
                .setKv(EtcdAnswers.keyValue(change));
            if (previous != null) {
                event.setPrevKv(EtcdAnswers.keyValue(previous));
            }
            events.add(event.build());
            bytes += change.keyLength() + change.valueLength()
                + (previous == null ? 0 : previous.keyLength() + previous.valueLength());
        }

        @Override
        public void onBatchEnd(final long revision) {
            send(stream, WatchResponse.newBuilder().setHeader(node.header(revision)).setWatchId(id)
                .addAllEvents(events).build());
            events.clear();
            bytes = 0;
        }

        @Override
        public void onCompacted(final long compactRevision, final long revision) {
            send(stream, WatchResponse.newBuilder().setHeader(node.header(revision)).setWatchId(id)
                .setCompactRevision(compactRevision).setCanceled(true)
                .setCancelReason("etcdserver: mvcc: required revision has been compacted").build());
        }

        @Override
        public void onProgress(final long revision) {
            send(stream, WatchResponse.newBuilder().setHeader(node.header(revision)).setWatchId(id).build());
        }
    }
}
