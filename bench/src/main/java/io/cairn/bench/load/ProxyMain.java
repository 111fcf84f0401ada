package io.cairn.bench.load;

import com.google.protobuf.ByteString;
import io.cairn.bench.BenchDirectories;
import io.cairn.bench.JvmFlags;
import io.etcd.jetcd.api.Event;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.PutResponse;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.WatchCreateRequest;
import io.etcd.jetcd.api.WatchGrpc;
import io.etcd.jetcd.api.WatchRequest;
import io.etcd.jetcd.api.WatchResponse;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

import java.io.IOException;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code java -jar bench/target/benchmarks.jar proxy --out DIR [options]}: Cairn's grpc-proxy against etcd 3.4's, in
 * the same run on the same machine. Both three-member clusters are started here as processes (as {@code compare}
 * does), each with its own proxy process in front ({@code cairn grpc-proxy start}, {@code etcd grpc-proxy start}).
 * Per system and round:
 *
 * <ul>
 *   <li><b>Added latency</b>: one client, one request at a time, {@code --ops} puts, linearizable gets and
 *       serializable gets of one key, straight to a member and through the proxy; p50/p99 of each (HdrHistogram),
 *       and the difference.</li>
 *   <li><b>Watch fan-out</b>: {@code --watchers} watchers of one key (on 8 client streams), through the proxy and,
 *       to compare, spread straight over the three members; {@code --events} puts to a member (32 in flight); the
 *       time until every watcher has every event gives deliveries per second, each delivery's time since its put was
 *       sent gives its latency, and the processes' CPU (members and proxy, /proc) per thousand deliveries.</li>
 * </ul>
 * Writes {@code proxy.md} and one JSON per system and round into DIR.
 */
public final class ProxyMain {
    static final String USAGE = String.join("\n",
        "usage: java -jar bench/target/benchmarks.jar proxy --out DIR [options]",
        "  --out DIR          where proxy.md and the JSON results go (required)",
        "  --watchers N       watchers of one key in the fan-out (1000)",
        "  --events N         puts to that key, each an event for every watcher (200)",
        "  --ops N            requests of each kind for the added latency (2000)",
        "  --rounds N         times each system runs, alternating which goes first (2)",
        "  --cairn-jar PATH   the cairn launcher jar (server/target/cairn.jar)",
        "  --etcd PATH        etcd 3.4 (etcd on the PATH, else /usr/bin/etcd)",
        "");
    private static final int STREAMS = 8;
    private static final int PUTS_IN_FLIGHT = 32;

    private ProxyMain() {
    }

    /** One fan-out's figures. */
    record FanOut(long deliveries, double seconds, long p50Us, long p99Us, double cpuMsPerThousand) {
        double perSecond() {
            return deliveries / seconds;
        }
    }

    /** One system's figures in one round. */
    record Outcome(String system, int round, long[][] latencyUs, FanOut viaProxy, FanOut direct) {
        String json() {
            return String.format(Locale.ROOT, "{\n  \"label\": \"proxy %s\",\n  \"round\": %d,\n"
                + "  \"putP50Us\": [%d, %d], \"putP99Us\": [%d, %d],\n"
                + "  \"getP50Us\": [%d, %d], \"getP99Us\": [%d, %d],\n"
                + "  \"serializableGetP50Us\": [%d, %d], \"serializableGetP99Us\": [%d, %d],\n"
                + "  \"fanOutViaProxyPerSecond\": %.0f, \"fanOutViaProxyP50Us\": %d, \"fanOutViaProxyP99Us\": %d,"
                + " \"fanOutViaProxyCpuMsPerThousand\": %.2f,\n"
                + "  \"fanOutDirectPerSecond\": %.0f, \"fanOutDirectP50Us\": %d, \"fanOutDirectP99Us\": %d,"
                + " \"fanOutDirectCpuMsPerThousand\": %.2f\n}\n", system, round,
                latencyUs[0][0], latencyUs[0][1], latencyUs[0][2], latencyUs[0][3],
                latencyUs[1][0], latencyUs[1][1], latencyUs[1][2], latencyUs[1][3],
                latencyUs[2][0], latencyUs[2][1], latencyUs[2][2], latencyUs[2][3],
                viaProxy.perSecond(), viaProxy.p50Us(), viaProxy.p99Us(), viaProxy.cpuMsPerThousand(),
                direct.perSecond(), direct.p50Us(), direct.p99Us(), direct.cpuMsPerThousand());
        }
    }

    /**
     * @param args the arguments after {@code proxy}.
     * @param out  where the table goes.
     * @param err  where progress goes.
     * @return the exit status.
     * @throws Exception if a run cannot be done.
     */
    public static int run(final String[] args, final PrintStream out, final PrintStream err) throws Exception {
        final SystemsOptions options = new SystemsOptions(2);
        final class Own {
            int watchers = 1000;
            int events = 200;
            int ops = 2000;
        }
        final Own own = new Own();
        final Integer exit = options.parse("proxy", USAGE, args, (flag, value) -> {
            switch (flag) {
                case "--watchers" -> own.watchers = Integer.parseInt(value);
                case "--events" -> own.events = Integer.parseInt(value);
                case "--ops" -> own.ops = Integer.parseInt(value);
                default -> {
                    return -1;
                }
            }
            return 1;
        }, out, err);
        if (exit != null) {
            return exit;
        }
        final int watchers = own.watchers;
        final int events = own.events;
        final int ops = own.ops;
        final Path outDir = options.outDir;
        final int rounds = options.rounds;
        if (!options.ready() || watchers < STREAMS || events < 1 || ops < 1) {
            err.print("proxy: --out is required, " + options.cairnJar + " must exist (./mvnw -DskipTests package), at"
                + " least " + STREAMS + " watchers, one event and one op\n" + USAGE);
            return LoadMain.EXIT_USAGE;
        }
        Files.createDirectories(outDir);
        final Path data = BenchDirectories.fresh("proxy");
        final String etcdPath = options.etcdPath();
        final Path cairnJar = options.cairnJar;
        final List<Outcome> outcomes = new ArrayList<>();
        try (CompareMain.Cluster etcdCluster = CompareMain.startEtcd(etcdPath, data, err);
            CompareMain.Cluster cairnCluster = CompareMain.startCairn(cairnJar, data, err);
            CompareMain.Cluster etcdProxy = startProxy("etcd-proxy", List.of(etcdPath, "grpc-proxy", "start"),
                etcdCluster, data, err);
            CompareMain.Cluster cairnProxy = startProxy("cairn-proxy", cairnCommand(cairnJar), cairnCluster, data,
                err)) {
            for (int round = 1; round <= rounds; round++) {
                final boolean etcdFirst = round % 2 == 1;
                for (int turn = 0; turn < 2; turn++) {
                    final boolean isEtcd = etcdFirst == (turn == 0);
                    final CompareMain.Cluster cluster = isEtcd ? etcdCluster : cairnCluster;
                    final CompareMain.Cluster proxy = isEtcd ? etcdProxy : cairnProxy;
                    err.println("proxy: " + cluster.system + ", round " + round);
                    final Outcome outcome = runOne(cluster, proxy, round, watchers, events, ops);
                    Files.writeString(outDir.resolve("proxy-" + cluster.system + "-r" + round + ".json"),
                        outcome.json());
                    outcomes.add(outcome);
                }
            }
        } finally {
            BenchDirectories.delete(data);
        }
        final String table = table(outcomes, watchers, events, ops);
        Files.writeString(outDir.resolve("proxy.md"), table);
        out.print(table);
        return 0;
    }

    private static List<String> cairnCommand(final Path jar) {
        final List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(JvmFlags.load());
        command.addAll(List.of("-jar", jar.toString(), "grpc-proxy", "start"));
        return command;
    }

    private static CompareMain.Cluster startProxy(final String name, final List<String> start,
        final CompareMain.Cluster cluster, final Path data, final PrintStream err) throws IOException {
        final int port;
        try (ServerSocket socket = new ServerSocket(0)) {
            port = socket.getLocalPort();
        }
        final List<String> command = new ArrayList<>(start);
        command.addAll(List.of("--endpoints", String.join(",", cluster.endpoints), "--listen-addr",
            "127.0.0.1:" + port));
        final CompareMain.Cluster proxy = new CompareMain.Cluster(name);
        proxy.start(new ProcessBuilder(command).redirectErrorStream(true)
            .redirectOutput(data.resolve(name + ".log").toFile()));
        proxy.endpoints.add("127.0.0.1:" + port);
        CompareMain.awaitPorts(proxy, err);
        return proxy;
    }

    private static Outcome runOne(final CompareMain.Cluster cluster, final CompareMain.Cluster proxy,
        final int round, final int watchers, final int events, final int ops) throws Exception {
        final ManagedChannel direct = NettyChannelBuilder.forTarget(cluster.endpoints.get(0)).usePlaintext().build();
        final ManagedChannel through = NettyChannelBuilder.forTarget(proxy.endpoints.get(0)).usePlaintext().build();
        try {
            final long[][] latency = new long[3][4];
            for (int kind = 0; kind < 3; kind++) {
                measure(direct, kind, ops / 4); // warm-up, both paths
                measure(through, kind, ops / 4);
                final Histogram straight = measure(direct, kind, ops);
                final Histogram proxied = measure(through, kind, ops);
                latency[kind] = new long[] {straight.getValueAtPercentile(50) / 1000,
                    proxied.getValueAtPercentile(50) / 1000, straight.getValueAtPercentile(99) / 1000,
                    proxied.getValueAtPercentile(99) / 1000};
            }
            final String key = "fan/" + cluster.system + "/" + round;
            final FanOut viaProxy = fanOut(List.of(proxy.endpoints.get(0)), cluster, proxy, key + "/proxy",
                watchers, events);
            final FanOut straight = fanOut(cluster.endpoints, cluster, proxy, key + "/direct", watchers, events);
            return new Outcome(cluster.system, round, latency, viaProxy, straight);
        } finally {
            direct.shutdownNow();
            through.shutdownNow();
        }
    }

    /** {@code count} requests of one kind (0 put, 1 linearizable get, 2 serializable get), one at a time. */
    private static Histogram measure(final ManagedChannel channel, final int kind, final int count) {
        final KVGrpc.KVBlockingStub kv = KVGrpc.newBlockingStub(channel);
        final Histogram histogram = new Histogram(TimeUnit.SECONDS.toNanos(60), 3);
        final ByteString key = ByteString.copyFromUtf8("proxy-latency");
        final ByteString value = ByteString.copyFrom(new byte[128]);
        for (int i = 0; i < count; i++) {
            final long start = System.nanoTime();
            switch (kind) {
                case 0 -> kv.withDeadlineAfter(10, TimeUnit.SECONDS).put(PutRequest.newBuilder().setKey(key)
                    .setValue(value).build());
                case 1 -> kv.withDeadlineAfter(10, TimeUnit.SECONDS).range(RangeRequest.newBuilder().setKey(key)
                    .build());
                default -> kv.withDeadlineAfter(10, TimeUnit.SECONDS).range(RangeRequest.newBuilder().setKey(key)
                    .setSerializable(true).build());
            }
            histogram.recordValue(System.nanoTime() - start);
        }
        return histogram;
    }

    private static FanOut fanOut(final List<String> watchEndpoints, final CompareMain.Cluster cluster,
        final CompareMain.Cluster proxy, final String key, final int watchers, final int events) throws Exception {
        final ByteString watched = ByteString.copyFromUtf8(key);
        final long[] sentNanos = new long[events];
        final Recorder latency = new Recorder(TimeUnit.SECONDS.toNanos(120), 3);
        final AtomicLong delivered = new AtomicLong();
        final AtomicLong created = new AtomicLong();
        final List<ManagedChannel> channels = new ArrayList<>();
        final List<StreamObserver<WatchRequest>> streams = new ArrayList<>();
        try {
            for (int s = 0; s < STREAMS; s++) {
                final ManagedChannel channel = NettyChannelBuilder.forTarget(watchEndpoints.get(s
                    % watchEndpoints.size())).usePlaintext().build();
                channels.add(channel);
                final StreamObserver<WatchRequest> stream = WatchGrpc.newStub(channel).watch(new StreamObserver<>() {
                    @Override
                    public void onNext(final WatchResponse response) {
                        if (response.getCreated()) {
                            created.incrementAndGet();
                        }
                        final long now = System.nanoTime();
                        for (final Event event : response.getEventsList()) {
                            final int index = Integer.parseInt(event.getKv().getValue().toStringUtf8());
                            latency.recordValue(Math.max(0, now - sentNanos[index]));
                            delivered.incrementAndGet();
                        }
                    }

                    @Override
                    public void onError(final Throwable error) {
                    }

                    @Override
                    public void onCompleted() {
                    }
                });
                streams.add(stream);
                for (int w = s; w < watchers; w += STREAMS) {
                    stream.onNext(WatchRequest.newBuilder().setCreateRequest(WatchCreateRequest.newBuilder()
                        .setKey(watched)).build());
                }
            }
            await(() -> created.get() >= watchers, 60, "every watcher created");
            latency.reset();
            final long cpuBefore = cluster.cpuTicks() + proxy.cpuTicks();
            final long start = System.nanoTime();
            final ManagedChannel writer = NettyChannelBuilder.forTarget(cluster.endpoints.get(0)).usePlaintext()
                .build();
            try {
                final KVGrpc.KVStub kv = KVGrpc.newStub(writer);
                final Semaphore inFlight = new Semaphore(PUTS_IN_FLIGHT);
                for (int i = 0; i < events; i++) {
                    inFlight.acquire();
                    sentNanos[i] = System.nanoTime();
                    kv.put(PutRequest.newBuilder().setKey(watched).setValue(ByteString.copyFromUtf8(
                        Integer.toString(i))).build(), new StreamObserver<PutResponse>() {
                            @Override
                            public void onNext(final PutResponse response) {
                            }

                            @Override
                            public void onError(final Throwable error) {
                                inFlight.release();
                            }

                            @Override
                            public void onCompleted() {
                                inFlight.release();
                            }
                        });
                }
                final long expected = (long)watchers * events;
                await(() -> delivered.get() >= expected, 300, "every event to every watcher");
            } finally {
                writer.shutdownNow();
            }
            final double seconds = (System.nanoTime() - start) / 1e9;
            final long cpuTicks = cluster.cpuTicks() + proxy.cpuTicks() - cpuBefore;
            final Histogram histogram = latency.getIntervalHistogram();
            final long deliveries = delivered.get();
            return new FanOut(deliveries, seconds, histogram.getValueAtPercentile(50) / 1000,
                histogram.getValueAtPercentile(99) / 1000,
                cpuTicks * 1000.0 / ProcessCpu.ticksPerSecond() / (deliveries / 1000.0));
        } finally {
            for (final StreamObserver<WatchRequest> stream : streams) {
                try {
                    stream.onCompleted();
                } catch (final RuntimeException ex) {
                    // Closing anyway.
                }
            }
            for (final ManagedChannel channel : channels) {
                channel.shutdownNow();
            }
        }
    }

    private interface Condition {
        boolean met();
    }

    private static void await(final Condition condition, final long seconds, final String what) throws Exception {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!condition.met()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("proxy: timed out waiting for " + what);
            }
            Thread.sleep(5);
        }
    }

    private static String table(final List<Outcome> outcomes, final int watchers, final int events, final int ops) {
        final StringBuilder table = new StringBuilder();
        table.append("# grpc-proxy: Cairn's against etcd 3.4's\n\n");
        table.append(String.format(Locale.ROOT, "%d watchers of one key on %d streams, %d puts (%d in flight);"
            + " %d requests of each kind, one at a time, for the latency. Times in µs.%n%n", watchers, STREAMS,
            events, PUTS_IN_FLIGHT, ops));
        table.append("| system | round | put p50 direct / proxy | put p99 | get p50 | get p99 | serializable get p50 |"
            + " serializable get p99 | fan-out via proxy (deliveries/s) | via proxy p50 / p99 | CPU ms per 1k"
            + " deliveries | fan-out direct (deliveries/s) | direct p50 / p99 | CPU ms per 1k |\n");
        table.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---:"
            + " |\n");
        for (final Outcome o : outcomes) {
            final long[][] l = o.latencyUs();
            table.append(String.format(Locale.ROOT, "| %s | %d | %d / %d | %d / %d | %d / %d | %d / %d | %d / %d |"
                + " %d / %d | %,.0f | %d / %d | %.1f | %,.0f | %d / %d | %.1f |%n", o.system(), o.round(),
                l[0][0], l[0][1], l[0][2], l[0][3], l[1][0], l[1][1], l[1][2], l[1][3], l[2][0], l[2][1], l[2][2],
                l[2][3], o.viaProxy().perSecond(), o.viaProxy().p50Us(), o.viaProxy().p99Us(),
                o.viaProxy().cpuMsPerThousand(), o.direct().perSecond(), o.direct().p50Us(), o.direct().p99Us(),
                o.direct().cpuMsPerThousand()));
        }
        return table.toString();
    }
}
