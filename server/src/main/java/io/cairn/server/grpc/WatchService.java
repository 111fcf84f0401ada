package io.cairn.server.grpc;

import io.cairn.server.node.Node;
import io.etcd.jetcd.api.WatchCreateRequest;
import io.etcd.jetcd.api.WatchGrpc;
import io.etcd.jetcd.api.WatchRequest;
import io.etcd.jetcd.api.WatchResponse;
import io.grpc.stub.StreamObserver;

import java.util.HashSet;
import java.util.Set;

/**
 * etcd's Watch service: one bidirectional stream carries many watchers. Create (key, range or prefix; start
 * revision for history then live; prev_kv; NOPUT/NODELETE filters; progress_notify; a client-chosen watch ID or the
 * next free one from 0), cancel, and progress requests (answered with the current revision and watch ID -1, as etcd
 * 3.4). Events are delivered by the {@link WatchHub}.
 */
public final class WatchService extends WatchGrpc.WatchImplBase {
    private static final int FILTER_NOPUT = 0;
    private static final int FILTER_NODELETE = 1;
    private static final int CREATE_FRAGMENT_FIELD = 8;
    private static final int CREATE_WATCH_ID_FIELD = 7;
    private static final int PROGRESS_REQUEST_FIELD = 3;

    private final Node node;
    private final WatchHub hub;

    /**
     * @param node the member it serves.
     * @param hub    the dispatcher.
     */
    public WatchService(final Node node, final WatchHub hub) {
        this.node = node;
        this.hub = hub;
    }

    @Override
    public StreamObserver<WatchRequest> watch(final StreamObserver<WatchResponse> stream) {
        return new StreamObserver<>() {
            private final Set<Long> ids = new HashSet<>();
            private long nextId;

            @Override
            public synchronized void onNext(final WatchRequest request) {
                if (request.hasCreateRequest()) {
                    create(request.getCreateRequest());
                } else if (request.hasCancelRequest()) {
                    final long id = request.getCancelRequest().getWatchId();
                    if (ids.remove(id)) {
                        hub.remove(stream, id);
                        WatchHub.send(stream, WatchResponse.newBuilder().setHeader(node.header(revision()))
                            .setWatchId(id).setCanceled(true).build());
                    }
                } else if (request.getUnknownFields().hasField(PROGRESS_REQUEST_FIELD)) {
                    // etcd 3.4's progress_request (field 3), unknown to the stubs' proto.
                    WatchHub.send(stream, WatchResponse.newBuilder().setHeader(node.header(revision()))
                        .setWatchId(-1).build());
                }
            }

            private void create(final WatchCreateRequest create) {
                // etcd 3.4's watch_id (field 7) is newer than the stubs' proto: it arrives as an unknown field.
                final var chosen = create.getUnknownFields().getField(CREATE_WATCH_ID_FIELD);
                long id = chosen == null || chosen.getVarintList().isEmpty() ? 0 : chosen.getVarintList().get(0);
                if (id == 0) {
                    while (ids.contains(nextId)) {
                        nextId++;
                    }
                    id = nextId++;
                } else if (ids.contains(id)) {
                    WatchHub.send(stream, WatchResponse.newBuilder().setHeader(node.header(revision()))
                        .setWatchId(id).setCreated(true).setCanceled(true)
                        .setCancelReason("etcdserver: duplicate watch ID").build());
                    return;
                }
                boolean noPut = false;
                boolean noDelete = false;
                for (final WatchCreateRequest.FilterType filter : create.getFiltersList()) {
                    noPut |= filter.getNumber() == FILTER_NOPUT;
                    noDelete |= filter.getNumber() == FILTER_NODELETE;
                }
                final long current = revision();
                final long start = create.getStartRevision() > 0 ? create.getStartRevision() : current + 1;
                ids.add(id);
                WatchHub.send(stream, WatchResponse.newBuilder().setHeader(node.header(current))
                    .setWatchId(id).setCreated(true).build());
                // etcd 3.4's fragment (field 8): a revision too large for one message may come in pieces.
                final var fragment = create.getUnknownFields().getField(CREATE_FRAGMENT_FIELD);
                hub.add(new WatchHub.Watcher(stream, id, create.getKey().toByteArray(),
                    create.getRangeEnd().toByteArray(), start, create.getPrevKv(), noPut, noDelete,
                    create.getProgressNotify(), fragment != null && !fragment.getVarintList().isEmpty()
                    && fragment.getVarintList().get(0) != 0));
            }

            @Override
            public void onError(final Throwable error) {
                hub.removeAll(stream);
            }

            @Override
            public void onCompleted() {
                hub.removeAll(stream);
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

    private long revision() {
        return node.read(reader -> reader.revision());
    }
}
