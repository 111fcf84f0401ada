package io.cairn.bench.load;

import com.google.protobuf.ByteString;
import io.cairn.bench.BenchDirectories;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.MaintenanceGrpc;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.StatusRequest;
import io.etcd.jetcd.api.StatusResponse;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code java -jar bench/target/benchmarks.jar failover --out DIR [options]}: how fast each system serves writes
 * again after its leader dies, and how many writes it acknowledges through repeated leader deaths. A three-member etcd
 * 3.4 cluster and a three-member Cairn cluster are started here as processes (as {@code compare} does); for each, in
 * turn, {@code --writers} threads each put unique keys with a blocking call (5-s deadline) to one member, moving to
 * the next member when a call fails (as LeaderKillIT's writers do), while the leader — found by Maintenance.Status —
 * is SIGKILLed {@code --kills} times, restarted from its data after {@code --down}, with {@code --settle} of steady
 * writing before each kill. Per system: writes acknowledged and failed over the whole run, and per kill the time from
 * the kill to the first acknowledgement of a write sent after it, and the longest time without any acknowledgement
 * in the 15 s after it (the outage clients saw).
 * Writes {@code failover.md} and one JSON per system into DIR.
 */
public final class FailoverMain {
    static final String USAGE = String.join("\n",
        "usage: java -jar bench/target/benchmarks.jar failover --out DIR [options]",
        "  --out DIR          where failover.md and the JSON results go (required)",
        "  --kills N          leader kills per system (3)",
        "  --writers N        writer threads, one write in flight each (48)",
        "  --settle T         steady writing before each kill and after the last (8s)",
        "  --down T           how long a killed leader stays down before its restart (2s)",
        "  --rounds N         times each system runs, alternating which goes first (1)",
        "  --cairn-jar PATH   the cairn launcher jar (server/target/cairn.jar)",
        "  --etcd PATH        etcd 3.4 (etcd on the PATH, else /usr/bin/etcd)",
        "");
    private static final long DEADLINE_S = 5;
    private static final long GAP_WINDOW_NS = TimeUnit.SECONDS.toNanos(15);

    private FailoverMain() {
    }

    /** What one system did in one round. */
    private record Outcome(String system, int round, long acknowledged, long failed, double seconds,
        List<Long> firstAckMs, List<Long> longestGapMs) {
        String json() {
            return String.format(Locale.ROOT, "{\n  \"label\": \"failover %s\",\n  \"round\": %d,\n"
                + "  \"acknowledged\": %d,\n  \"failed\": %d,\n  \"seconds\": %.1f,\n  \"firstAckAfterKillMs\": %s,\n"
                + "  \"longestGapAfterKillMs\": %s\n}\n", system, round, acknowledged, failed, seconds, firstAckMs,
                longestGapMs);
        }
    }

    /**
     * @param args the arguments after {@code failover}.
     * @param out  where the table goes.
     * @param err  where progress goes.
     * @return the exit status.
     * @throws Exception if a run cannot be done.
     */
    public static int run(final String[] args, final PrintStream out, final PrintStream err) throws Exception {
        final SystemsOptions options = new SystemsOptions(1);
        final class Own {
            int kills = 3;
            int writers = 48;
            long settleNs = TimeUnit.SECONDS.toNanos(8);
            long downNs = TimeUnit.SECONDS.toNanos(2);
        }
        final Own own = new Own();
        final Integer exit = options.parse("failover", USAGE, args, (flag, value) -> {
            switch (flag) {
                case "--kills" -> own.kills = Integer.parseInt(value);
                case "--writers" -> own.writers = Integer.parseInt(value);
                case "--settle" -> own.settleNs = LoadConfig.parseDurationNs("--settle", value);
                case "--down" -> own.downNs = LoadConfig.parseDurationNs("--down", value);
                default -> {
                    return -1;
                }
            }
            return 1;
        }, out, err);
        if (exit != null) {
            return exit;
        }
        final int kills = own.kills;
        final int writers = own.writers;
        final long settleNs = own.settleNs;
        final long downNs = own.downNs;
        final Path outDir = options.outDir;
        final int rounds = options.rounds;
        final Path cairnJar = options.cairnJar;
        if (!options.ready() || kills < 1 || writers < 1) {
            err.print("failover: --out is required, " + cairnJar + " must exist (./mvnw -DskipTests package),"
                + " kills and writers at least 1\n" + USAGE);
            return LoadMain.EXIT_USAGE;
        }
        Files.createDirectories(outDir);
        final Path data = BenchDirectories.fresh("failover");
        final List<Outcome> outcomes = new ArrayList<>();
        try (CompareMain.Cluster etcdCluster = CompareMain.startEtcd(options.etcdPath(),
            data, err); CompareMain.Cluster cairnCluster = CompareMain.startCairn(cairnJar, data, err)) {
            for (int round = 1; round <= rounds; round++) {
                final CompareMain.Cluster[] order = round % 2 == 1
                    ? new CompareMain.Cluster[] {etcdCluster, cairnCluster}
                    : new CompareMain.Cluster[] {cairnCluster, etcdCluster};
                for (final CompareMain.Cluster cluster : order) {
                    err.println("failover: " + cluster.system + ", round " + round + ": " + kills + " leader kills, "
                        + writers + " writers");
                    final Outcome outcome = runOne(cluster, round, kills, writers, settleNs, downNs, err);
                    Files.writeString(outDir.resolve("failover-" + cluster.system + "-r" + round + ".json"),
                        outcome.json());
                    outcomes.add(outcome);
                }
            }
        } finally {
            BenchDirectories.delete(data);
        }
        final String table = table(outcomes, kills, writers, settleNs, downNs);
        Files.writeString(outDir.resolve("failover.md"), table);
        out.print(table);
        return 0;
    }

    private static Outcome runOne(final CompareMain.Cluster cluster, final int round, final int kills,
        final int writerCount, final long settleNs, final long downNs, final PrintStream err) throws Exception {
        final List<ManagedChannel> channels = new ArrayList<>();
        for (final String endpoint : cluster.endpoints) {
            channels.add(NettyChannelBuilder.forTarget(endpoint).usePlaintext().build());
        }
        final AtomicBoolean writing = new AtomicBoolean(true);
        final AtomicLong acknowledged = new AtomicLong();
        final AtomicLong failed = new AtomicLong();
        final List<long[]> ackTimes = Collections.synchronizedList(new ArrayList<>()); // {sent, acknowledged}
        final List<Thread> threads = new ArrayList<>();
        final String prefix = "failover/" + cluster.system + "/r" + round + "/";
        for (int w = 0; w < writerCount; w++) {
            final int writer = w;
            final Thread thread = new Thread(() -> {
                int member = writer % channels.size();
                long sequence = 0;
                while (writing.get()) {
                    final long sentNs = System.nanoTime();
                    try {
                        KVGrpc.newBlockingStub(channels.get(member)).withDeadlineAfter(DEADLINE_S, TimeUnit.SECONDS)
                            .put(PutRequest.newBuilder().setKey(ByteString.copyFromUtf8(prefix + writer + "/"
                                + sequence++)).setValue(ByteString.copyFromUtf8("v")).build());
                        acknowledged.incrementAndGet();
                        ackTimes.add(new long[] {sentNs, System.nanoTime()});
                    } catch (final RuntimeException ex) {
                        failed.incrementAndGet(); // down, cut off, no leader, or timed out: try the next member
                        member = (member + 1) % channels.size();
                        sleepNs(TimeUnit.MILLISECONDS.toNanos(20));
                    }
                }
            }, "failover-writer-" + w);
            thread.setDaemon(true);
            thread.start();
            threads.add(thread);
        }
        final long startNs = System.nanoTime();
        final List<Long> killTimes = new ArrayList<>();
        final List<Long> firstAckMs = new ArrayList<>();
        try {
            for (int k = 0; k < kills; k++) {
                sleepNs(settleNs);
                final int leader = leader(channels);
                if (leader < 0) {
                    throw new IllegalStateException(cluster.system + ": no leader before kill " + (k + 1));
                }
                cluster.processes.get(leader).destroyForcibly(); // SIGKILL
                final long killNs = System.nanoTime();
                killTimes.add(killNs);
                err.println("failover: " + cluster.system + ": killed the leader, member " + (leader + 1));
                sleepNs(downNs);
                cluster.processes.get(leader).waitFor(10, TimeUnit.SECONDS);
                cluster.restart(leader);
                CompareMain.awaitPorts(cluster, err);
                firstAckMs.add(firstAckAfter(ackTimes, killNs));
            }
            sleepNs(settleNs);
        } finally {
            writing.set(false);
            for (final Thread thread : threads) {
                thread.join(TimeUnit.SECONDS.toMillis(2 * DEADLINE_S));
            }
            channels.forEach(ManagedChannel::shutdownNow);
        }
        final double seconds = (System.nanoTime() - startNs) / 1e9;
        final List<Long> gaps = new ArrayList<>();
        for (int k = 0; k < killTimes.size(); k++) {
            if (firstAckMs.get(k) < 0) {
                firstAckMs.set(k, firstAckAfter(ackTimes, killTimes.get(k)));
            }
            gaps.add(longestGapMs(ackTimes, killTimes.get(k)));
        }
        return new Outcome(cluster.system, round, acknowledged.get(), failed.get(), seconds, firstAckMs, gaps);
    }

    /** The member position that leads, as the members' Status answers say (-1 if none answers as leader). */
    private static int leader(final List<ManagedChannel> channels) {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            for (int i = 0; i < channels.size(); i++) {
                try {
                    final StatusResponse status = MaintenanceGrpc.newBlockingStub(channels.get(i))
                        .withDeadlineAfter(1, TimeUnit.SECONDS).status(StatusRequest.getDefaultInstance());
                    if (status.getLeader() != 0 && status.getLeader() == status.getHeader().getMemberId()) {
                        return i;
                    }
                } catch (final RuntimeException ex) {
                    // down or not answering: ask the next
                }
            }
            sleepNs(TimeUnit.MILLISECONDS.toNanos(100));
        }
        return -1;
    }

    // Milliseconds from the kill to the first acknowledgement of a write sent after it (writes in flight at the kill,
    // committed before it, do not count); -1 when none came yet.
    private static long firstAckAfter(final List<long[]> ackTimes, final long killNs) {
        long first = Long.MAX_VALUE;
        synchronized (ackTimes) {
            for (final long[] times : ackTimes) {
                if (times[0] > killNs) {
                    first = Math.min(first, times[1]);
                }
            }
        }
        return first == Long.MAX_VALUE ? -1 : TimeUnit.NANOSECONDS.toMillis(first - killNs);
    }

    // The longest time without an acknowledgement between the kill and 15 s after it.
    private static long longestGapMs(final List<long[]> ackTimes, final long killNs) {
        long previous = killNs;
        long longest = 0;
        synchronized (ackTimes) {
            final List<Long> sorted = new ArrayList<>();
            for (final long[] times : ackTimes) {
                sorted.add(times[1]);
            }
            Collections.sort(sorted);
            for (final long at : sorted) {
                if (at <= killNs) {
                    continue;
                }
                if (at > killNs + GAP_WINDOW_NS) {
                    break;
                }
                longest = Math.max(longest, at - previous);
                previous = at;
            }
        }
        return TimeUnit.NANOSECONDS.toMillis(Math.max(longest, 0));
    }

    private static long median(final List<Long> values) {
        final List<Long> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        return sorted.isEmpty() ? 0 : sorted.get(sorted.size() / 2);
    }

    private static String table(final List<Outcome> outcomes, final int kills, final int writers,
        final long settleNs, final long downNs) {
        final StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "Failover: %d leader SIGKILLs per system, %d writers (one blocking put"
            + " each, 5-s deadline, next member on failure), %d s of writing before each kill, the leader restarted"
            + " %d s after it.%n%n", kills, writers, TimeUnit.NANOSECONDS.toSeconds(settleNs),
            TimeUnit.NANOSECONDS.toSeconds(downNs)));
        out.append("| system | round | writes acknowledged | per s | failed or unknown | first ack of a write sent"
            + " after the kill, ms (each) | p50 | longest gap after kill ms (each) |\n"
            + "| --- | ---: | ---: | ---: | ---: | --- | ---: | --- |\n");
        for (final Outcome outcome : outcomes) {
            out.append(String.format(Locale.ROOT, "| %s | %d | %d | %.0f | %d | %s | %d | %s |%n", outcome.system(),
                outcome.round(), outcome.acknowledged(), outcome.acknowledged() / outcome.seconds(), outcome.failed(),
                outcome.firstAckMs(), median(outcome.firstAckMs()), outcome.longestGapMs()));
        }
        return out.toString();
    }

    private static void sleepNs(final long nanos) {
        try {
            TimeUnit.NANOSECONDS.sleep(nanos);
        } catch (final InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }
}
