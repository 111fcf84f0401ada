package io.cairn.server.http;

import io.cairn.consensus.RaftCore;
import io.cairn.consensus.loop.RaftAgent;
import io.cairn.embedded.NodeStatus;
import io.cairn.transport.aeron.AeronTransport;
import io.grpc.ForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import io.cairn.consensus.keyspace.Defragmenter;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.ClassicHistogramBuckets;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.ToDoubleFunction;

/**
 * A member's {@code /metrics}, written with the Prometheus Java client: etcd's names that dashboards and alerts use
 * (leader, proposals, database size, WAL fsync latency, gRPC calls started and handled by method and code as
 * go-grpc-prometheus counts them), the JVM's and the process's ({@code process_cpu_seconds_total},
 * {@code process_resident_memory_bytes}, ...), and Cairn's own batching figures. Values are read when scraped, from
 * the member's counters; only the gRPC counters are counted here, by {@link #grpcInterceptor()}.
 */
public final class MemberMetrics {
    private static final System.Logger LOG = System.getLogger(MemberMetrics.class.getName());
    /** etcd's expected duration of a request: slower ones are logged. */
    private static final long SLOW_REQUEST_NS = 100_000_000L;
    private static final long SLOW_LOG_INTERVAL_NS = 1_000_000_000L;
    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Counter started;
    private final Counter handled;
    private final Map<String, CounterDataPoint> startedByMethod = new ConcurrentHashMap<>();
    private final Map<String, CounterDataPoint> handledByMethodAndCode = new ConcurrentHashMap<>();
    private final Histogram handling;
    private final Histogram defragDuration;
    private final Histogram defragPause;
    private final Map<String, DistributionDataPoint> handlingByMethod = new ConcurrentHashMap<>();
    /** etcd's "request took too long" warning: at most one line a second, with the count of those not logged. */
    private final AtomicLong slowLoggedNs = new AtomicLong(System.nanoTime() - SLOW_LOG_INTERVAL_NS);
    private final AtomicLong slowUnlogged = new AtomicLong();

    /**
     * @param status the member's counters.
     */
    public MemberMetrics(final NodeStatus status) {
        gauge("etcd_server_has_leader", "Whether or not a leader exists. 1 is existence, 0 is not.", status,
            s -> s.leaderId() != 0 ? 1 : 0);
        gauge("etcd_server_is_leader", "Whether or not this member is a leader. 1 if is, 0 otherwise.", status,
            s -> s.leaderId() == s.selfId() ? 1 : 0);
        counter("etcd_server_leader_changes_seen", "The number of leader changes seen.", status,
            NodeStatus::leaderChanges);
        counter("etcd_server_proposals_committed", "The total number of consensus proposals committed.", status,
            NodeStatus::proposalsCommitted);
        counter("etcd_server_proposals_applied", "The total number of consensus proposals applied.", status,
            NodeStatus::appliedIndex);
        gauge("etcd_server_proposals_pending", "The current number of pending proposals to commit.", status,
            NodeStatus::proposalsPending);
        counter("etcd_server_proposals_failed", "The total number of failed proposals seen.", status,
            NodeStatus::proposalsFailed);
        gauge("etcd_mvcc_db_total_size_in_bytes", "Total size of the underlying database physically allocated in"
            + " bytes.", status, NodeStatus::storeBytes);
        gauge("etcd_mvcc_db_total_size_in_use_in_bytes", "Total size of the underlying database logically in use in"
            + " bytes.", status, NodeStatus::storeInUseBytes);
        gauge("etcd_debugging_mvcc_db_total_size_in_bytes", "Total size of the underlying database physically"
            + " allocated in bytes (etcd 3.4's older name).", status, NodeStatus::storeBytes);
        gauge("etcd_server_quota_backend_bytes", "Current backend storage quota size in bytes.", status,
            NodeStatus::storeQuotaBytes);
        registry.register(() -> histogram("etcd_disk_wal_fsync_duration_seconds",
            "The latency distributions of fsync called by WAL.", status.loop()::syncsInBucket,
            status.loop().syncNanosTotal()));
        registry.register(() -> roundTrips(status.loop().roundTrips(), status));
        // LMDB's commit of an apply run; it does not sync (the WAL is the durable record), where bbolt's does.
        registry.register(() -> histogram("etcd_disk_backend_commit_duration_seconds",
            "The latency distributions of commit called by backend.", status.loop()::commitsInBucket,
            status.loop().commitNanosTotal()));
        counter("cairn_peer_frames_dropped", "Peer frames dropped as malformed, foreign or corrupt.", status,
            NodeStatus::peerFramesDropped);
        CounterWithCallback.builder().name("cairn_peer_frames_rejected")
            .help("Sealed peer frames refused (never decoded), by reason.").labelNames("reason")
            .callback(callback -> {
                if (status.peerFramesSealed()) {
                    for (int reason = -1; reason >= AeronTransport.REJECTED_UNKNOWN_SENDER; reason--) {
                        callback.call(status.peerFramesRejected(reason), AeronTransport.rejectionReason(reason));
                    }
                }
            }).register(registry);
        counter("cairn_corruption_checks", "Keyspace hash comparisons between this member and another.", status,
            NodeStatus::corruptionChecks);
        counter("cairn_corruption_mismatches", "Comparisons that found the keyspaces different (CORRUPT).", status,
            NodeStatus::corruptionMismatches);
        // Batching, so that a user can see why a figure is what it is: divide the pairs.
        counter("cairn_wal_syncs", "WAL syncs (one per loop cycle at most: group commit).", status,
            s -> s.loop().syncs());
        counter("cairn_wal_entries_synced", "Log entries made durable by WAL syncs (per sync: the batch).", status,
            s -> s.loop().entriesSynced());
        counter("cairn_raft_append_messages", "AppendEntries messages sent by this member as leader.", status,
            s -> core(s) == null ? 0 : core(s).appendMessagesSentCount());
        counter("cairn_raft_append_entries", "Entries carried by them (per message: replication's batch).", status,
            s -> core(s) == null ? 0 : core(s).appendEntriesSentCount());
        counter("cairn_apply_transactions", "Keyspace write transactions (one per applied run).", status,
            s -> s.loop().runsApplied());
        counter("cairn_apply_entries", "Entries applied (per transaction: the apply batch).", status,
            s -> s.loop().entriesApplied());
        counter("cairn_peer_messages_sent", "Raft messages handed to the transport.", status,
            s -> s.loop().messagesSent());
        counter("cairn_peer_messages_refused", "Raft messages the transport refused (back-pressure, peer not"
            + " connected); Raft resends what matters.", status, s -> s.loop().messagesDropped());
        counter("etcd_network_peer_sent_failures", "The total number of send failures to peers (back-pressure or"
            + " not connected).", status, s -> s.loop().messagesDropped());
        counter("cairn_forwarded_proposals_duplicate", "Forwarded proposals this member, as leader, dropped as"
            + " copies of ones it had already taken.", status,
            s -> core(s) == null ? 0 : core(s).duplicateForwardCount());
        this.started = Counter.builder().name("grpc_server_started")
            .help("Total number of RPCs started on the server.")
            .labelNames("grpc_type", "grpc_service", "grpc_method").register(registry);
        this.handled = Counter.builder().name("grpc_server_handled")
            .help("Total number of RPCs completed on the server, regardless of success or failure.")
            .labelNames("grpc_type", "grpc_service", "grpc_method", "grpc_code").register(registry);
        this.handling = Histogram.builder().name("grpc_server_handling_seconds")
            .help("Histogram of response latency (seconds) of gRPC that had been application-level handled by the"
                + " server.")
            .classicOnly().classicUpperBounds(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10)
            .labelNames("grpc_type", "grpc_service", "grpc_method").register(registry);
        this.defragDuration = Histogram.builder().name("etcd_disk_backend_defrag_duration_seconds")
            .help("The latency distribution of backend defragmentation.").classicOnly()
            .classicExponentialUpperBounds(.1, 2, 13).register(registry);
        this.defragPause = Histogram.builder().name("cairn_disk_backend_defrag_write_pause_seconds")
            .help("How long writes waited for a defragmentation (its swap; etcd's wait for all of it).").classicOnly()
            .classicExponentialUpperBounds(.0001, 4, 10).register(registry);
        JvmMetrics.builder().register(registry);
    }

    /**
     * etcd's watch gauges, read from the Watch service.
     *
     * @param watchers its watchers now ({@code etcd_debugging_mvcc_watcher_total}).
     * @param streams  its streams now ({@code etcd_debugging_mvcc_watch_stream_total}).
     */
    public void watches(final java.util.function.LongSupplier watchers, final java.util.function.LongSupplier streams) {
        GaugeWithCallback.builder().name("etcd_debugging_mvcc_watcher_total").help("Total number of watchers.")
            .callback(callback -> callback.call(watchers.getAsLong())).register(registry);
        GaugeWithCallback.builder().name("etcd_debugging_mvcc_watch_stream_total")
            .help("Total number of watch streams.").callback(callback -> callback.call(streams.getAsLong()))
            .register(registry);
    }

    /**
     * @param report a finished defragmentation of this member's keyspace.
     */
    public void defragmented(final Defragmenter.Report report) {
        defragDuration.observe(report.tookNs() / 1e9);
        defragPause.observe(report.pauseNs() / 1e9);
    }

    private static RaftCore core(final NodeStatus status) {
        return status.loop().core();
    }

    private void gauge(final String name, final String help, final NodeStatus status,
        final ToDoubleFunction<NodeStatus> value) {
        GaugeWithCallback.builder().name(name).help(help).callback(callback -> callback.call(value.applyAsDouble(
            status))).register(registry);
    }

    private void counter(final String name, final String help, final NodeStatus status,
        final ToDoubleFunction<NodeStatus> value) {
        CounterWithCallback.builder().name(name).help(help).callback(callback -> callback.call(value.applyAsDouble(
            status))).register(registry);
    }

    /** etcd's peer round-trip histogram, by peer ({@code To}: its member ID in hex, as etcd writes IDs). */
    private static HistogramSnapshot roundTrips(final io.cairn.consensus.loop.PeerRoundTrips trips,
        final NodeStatus status) {
        final HistogramSnapshot.Builder builder = HistogramSnapshot.builder()
            .name("etcd_network_peer_round_trip_time_seconds")
            .help("Round-Trip-Time histogram between peers (a leader's heartbeat and its answer, over Raft's path).");
        for (final io.cairn.consensus.loop.PeerRoundTrips.Peer peer : trips.peers()) {
            final double[] bounds = new double[io.cairn.consensus.loop.PeerRoundTrips.BUCKETS];
            final long[] counts = new long[bounds.length];
            for (int bucket = 0; bucket < bounds.length; bucket++) {
                bounds[bucket] = bucket == bounds.length - 1 ? Double.POSITIVE_INFINITY
                    : (io.cairn.consensus.loop.PeerRoundTrips.FIRST_BOUND_NS << bucket) / 1e9;
                counts[bucket] = peer.inBucket(bucket);
            }
            builder.dataPoint(HistogramSnapshot.HistogramDataPointSnapshot.builder()
                .labels(io.prometheus.metrics.model.snapshots.Labels.of("To",
                    Long.toHexString(status.memberIdOf(peer.id()))))
                .classicHistogramBuckets(ClassicHistogramBuckets.of(bounds, counts))
                .sum(peer.nanosTotal() / 1e9).build());
        }
        return builder.build();
    }

    /** One of etcd's disk histograms from the loop's own buckets (powers of two from its first bound). */
    private static HistogramSnapshot histogram(final String name, final String help,
        final java.util.function.IntToLongFunction bucketCount, final long nanosTotal) {
        final double[] bounds = new double[RaftAgent.SYNC_BUCKETS];
        final long[] counts = new long[RaftAgent.SYNC_BUCKETS];
        for (int bucket = 0; bucket < RaftAgent.SYNC_BUCKETS; bucket++) {
            bounds[bucket] = bucket == RaftAgent.SYNC_BUCKETS - 1 ? Double.POSITIVE_INFINITY
                : (RaftAgent.SYNC_BUCKET_FIRST_NS << bucket) / 1e9;
            counts[bucket] = bucketCount.applyAsLong(bucket);
        }
        return HistogramSnapshot.builder().name(name).help(help)
            .dataPoint(HistogramSnapshot.HistogramDataPointSnapshot.builder()
                .classicHistogramBuckets(ClassicHistogramBuckets.of(bounds, counts))
                .sum(nanosTotal / 1e9).build()).build();
    }

    /**
     * @return the text exposition format (0.0.4) of every metric now.
     */
    public String scrape() {
        return text(registry);
    }

    /**
     * @param registry metrics.
     * @return their text exposition format (0.0.4) now.
     */
    public static String text(final PrometheusRegistry registry) {
        final ByteArrayOutputStream out = new ByteArrayOutputStream(16 * 1024);
        try {
            PrometheusTextFormatWriter.create().write(out, registry.scrape());
        } catch (final IOException ex) {
            throw new UncheckedIOException(ex);
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    /**
     * @return an interceptor that counts every call the server starts and completes (go-grpc-prometheus's
     *     {@code grpc_server_started_total} and {@code grpc_server_handled_total}).
     */
    public ServerInterceptor grpcInterceptor() {
        return new ServerInterceptor() {
            @Override
            public <Q, A> ServerCall.Listener<Q> interceptCall(final ServerCall<Q, A> call, final Metadata headers,
                final ServerCallHandler<Q, A> next) {
                final MethodDescriptor<Q, A> method = call.getMethodDescriptor();
                final String name = method.getFullMethodName();
                final long startNs = System.nanoTime();
                startedByMethod.computeIfAbsent(name, key -> started.labelValues(type(method.getType()),
                    method.getServiceName(), method.getBareMethodName())).inc();
                return next.startCall(new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
                    @Override
                    public void close(final Status status, final Metadata trailers) {
                        final long tookNs = System.nanoTime() - startNs;
                        handledByMethodAndCode.computeIfAbsent(name + '|' + status.getCode(), key -> handled
                            .labelValues(type(method.getType()), method.getServiceName(), method.getBareMethodName(),
                                codeName(status.getCode()))).inc();
                        handlingByMethod.computeIfAbsent(name, key -> handling.labelValues(type(method.getType()),
                            method.getServiceName(), method.getBareMethodName())).observe(tookNs / 1e9);
                        if (tookNs >= SLOW_REQUEST_NS && method.getType() == MethodDescriptor.MethodType.UNARY) {
                            slow(method, status, tookNs);
                        }
                        super.close(status, trailers);
                    }
                }, headers);
            }
        };
    }

    /**
     * etcd's warning for a request slower than its expected 100 ms ("request took too long", with the method, the
     * time it took and its outcome), at most once a second: under saturation every request may be slow, and a log
     * line per request would add to the load.
     */
    private void slow(final MethodDescriptor<?, ?> method, final Status status, final long tookNs) {
        final long nowNs = System.nanoTime();
        final long last = slowLoggedNs.get();
        if (nowNs - last < SLOW_LOG_INTERVAL_NS || !slowLoggedNs.compareAndSet(last, nowNs)) {
            slowUnlogged.incrementAndGet();
            return;
        }
        final long unlogged = slowUnlogged.getAndSet(0);
        LOG.log(System.Logger.Level.WARNING, "request took too long (took: " + tookNs / 1_000_000 + "ms,"
            + " expected-duration: 100ms, request: " + method.getFullMethodName() + ", response: " + status.getCode()
            + (unlogged > 0 ? "; " + unlogged + " more slow requests in the last second not logged" : "") + ")");
    }

    private static String type(final MethodDescriptor.MethodType type) {
        return switch (type) {
            case UNARY -> "unary";
            case CLIENT_STREAMING -> "client_stream";
            case SERVER_STREAMING -> "server_stream";
            default -> "bidi_stream";
        };
    }

    /** gRPC's Go names of the codes (OK, InvalidArgument, ...), as go-grpc-prometheus labels them. */
    private static String codeName(final Status.Code code) {
        final StringBuilder name = new StringBuilder();
        for (final String word : code.name().split("_")) {
            name.append(word.charAt(0)).append(word.substring(1).toLowerCase(java.util.Locale.ROOT));
        }
        return "Ok".equals(name.toString()) ? "OK" : name.toString();
    }
}
