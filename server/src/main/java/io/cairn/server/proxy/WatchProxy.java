package io.cairn.server.proxy;

import com.google.protobuf.ByteString;
import io.cairn.server.grpc.WatchService;
import io.cairn.server.node.EtcdStatus;
import io.etcd.jetcd.api.Event;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.ResponseHeader;
import io.etcd.jetcd.api.WatchCancelRequest;
import io.etcd.jetcd.api.WatchCreateRequest;
import io.etcd.jetcd.api.WatchGrpc;
import io.etcd.jetcd.api.WatchRequest;
import io.etcd.jetcd.api.WatchResponse;
import io.grpc.Context;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * etcd's Watch through the proxy, coalesced: clients' watchers on the same key or range share one watch upstream (a
 * {@link Broadcast}), and all the proxy's upstream watches of one auth token share one upstream stream. A watcher
 * joins a broadcast already running when it starts "now" (start revision 0) or at or after the revision the broadcast
 * will deliver next; one that starts further back gets a broadcast of its own. Upstream watches always ask for
 * previous values and progress notifications; each watcher gets what it asked for (filters, {@code prev_kv},
 * progress) from them.
 *
 * <p>When an upstream stream breaks (its member died, or lost its leader: upstream streams require one), the proxy
 * opens another — gRPC's round robin picks a live member — and starts each broadcast again just after the last
 * revision it delivered: clients see no gap and no repeat. If that revision was compacted meanwhile, the watchers are
 * cancelled with etcd's compacted answer, as a member would.
 *
 * <p>Creates on a client's stream are answered in the order they were sent (etcd's clients match answers to creates
 * by order); with auth, each watcher's read permission is checked with its own token first (a serializable range
 * of one key), as etcd's proxy does. All state is guarded by this object's lock; sending never blocks.
 */
final class WatchProxy extends WatchGrpc.WatchImplBase {
    private static final System.Logger LOG = System.getLogger(WatchProxy.class.getName());
    private static final Metadata.Key<String> HAS_LEADER =
        Metadata.Key.of("hasleader", Metadata.ASCII_STRING_MARSHALLER);
    /** Responses queued to a client that reads none: past this, its stream is ended (etcd's proxy drops it too). */
    private static final int UNREAD_MAX = 100_000;

    private final Upstream upstream;
    private final Namespace namespace;
    private final ScheduledExecutorService timer;
    private final Map<String, UpstreamStream> streams = new HashMap<>();
    private int watchers;
    /**
     * The newest header seen from the cluster: every answer carries one (clientv3 reads a created answer's header
     * without checking it is there).
     */
    private ResponseHeader latest = ResponseHeader.getDefaultInstance();
    private final AtomicLong eventsCoalesced = new AtomicLong();

    /**
     * @param upstream  the cluster.
     * @param namespace the proxy's namespace.
     * @param timer     runs reconnections.
     */
    WatchProxy(final Upstream upstream, final Namespace namespace, final ScheduledExecutorService timer) {
        this.upstream = upstream;
        this.namespace = namespace;
        this.timer = timer;
    }

    /**
     * @return clients' watchers now.
     */
    synchronized int watchers() {
        return watchers;
    }

    /**
     * @return watches held upstream now (what the clients' watchers cost the cluster).
     */
    synchronized int upstreamWatches() {
        int count = 0;
        for (final UpstreamStream stream : streams.values()) {
            count += stream.broadcasts.size();
        }
        return count;
    }

    /**
     * @return events delivered to watchers beyond the first of their broadcast (what coalescing saved).
     */
    long eventsCoalesced() {
        return eventsCoalesced.get();
    }

    @Override
    public StreamObserver<WatchRequest> watch(final StreamObserver<WatchResponse> out) {
        return new ClientStream((ServerCallStreamObserver<WatchResponse>)out, Upstream.callerToken(),
            Upstream.CALLER.get());
    }

    /** One client's watch stream. */
    private final class ClientStream implements StreamObserver<WatchRequest> {
        private final ServerCallStreamObserver<WatchResponse> out;
        private final String token;
        private final Metadata headers;
        /** The client asked for a leader ({@code hasleader}): told "no leader" when the cluster has none. */
        private final boolean requireLeader;
        private final Map<Long, Watcher> byId = new HashMap<>();
        private final ArrayDeque<WatchCreateRequest> creates = new ArrayDeque<>();
        private boolean creating;
        private long nextId;
        private int unread;
        private boolean ended;

        ClientStream(final ServerCallStreamObserver<WatchResponse> out, final String token, final Metadata headers) {
            this.out = out;
            this.token = token;
            this.headers = headers;
            this.requireLeader = headers != null && "true".equals(headers.get(HAS_LEADER));
            out.setOnReadyHandler(() -> {
                synchronized (WatchProxy.this) {
                    unread = 0;
                }
            });
            out.setOnCancelHandler(() -> {
                synchronized (WatchProxy.this) {
                    end();
                }
            });
        }

        void send(final WatchResponse response) {
            if (ended) {
                return;
            }
            try {
                out.onNext(response);
            } catch (final RuntimeException ex) {
                end();
                return;
            }
            if (!out.isReady() && ++unread > UNREAD_MAX) {
                LOG.log(System.Logger.Level.WARNING, "grpc-proxy: a watch client read nothing of "
                    + UNREAD_MAX + " responses; its stream is ended");
                fail(Status.RESOURCE_EXHAUSTED.withDescription("grpc-proxy: watch client too slow"));
            }
        }

        @Override
        public void onNext(final WatchRequest request) {
            synchronized (WatchProxy.this) {
                if (ended) {
                    return;
                }
                switch (request.getRequestUnionCase()) {
                    case CREATE_REQUEST -> {
                        creates.add(request.getCreateRequest());
                        if (!creating) {
                            nextCreate();
                        }
                    }
                    case CANCEL_REQUEST -> cancel(request.getCancelRequest());
                    case PROGRESS_REQUEST -> progress();
                    default -> {
                    }
                }
            }
        }

        private void nextCreate() {
            final WatchCreateRequest create = creates.poll();
            if (create == null) {
                creating = false;
                return;
            }
            creating = true;
            long id = WatchService.chosenWatchId(create);
            if (id == 0) {
                while (byId.containsKey(nextId)) {
                    nextId++;
                }
                id = nextId++;
            } else if (byId.containsKey(id)) {
                send(WatchResponse.newBuilder().setHeader(latest).setWatchId(id).setCreated(true).setCanceled(true)
                    .setCancelReason("etcdserver: duplicate watch ID").build());
                nextCreate();
                return;
            }
            final Watcher watcher = new Watcher(this, id, create.getPrevKv(),
                WatchService.filters(create, WatchService.FILTER_NOPUT),
                WatchService.filters(create, WatchService.FILTER_NODELETE),
                create.getProgressNotify(), create.getStartRevision());
            byId.put(id, watcher); // the ID is taken from now on
            final ByteString key = namespace.key(create.getKey());
            final ByteString end = namespace.rangeEnd(create.getRangeEnd());
            if (token.isEmpty()) {
                attach(watcher, key, end);
                return;
            }
            // etcd's proxy checks the watcher's read permission with its own token before sharing a watch with it.
            final RangeRequest check = RangeRequest.newBuilder().setKey(key.isEmpty() ? ByteString.copyFrom(
                new byte[] {0}) : key).setRangeEnd(end).setSerializable(true).setCountOnly(true).setLimit(1).build();
            Context.current().withValue(Upstream.CALLER, headers).run(() -> KVGrpc.newStub(upstream.forwarding())
                .withDeadlineAfter(10, TimeUnit.SECONDS).range(check, new StreamObserver<>() {
                    @Override
                    public void onNext(final io.etcd.jetcd.api.RangeResponse response) {
                        synchronized (WatchProxy.this) {
                            latest = response.getHeader();
                            if (!ended && byId.get(watcher.id) == watcher) {
                                attach(watcher, key, end);
                            }
                        }
                    }

                    @Override
                    public void onError(final Throwable error) {
                        synchronized (WatchProxy.this) {
                            if (!ended && byId.remove(watcher.id) == watcher) {
                                send(WatchResponse.newBuilder().setHeader(latest).setWatchId(-1).setCreated(true)
                                    .setCanceled(true)
                                    .setCancelReason(EtcdStatus.goText(Status.fromThrowable(error))).build());
                                nextCreate();
                            }
                        }
                    }

                    @Override
                    public void onCompleted() {
                    }
                }));
        }

        private void attach(final Watcher watcher, final ByteString key, final ByteString end) {
            final UpstreamStream stream = streams.computeIfAbsent(token, UpstreamStream::new);
            for (final Broadcast broadcast : stream.broadcasts) {
                if (broadcast.admits(key, end, watcher.startRevision)) {
                    broadcast.add(watcher);
                    return;
                }
            }
            final Broadcast broadcast = new Broadcast(stream, key, end, watcher.startRevision);
            stream.broadcasts.add(broadcast);
            broadcast.add(watcher);
            stream.create(broadcast);
        }

        /** The created answer went out: the next create may go. */
        void createdSent() {
            if (creating) {
                nextCreate();
            }
        }

        private void cancel(final WatchCancelRequest request) {
            final Watcher watcher = byId.remove(request.getWatchId());
            if (watcher == null) {
                return;
            }
            final ResponseHeader header = watcher.broadcast == null ? ResponseHeader.getDefaultInstance()
                : watcher.broadcast.header(watcher.broadcast.lastRevision);
            detach(watcher);
            send(WatchResponse.newBuilder().setHeader(header).setWatchId(request.getWatchId()).setCanceled(true)
                .build());
        }

        private void progress() {
            long bookmark = Long.MAX_VALUE;
            ResponseHeader header = null;
            for (final Watcher watcher : byId.values()) {
                if (watcher.broadcast != null && watcher.broadcast.created) {
                    bookmark = Math.min(bookmark, watcher.broadcast.lastRevision);
                    header = watcher.broadcast.lastHeader;
                }
            }
            if (header != null) {
                send(WatchResponse.newBuilder().setHeader(header.toBuilder().setRevision(bookmark)).setWatchId(-1)
                    .build());
                return;
            }
            // No watcher yet: the cluster's revision now.
            Context.current().withValue(Upstream.CALLER, headers).run(() -> KVGrpc.newStub(upstream.forwarding())
                .withDeadlineAfter(10, TimeUnit.SECONDS).range(RangeRequest.newBuilder()
                    .setKey(ByteString.copyFrom(new byte[] {0})).setCountOnly(true).setLimit(1).build(),
                    new StreamObserver<>() {
                        @Override
                        public void onNext(final io.etcd.jetcd.api.RangeResponse response) {
                            synchronized (WatchProxy.this) {
                                send(WatchResponse.newBuilder().setHeader(response.getHeader()).setWatchId(-1)
                                    .build());
                            }
                        }

                        @Override
                        public void onError(final Throwable error) {
                        }

                        @Override
                        public void onCompleted() {
                        }
                    }));
        }

        private void detach(final Watcher watcher) {
            if (watcher.broadcast != null) {
                watcher.broadcast.remove(watcher);
            }
        }

        /** Ends the client's stream with an error (its watchers leave their broadcasts). */
        void fail(final Status status) {
            if (ended) {
                return;
            }
            end();
            try {
                out.onError(status.asRuntimeException());
            } catch (final RuntimeException ex) {
                // Already closed.
            }
        }

        /** The client went, or was ended: its watchers leave their broadcasts. */
        void end() {
            if (ended) {
                return;
            }
            ended = true;
            creates.clear();
            for (final Watcher watcher : List.copyOf(byId.values())) {
                detach(watcher);
            }
            byId.clear();
        }

        @Override
        public void onError(final Throwable error) {
            synchronized (WatchProxy.this) {
                end();
            }
        }

        @Override
        public void onCompleted() {
            synchronized (WatchProxy.this) {
                end();
                try {
                    out.onCompleted();
                } catch (final RuntimeException ex) {
                    // Already closed.
                }
            }
        }
    }

    /** One client's watcher, and what it asked for. */
    private final class Watcher {
        final ClientStream client;
        final long id;
        final boolean prevKv;
        final boolean noPut;
        final boolean noDelete;
        final boolean progressNotify;
        final long startRevision;
        Broadcast broadcast;
        boolean createdSent;

        Watcher(final ClientStream client, final long id, final boolean prevKv, final boolean noPut,
            final boolean noDelete, final boolean progressNotify, final long startRevision) {
            this.client = client;
            this.id = id;
            this.prevKv = prevKv;
            this.noPut = noPut;
            this.noDelete = noDelete;
            this.progressNotify = progressNotify;
            this.startRevision = startRevision;
        }

        boolean wants(final Event event) {
            if (event.getKv().getModRevision() < startRevision) {
                return false;
            }
            return event.getType() == Event.EventType.DELETE ? !noDelete : !noPut;
        }
    }

    /** One watch upstream and the clients' watchers it serves. */
    private final class Broadcast {
        final UpstreamStream stream;
        final ByteString key;
        final ByteString end;
        /** Asked upstream (0: now). */
        long startRevision;
        /** Every event at or below it is delivered. */
        long lastRevision;
        ResponseHeader lastHeader = ResponseHeader.getDefaultInstance();
        long upstreamId = -1;
        boolean created;
        final List<Watcher> watchers = new ArrayList<>();

        Broadcast(final UpstreamStream stream, final ByteString key, final ByteString end, final long startRevision) {
            this.stream = stream;
            this.key = key;
            this.end = end;
            this.startRevision = startRevision;
        }

        boolean admits(final ByteString watchedKey, final ByteString watchedEnd, final long start) {
            if (!key.equals(watchedKey) || !end.equals(watchedEnd)) {
                return false;
            }
            if (start == 0) {
                return true; // "now": anything from here on
            }
            // It must not have delivered past what the watcher wants (it will skip what it does not).
            return created ? start > lastRevision : startRevision != 0 && start >= startRevision;
        }

        ResponseHeader header(final long revision) {
            return lastHeader.toBuilder().setRevision(revision).build();
        }

        void add(final Watcher watcher) {
            watcher.broadcast = this;
            watchers.add(watcher);
            WatchProxy.this.watchers++;
            if (created) {
                sendCreated(watcher, lastHeader);
            }
        }

        void sendCreated(final Watcher watcher, final ResponseHeader header) {
            watcher.createdSent = true;
            watcher.client.send(WatchResponse.newBuilder().setHeader(header).setWatchId(watcher.id)
                .setCreated(true).build());
            watcher.client.createdSent();
        }

        void remove(final Watcher watcher) {
            if (watchers.remove(watcher)) {
                WatchProxy.this.watchers--;
            }
            watcher.broadcast = null;
            if (watchers.isEmpty()) {
                stream.drop(this);
            }
        }

        /** The upstream watch's answers. */
        void onResponse(final WatchResponse response) {
            if (response.getCanceled()) {
                cancelled(response);
                return;
            }
            if (response.getCreated()) {
                created = true;
                lastHeader = response.getHeader();
                lastRevision = startRevision > 0 ? startRevision - 1 : response.getHeader().getRevision();
                final ResponseHeader header = response.getHeader();
                for (final Watcher watcher : List.copyOf(watchers)) {
                    if (!watcher.createdSent) {
                        sendCreated(watcher, header);
                    }
                }
                return;
            }
            lastHeader = response.getHeader();
            if (response.getEventsCount() == 0) {
                // Progress: nothing at or below the header's revision is still to come.
                lastRevision = Math.max(lastRevision, response.getHeader().getRevision());
                for (final Watcher watcher : List.copyOf(watchers)) {
                    if (watcher.progressNotify && watcher.createdSent) {
                        watcher.client.send(WatchResponse.newBuilder().setHeader(response.getHeader())
                            .setWatchId(watcher.id).build());
                    }
                }
                return;
            }
            final List<Event> withPrevious = new ArrayList<>(response.getEventsCount());
            for (final Event event : response.getEventsList()) {
                if (event.getKv().getModRevision() > lastRevision) {
                    withPrevious.add(namespace.strip(event));
                }
            }
            if (withPrevious.isEmpty()) {
                return;
            }
            lastRevision = withPrevious.get(withPrevious.size() - 1).getKv().getModRevision();
            List<Event> withoutPrevious = null;
            int delivered = 0;
            for (final Watcher watcher : List.copyOf(watchers)) {
                if (!watcher.createdSent) {
                    continue;
                }
                List<Event> events;
                if (watcher.prevKv) {
                    events = withPrevious;
                } else {
                    if (withoutPrevious == null) {
                        withoutPrevious = new ArrayList<>(withPrevious.size());
                        for (final Event event : withPrevious) {
                            withoutPrevious.add(event.hasPrevKv() ? event.toBuilder().clearPrevKv().build() : event);
                        }
                    }
                    events = withoutPrevious;
                }
                if (watcher.noPut || watcher.noDelete || watcher.startRevision > 0) {
                    final List<Event> wanted = new ArrayList<>(events.size());
                    for (final Event event : events) {
                        if (watcher.wants(event)) {
                            wanted.add(event);
                        }
                    }
                    events = wanted;
                }
                if (events.isEmpty()) {
                    continue;
                }
                watcher.client.send(WatchResponse.newBuilder().setHeader(response.getHeader())
                    .setWatchId(watcher.id).addAllEvents(events).build());
                delivered++;
            }
            if (delivered > 1) {
                eventsCoalesced.addAndGet((long)withPrevious.size() * (delivered - 1));
            }
        }

        /** Refused or ended upstream (permission, compaction): so are its watchers, with the same answer. */
        void cancelled(final WatchResponse response) {
            stream.forget(this);
            for (final Watcher watcher : List.copyOf(watchers)) {
                watchers.remove(watcher);
                WatchProxy.this.watchers--;
                watcher.broadcast = null;
                watcher.client.byId.remove(watcher.id);
                watcher.client.send(WatchResponse.newBuilder().setHeader(response.getHeader())
                    .setWatchId(watcher.id).setCreated(!watcher.createdSent).setCanceled(true)
                    .setCompactRevision(response.getCompactRevision()).setCancelReason(response.getCancelReason())
                    .build());
                if (!watcher.createdSent) {
                    watcher.createdSent = true;
                    watcher.client.createdSent();
                }
            }
        }
    }

    /** The upstream stream of one auth token: its broadcasts, and reconnection when it breaks. */
    private final class UpstreamStream {
        final String token;
        final List<Broadcast> broadcasts = new ArrayList<>();
        final Map<Long, Broadcast> byUpstreamId = new HashMap<>();
        /** Creates sent and not yet answered, in order (a member answers creates in order). */
        final ArrayDeque<Broadcast> awaitingCreated = new ArrayDeque<>();
        StreamObserver<WatchRequest> requests;
        long backoffMs = 100;
        boolean reconnecting;

        UpstreamStream(final String token) {
            this.token = token;
        }

        void create(final Broadcast broadcast) {
            if (requests == null && !reconnecting) {
                open();
            }
            if (requests == null) {
                return; // sent when the stream is open again
            }
            awaitingCreated.add(broadcast);
            requests.onNext(WatchRequest.newBuilder().setCreateRequest(WatchCreateRequest.newBuilder()
                .setKey(broadcast.key).setRangeEnd(broadcast.end).setStartRevision(broadcast.startRevision)
                .setPrevKv(true).setProgressNotify(true)).build());
        }

        void drop(final Broadcast broadcast) {
            broadcasts.remove(broadcast);
            if (broadcast.created) {
                byUpstreamId.remove(broadcast.upstreamId);
                if (requests != null) {
                    requests.onNext(WatchRequest.newBuilder().setCancelRequest(WatchCancelRequest.newBuilder()
                        .setWatchId(broadcast.upstreamId)).build());
                }
            }
            // Still awaiting its created answer: cancelled when that comes (it is no longer in broadcasts).
        }

        void forget(final Broadcast broadcast) {
            broadcasts.remove(broadcast);
            byUpstreamId.remove(broadcast.upstreamId);
        }

        private void open() {
            final Metadata metadata = new Metadata();
            if (!token.isEmpty()) {
                metadata.put(Upstream.TOKEN, token);
            }
            metadata.put(HAS_LEADER, "true");
            final java.util.concurrent.atomic.AtomicReference<StreamObserver<WatchRequest>> self =
            new java.util.concurrent.atomic.AtomicReference<>();
            // Not in the context of the client call that happens to open it: that call's end would cancel it.
            final Context previous = Context.ROOT.attach();
            try {
                self.set(open(metadata, self));
            } finally {
                Context.ROOT.detach(previous);
            }
            requests = self.get();
        }

        private StreamObserver<WatchRequest> open(final Metadata metadata,
            final java.util.concurrent.atomic.AtomicReference<StreamObserver<WatchRequest>> self) {
            return WatchGrpc.newStub(upstream.own())
                .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(metadata))
                .watch(new StreamObserver<>() {
                    @Override
                    public void onNext(final WatchResponse response) {
                        synchronized (WatchProxy.this) {
                            if (requests == self.get()) {
                                backoffMs = 100;
                                answer(response);
                            }
                        }
                    }

                    @Override
                    public void onError(final Throwable error) {
                        synchronized (WatchProxy.this) {
                            if (requests == self.get()) {
                                broken(Status.fromThrowable(error));
                            }
                        }
                    }

                    @Override
                    public void onCompleted() {
                        synchronized (WatchProxy.this) {
                            if (requests == self.get()) {
                                broken(Status.OK.withDescription("ended by the member"));
                            }
                        }
                    }
                });
        }

        private void answer(final WatchResponse response) {
            if (response.hasHeader()) {
                latest = response.getHeader();
            }
            if (response.getCreated()) {
                final Broadcast broadcast = awaitingCreated.poll();
                if (broadcast == null) {
                    return;
                }
                broadcast.upstreamId = response.getWatchId();
                if (!broadcasts.contains(broadcast)) {
                    // Its watchers all left while it was being created.
                    if (!response.getCanceled()) {
                        requests.onNext(WatchRequest.newBuilder().setCancelRequest(WatchCancelRequest.newBuilder()
                            .setWatchId(response.getWatchId())).build());
                    }
                    return;
                }
                if (!response.getCanceled()) {
                    byUpstreamId.put(response.getWatchId(), broadcast);
                }
                broadcast.onResponse(response);
                return;
            }
            final Broadcast broadcast = byUpstreamId.get(response.getWatchId());
            if (broadcast != null) {
                broadcast.onResponse(response);
            }
        }

        /** The stream broke: open another after a pause, and start every broadcast again where it was. */
        private void broken(final Status why) {
            LOG.log(System.Logger.Level.INFO, "grpc-proxy: an upstream watch stream broke (" + why + "); "
                + broadcasts.size() + " watches resume on another in " + backoffMs + " ms");
            final StreamObserver<WatchRequest> gone = requests;
            requests = null;
            awaitingCreated.clear();
            byUpstreamId.clear();
            try {
                gone.onError(Status.CANCELLED.withDescription("grpc-proxy: stream replaced").asRuntimeException());
            } catch (final RuntimeException ex) {
                // Already over.
            }
            if (why.getDescription() != null && why.getDescription().contains(EtcdStatus.NO_LEADER)) {
                // The member has had no leader for a while (etcd's monitor): clients that asked for one are told,
                // as their member would tell them; the others' watches wait for the cluster here.
                for (final Broadcast broadcast : List.copyOf(broadcasts)) {
                    for (final Watcher watcher : List.copyOf(broadcast.watchers)) {
                        if (watcher.client.requireLeader) {
                            watcher.client.fail(Status.UNAVAILABLE.withDescription(EtcdStatus.NO_LEADER));
                        }
                    }
                }
            }
            if (broadcasts.isEmpty()) {
                streams.remove(token);
                return;
            }
            reconnecting = true;
            final long delay = backoffMs;
            backoffMs = Math.min(backoffMs * 2, 2_000);
            timer.schedule(() -> {
                synchronized (WatchProxy.this) {
                    reconnecting = false;
                    if (broadcasts.isEmpty()) {
                        streams.remove(token);
                        return;
                    }
                    open();
                    final List<Long> from = new ArrayList<>();
                    for (final Broadcast broadcast : List.copyOf(broadcasts)) {
                        if (broadcast.created) {
                            broadcast.startRevision = broadcast.lastRevision + 1;
                        }
                        broadcast.created = false;
                        from.add(broadcast.startRevision);
                        create(broadcast);
                    }
                    LOG.log(System.Logger.Level.INFO, "grpc-proxy: watches resumed from revisions " + from);
                }
            }, delay, TimeUnit.MILLISECONDS);
        }
    }

    /** Closes every upstream stream (the proxy is stopping). */
    synchronized void close() {
        for (final UpstreamStream stream : streams.values()) {
            if (stream.requests != null) {
                try {
                    stream.requests.onCompleted();
                } catch (final RuntimeException ex) {
                    // Already over.
                }
            }
        }
        streams.clear();
    }
}
