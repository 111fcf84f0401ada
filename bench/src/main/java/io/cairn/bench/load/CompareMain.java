package io.cairn.bench.load;

import io.cairn.bench.BenchDirectories;
import io.cairn.bench.JvmFlags;
import org.HdrHistogram.Histogram;

import java.io.IOException;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * {@code java -jar bench/target/benchmarks.jar compare --out DIR [options]}: the same workloads against a
 * three-member etcd 3.4 cluster and a three-member Cairn cluster, both started here as processes on free loopback
 * ports (and stopped by PID), in alternation, with the servers' CPU seconds counted from /proc. Writes every run's
 * JSON and a {@code compare.md} table of Cairn/etcd ratios (throughput, p50, p99, server CPU per operation) into
 * DIR. Both clusters sit on the same machine at the same time; only the one under load works.
 */
public final class CompareMain {
    static final String USAGE = String.join("\n",
        "usage: java -jar bench/target/benchmarks.jar compare --out DIR [options]",
        "  --out DIR          where the JSON results and compare.md go (required)",
        "  --duration T       measured time per run (15s)",
        "  --warmup T         load before measuring, per run (5s)",
        "  --rounds N         times each workload runs against each system, alternating (1)",
        "  --cairn-jar PATH   the cairn launcher jar (server/target/cairn.jar)",
        "  --etcd PATH        etcd 3.4 (etcd on the PATH, else /usr/bin/etcd)",
        "  --workloads W,...  only these workloads (all: put-1-client, put-512-inflight, range-512-inflight,",
        "                     put-fixed-1000), in this order",
        "  --idle T           then measure each idle cluster's CPU for T, no client connected (20s; 0: skip)",
        "  --tls              both clusters serve clients over TLS with client certificates (--client-cert-auth;",
        "                     a CA, server and client certificates made with openssl)",
        "  --auth             both clusters with authentication enabled: the load runs as a user whose role may",
        "                     read and write every key (etcd's permission checks on every request; simple tokens)",
        "  --peer-tls         both clusters' members talk over TLS (https:// peer URLs, --peer-cert-file,",
        "                     --peer-client-cert-auth; Cairn seals every Raft frame)",
        "");
    /**
     * The workloads of issue 12's bar: one closed-loop client; 512 requests in flight over 16 connections spread
     * round-robin over the three members (puts, then linearizable ranges); and a fixed 1,000 puts/s.
     */
    private static final String[][] WORKLOADS = {
        {"put-1-client", "--workload", "put", "--clients", "1"},
        {"put-512-inflight", "--workload", "put", "--clients", "512", "--connections", "16"},
        {"range-512-inflight", "--workload", "range", "--clients", "512", "--connections", "16"},
        {"put-fixed-1000", "--workload", "put", "--rate", "1000", "--clients", "100"},
    };
    /** Time both clusters are left alone after the workloads before their idle CPU is measured. */
    private static final long IDLE_SETTLE_NS = TimeUnit.SECONDS.toNanos(10);

    private CompareMain() {
    }

    /** One cluster of three server processes, each restartable with the command that started it. */
    static final class Cluster implements AutoCloseable {
        final String system;
        final List<Process> processes = new ArrayList<>();
        final List<String> endpoints = new ArrayList<>();
        final List<ProcessBuilder> builders = new ArrayList<>();

        Cluster(final String system) {
            this.system = system;
        }

        void start(final ProcessBuilder builder) throws IOException {
            builders.add(builder);
            processes.add(builder.start());
        }

        /**
         * Starts member {@code i} again from its data (after a kill), appending to its log.
         */
        void restart(final int i) throws IOException {
            final ProcessBuilder builder = builders.get(i);
            final java.io.File log = builder.redirectOutput().file();
            processes.set(i, builder.redirectOutput(ProcessBuilder.Redirect.appendTo(log)).start());
        }

        long cpuTicks() throws IOException {
            long total = 0;
            for (final Process process : processes) {
                total += ProcessCpu.readTicks(process.pid());
            }
            return total;
        }

        String pids() {
            final StringBuilder pids = new StringBuilder();
            for (final Process process : processes) {
                pids.append(pids.length() == 0 ? "" : ",").append(process.pid());
            }
            return pids.toString();
        }

        @Override
        public void close() {
            for (final Process process : processes) {
                process.destroy();
            }
            for (final Process process : processes) {
                try {
                    if (!process.waitFor(20, TimeUnit.SECONDS)) {
                        process.destroyForcibly().waitFor(20, TimeUnit.SECONDS);
                    }
                } catch (final InterruptedException ex) {
                    Thread.currentThread().interrupt();
                    process.destroyForcibly();
                }
            }
        }
    }

    /**
     * @param args the arguments after {@code compare}.
     * @param out  where the table goes.
     * @param err  where progress goes.
     * @return the exit status.
     * @throws Exception if a run cannot be done.
     */
    public static int run(final String[] args, final PrintStream out, final PrintStream err) throws Exception {
        final SystemsOptions options = new SystemsOptions(1);
        final class Own {
            String duration = "15s";
            String warmup = "5s";
            List<String[]> workloads = List.of(WORKLOADS);
            long idleNs = TimeUnit.SECONDS.toNanos(20);
            boolean tls;
            boolean peerTls;
            boolean auth;
        }
        final Own own = new Own();
        final Integer exit = options.parse("compare", USAGE, args, (flag, value) -> {
            switch (flag) {
                case "--tls" -> own.tls = true;
                case "--peer-tls" -> own.peerTls = true;
                case "--auth" -> own.auth = true;
                case "--duration" -> own.duration = value;
                case "--warmup" -> own.warmup = value;
                case "--workloads" -> own.workloads = selectWorkloads(value);
                case "--idle" -> own.idleNs = LoadConfig.parseDurationNs("--idle", value);
                default -> {
                    return -1;
                }
            }
            return flag.endsWith("tls") || "--auth".equals(flag) ? 0 : 1;
        }, out, err);
        if (exit != null) {
            return exit;
        }
        final Path outDir = options.outDir;
        final String duration = own.duration;
        final String warmup = own.warmup;
        final int rounds = options.rounds;
        final Path cairnJar = options.cairnJar;
        final List<String[]> workloads = own.workloads;
        final long idleNs = own.idleNs;
        final boolean tls = own.tls;
        final boolean peerTls = own.peerTls;
        final boolean auth = own.auth;
        if (!options.ready()) {
            err.print("compare: --out is required and " + cairnJar + " must exist (./mvnw -DskipTests package)\n"
                + USAGE);
            return LoadMain.EXIT_USAGE;
        }
        Files.createDirectories(outDir);
        final Path data = BenchDirectories.fresh("compare");
        final List<String[]> rows = new ArrayList<>();
        final Security security = tls || peerTls
            ? new Security(Pki.make(data.resolve("pki")), tls, peerTls) : Security.NONE;
        final Pki pki = tls ? security.pki() : null;
        try (Cluster etcdCluster = startEtcd(options.etcdPath(), data, err, security);
            Cluster cairnCluster = startCairn(cairnJar, data, err, security)) {
            if (auth) {
                enableAuth(etcdCluster, pki, err);
                enableAuth(cairnCluster, pki, err);
            }
            for (int round = 1; round <= rounds; round++) {
                for (final String[] workload : workloads) {
                    final Cluster[] order = round % 2 == 1
                        ? new Cluster[] {etcdCluster, cairnCluster} : new Cluster[] {cairnCluster, etcdCluster};
                    final LoadResult[] results = new LoadResult[2];
                    for (final Cluster cluster : order) {
                        final List<String> loadArgs = new ArrayList<>(List.of(workload).subList(1, workload.length));
                        loadArgs.addAll(List.of("--endpoints", String.join(",", cluster.endpoints), "--pids",
                            cluster.pids(), "--duration", duration, "--warmup", warmup, "--label",
                            workload[0] + " " + cluster.system, "--json", outDir.resolve(workload[0] + "-"
                                + cluster.system + "-r" + round + ".json").toString()));
                        if (pki != null) {
                            loadArgs.addAll(pki.clientArgs());
                        }
                        if (auth) {
                            loadArgs.addAll(List.of("--user", BENCH_USER + ":" + BENCH_PASSWORD));
                        }
                        err.println("compare: " + workload[0] + " against " + cluster.system + " (round " + round
                            + ")");
                        final LoadConfig config = LoadConfig.parse(loadArgs.toArray(String[]::new));
                        final LoadResult result = new LoadGenerator(config, NanoClock.SYSTEM, err).run();
                        Files.writeString(config.jsonPath, LoadReport.json(result));
                        out.print(LoadReport.text(result));
                        results["etcd".equals(cluster.system) ? 0 : 1] = result;
                    }
                    rows.add(row(workload[0] + " (round " + round + ")", results[0], results[1],
                        Set.of(etcdCluster.pids().split(",")), Set.of(cairnCluster.pids().split(","))));
                }
            }
            if (idleNs > 0) {
                rows.add(idleRow(idleNs, etcdCluster, cairnCluster, outDir, err));
            }
        } finally {
            BenchDirectories.delete(data);
        }
        final String table = table(rows);
        Files.writeString(outDir.resolve("compare.md"), table);
        out.print(table);
        return 0;
    }

    private static final String BENCH_USER = "bench";
    private static final String BENCH_PASSWORD = "bench-password";

    /**
     * etcd's way to turn authentication on: a root user with the root role, a user for the load whose role may read
     * and write every key, then AuthEnable. Through the first member, over TLS when the clients use it.
     */
    private static void enableAuth(final Cluster cluster, final Pki pki, final PrintStream err) throws IOException {
        final io.grpc.netty.NettyChannelBuilder builder =
            io.grpc.netty.NettyChannelBuilder.forTarget(cluster.endpoints.get(0));
        final io.grpc.ManagedChannel channel;
        if (pki == null) {
            channel = builder.usePlaintext().build();
        } else {
            channel = builder.sslContext(io.grpc.netty.GrpcSslContexts.forClient().trustManager(pki.ca().toFile())
                .keyManager(pki.clientCert().toFile(), pki.clientKey().toFile()).build()).build();
        }
        try {
            final io.etcd.jetcd.api.AuthGrpc.AuthBlockingStub auth = io.etcd.jetcd.api.AuthGrpc
                .newBlockingStub(channel).withWaitForReady().withDeadlineAfter(60, TimeUnit.SECONDS);
            final com.google.protobuf.ByteString everything = com.google.protobuf.ByteString.copyFrom(new byte[] {0});
            auth.userAdd(io.etcd.jetcd.api.AuthUserAddRequest.newBuilder().setName("root").setPassword("root-pw")
                .build());
            auth.roleAdd(io.etcd.jetcd.api.AuthRoleAddRequest.newBuilder().setName("root").build());
            auth.userGrantRole(io.etcd.jetcd.api.AuthUserGrantRoleRequest.newBuilder().setUser("root").setRole("root")
                .build());
            auth.userAdd(io.etcd.jetcd.api.AuthUserAddRequest.newBuilder().setName(BENCH_USER)
                .setPassword(BENCH_PASSWORD).build());
            auth.roleAdd(io.etcd.jetcd.api.AuthRoleAddRequest.newBuilder().setName(BENCH_USER).build());
            auth.roleGrantPermission(io.etcd.jetcd.api.AuthRoleGrantPermissionRequest.newBuilder().setName(BENCH_USER)
                .setPerm(io.etcd.jetcd.api.Permission.newBuilder().setPermType(
                    io.etcd.jetcd.api.Permission.Type.READWRITE).setKey(everything).setRangeEnd(everything)).build());
            auth.userGrantRole(io.etcd.jetcd.api.AuthUserGrantRoleRequest.newBuilder().setUser(BENCH_USER)
                .setRole(BENCH_USER).build());
            auth.authEnable(io.etcd.jetcd.api.AuthEnableRequest.getDefaultInstance());
            err.println("compare: authentication enabled on " + cluster.system);
        } finally {
            channel.shutdownNow();
        }
    }

    private static List<String[]> selectWorkloads(final String names) {
        final List<String[]> selected = new ArrayList<>();
        for (final String name : names.split(",")) {
            String[] found = null;
            for (final String[] workload : WORKLOADS) {
                if (workload[0].equals(name.trim())) {
                    found = workload;
                }
            }
            if (found == null) {
                throw new IllegalArgumentException("compare: unknown workload " + name);
            }
            selected.add(found);
        }
        return selected;
    }

    /**
     * Idle CPU: both clusters up, warm (the workloads ran), no client connected, each measured in turn (the other is
     * idle too) after {@link #IDLE_SETTLE_NS}, as percent of one core for the three processes together.
     */
    private static String[] idleRow(final long idleNs, final Cluster etcd, final Cluster cairn, final Path outDir,
        final PrintStream err) throws IOException, InterruptedException {
        Thread.sleep(TimeUnit.NANOSECONDS.toMillis(IDLE_SETTLE_NS));
        final double[] percent = new double[2];
        final Cluster[] clusters = {etcd, cairn};
        final long ticksPerSecond = ProcessCpu.ticksPerSecond();
        for (int i = 0; i < 2; i++) {
            err.println("compare: idle CPU of " + clusters[i].system + " for " + idleNs / 1_000_000 + " ms");
            final long before = clusters[i].cpuTicks();
            final long startNs = System.nanoTime();
            Thread.sleep(TimeUnit.NANOSECONDS.toMillis(idleNs));
            final double seconds = (System.nanoTime() - startNs) / 1e9;
            percent[i] = 100.0 * (clusters[i].cpuTicks() - before) / ticksPerSecond / seconds;
            Files.writeString(outDir.resolve("idle-" + clusters[i].system + ".json"), String.format(Locale.ROOT,
                "{\n  \"label\": \"idle %s\",\n  \"seconds\": %.1f,\n  \"pids\": \"%s\",\n"
                    + "  \"cpuPercentOfOneCore\": %.2f\n}\n", clusters[i].system, seconds, clusters[i].pids(),
                percent[i]));
        }
        return new String[] {"idle, no clients: CPU % of one core", "—", "—", "—", "—", "—", "—", "—", "—", "—",
            format(percent[0]), format(percent[1]), ratio(percent[1], percent[0]), "0", "0"};
    }

    private static String[] row(final String name, final LoadResult etcd, final LoadResult cairn,
        final Set<String> etcdPids, final Set<String> cairnPids) {
        final double etcdCpu = cpuMicrosPerOp(etcd, etcdPids);
        final double cairnCpu = cpuMicrosPerOp(cairn, cairnPids);
        return new String[] {name,
            format(etcd.throughput()), format(cairn.throughput()), ratio(cairn.throughput(), etcd.throughput()),
            format(percentile(etcd, 50)), format(percentile(cairn, 50)),
            ratio(percentile(cairn, 50), percentile(etcd, 50)),
            format(percentile(etcd, 99)), format(percentile(cairn, 99)),
            ratio(percentile(cairn, 99), percentile(etcd, 99)),
            format(etcdCpu), format(cairnCpu), ratio(cairnCpu, etcdCpu),
            Long.toString(etcd.errors()), Long.toString(cairn.errors())};
    }

    private static String table(final List<String[]> rows) {
        final StringBuilder out = new StringBuilder();
        out.append("| workload | etcd ops/s | cairn ops/s | cairn/etcd | etcd p50 µs | cairn p50 µs | cairn/etcd")
            .append(" | etcd p99 µs | cairn p99 µs | cairn/etcd | etcd server CPU µs/op | cairn server CPU µs/op")
            .append(" | cairn/etcd | etcd errors | cairn errors |\n")
            .append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
            .append(" ---: | ---: |\n");
        for (final String[] row : rows) {
            out.append("| ").append(String.join(" | ", row)).append(" |\n");
        }
        out.append("\nLatencies are coordinated-omission corrected for fixed-rate runs (the same as uncorrected in "
            + "closed loop). Server CPU is the three server processes' user+system seconds while measuring; "
            + "the idle row gives it as percent of one core with no client connected.\n");
        return out.toString();
    }

    // The main operation's corrected latency (range for range workloads, put otherwise).
    private static double percentile(final LoadResult result, final double percentile) {
        for (final LoadResult.OpResult op : result.opResults) {
            if (op.ops() > 0) {
                final Histogram histogram = op.corrected;
                return histogram.getValueAtPercentile(percentile);
            }
        }
        return 0;
    }

    private static double cpuMicrosPerOp(final LoadResult result, final Set<String> pids) {
        double total = 0;
        for (final LoadResult.CpuUsage usage : result.cpu) {
            if (pids.contains(Long.toString(usage.pid))) {
                total += result.cpuMicrosPerOp(usage);
            }
        }
        return total;
    }

    private static String format(final double value) {
        return String.format(Locale.ROOT, value >= 100 ? "%.0f" : "%.1f", value);
    }

    private static String ratio(final double cairn, final double etcd) {
        return etcd == 0 ? "—" : String.format(Locale.ROOT, "%.2f", cairn / etcd);
    }

    static String tool(final String name) {
        for (final String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
            if (Files.isExecutable(Path.of(dir, name))) {
                return Path.of(dir, name).toString();
            }
        }
        if (Files.isExecutable(Path.of("/usr/bin", name))) {
            return "/usr/bin/" + name;
        }
        throw new IllegalStateException(name + " not found: install Debian's etcd-server (./test does)");
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    static Cluster startEtcd(final String etcd, final Path data, final PrintStream err) throws IOException {
        return startEtcd(etcd, data, err, Security.NONE);
    }

    static Cluster startCairn(final Path jar, final Path data, final PrintStream err) throws IOException {
        return startCairn(jar, data, err, Security.NONE);
    }

    /**
     * A CA, a server certificate for 127.0.0.1 and a client certificate (CN root) it signed, made with openssl as an
     * operator would (EC P-256 keys, PKCS#8), for {@code --tls}.
     */
    record Pki(Path ca, Path serverCert, Path serverKey, Path clientCert, Path clientKey) {
        static Pki make(final Path dir) throws IOException, InterruptedException {
            Files.createDirectories(dir);
            final Pki pki = new Pki(dir.resolve("ca.pem"), dir.resolve("server.pem"), dir.resolve("server-key.pem"),
                dir.resolve("client.pem"), dir.resolve("client-key.pem"));
            openssl(dir, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "2", "-subj", "/CN=bench CA");
            Files.writeString(dir.resolve("server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                + "extendedKeyUsage=serverAuth,clientAuth\n");
            Files.writeString(dir.resolve("client.ext"), "extendedKeyUsage=clientAuth\n");
            for (final String who : new String[] {"server", "client"}) {
                openssl(dir, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                    who + "-key.pem", "-out", who + ".csr", "-subj", "/CN=" + ("server".equals(who) ? who : "root"));
                openssl(dir, "x509", "-req", "-in", who + ".csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem",
                    "-CAcreateserial", "-out", who + ".pem", "-days", "2", "-extfile", who + ".ext");
            }
            return pki;
        }

        private static void openssl(final Path dir, final String... args) throws IOException, InterruptedException {
            final List<String> command = new ArrayList<>(List.of("openssl"));
            command.addAll(List.of(args));
            final Process process = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                .start();
            final String out = new String(process.getInputStream().readAllBytes());
            if (process.waitFor() != 0) {
                throw new IOException("openssl " + String.join(" ", args) + " failed: " + out);
            }
        }

        /** A server's flags, etcd's names (Cairn's are the same). */
        List<String> serverFlags() {
            return List.of("--cert-file", serverCert.toString(), "--key-file", serverKey.toString(),
                "--trusted-ca-file", ca.toString(), "--client-cert-auth");
        }

        /** The load generator's. */
        List<String> clientArgs() {
            return List.of("--cacert", ca.toString(), "--cert", clientCert.toString(), "--key", clientKey.toString());
        }
    }

    /**
     * What a cluster secures.
     *
     * @param pki     the certificates (null when nothing is secured).
     * @param clients TLS with client certificates on the client port.
     * @param peers   TLS between members (https:// peer URLs, the server certificate as the peer certificate).
     */
    record Security(Pki pki, boolean clients, boolean peers) {
        static final Security NONE = new Security(null, false, false);

        String clientScheme() {
            return clients ? "https" : "http";
        }

        String peerScheme() {
            return peers ? "https" : "http";
        }

        /** The server's flags for what is secured, etcd's names (Cairn's are the same). */
        List<String> serverFlags() {
            final List<String> flags = new ArrayList<>();
            if (clients) {
                flags.addAll(pki.serverFlags());
            }
            if (peers) {
                flags.addAll(List.of("--peer-cert-file", pki.serverCert().toString(), "--peer-key-file",
                    pki.serverKey().toString(), "--peer-trusted-ca-file", pki.ca().toString(),
                    "--peer-client-cert-auth"));
            }
            return flags;
        }
    }

    static Cluster startEtcd(final String etcd, final Path data, final PrintStream err, final Security security)
        throws IOException {
        final Cluster cluster = new Cluster("etcd");
        final int[] client = new int[3];
        final int[] peer = new int[3];
        final StringBuilder initial = new StringBuilder();
        for (int i = 0; i < 3; i++) {
            client[i] = freePort();
            peer[i] = freePort();
            initial.append(i == 0 ? "" : ",").append("e").append(i + 1).append('=').append(security.peerScheme())
                .append("://127.0.0.1:").append(peer[i]);
        }
        for (int i = 0; i < 3; i++) {
            final String clientUrl = security.clientScheme() + "://127.0.0.1:" + client[i];
            final String peerUrl = security.peerScheme() + "://127.0.0.1:" + peer[i];
            final List<String> command = new ArrayList<>(List.of(etcd, "--name", "e" + (i + 1), "--data-dir",
                data.resolve("etcd-" + (i + 1)).toString(), "--listen-client-urls", clientUrl,
                "--advertise-client-urls", clientUrl, "--listen-peer-urls", peerUrl, "--initial-advertise-peer-urls",
                peerUrl, "--initial-cluster", initial.toString(), "--initial-cluster-state", "new"));
            command.addAll(security.serverFlags());
            cluster.start(new ProcessBuilder(command)
                .redirectErrorStream(true).redirectOutput(data.resolve("etcd-" + (i + 1) + ".log").toFile()));
            cluster.endpoints.add("127.0.0.1:" + client[i]);
        }
        awaitPorts(cluster, err);
        return cluster;
    }

    static Cluster startCairn(final Path jar, final Path data, final PrintStream err, final Security security)
        throws IOException {
        final Cluster cluster = new Cluster("cairn");
        final String scheme = security.clientScheme();
        final int[] client = new int[3];
        final int[] peer = new int[3];
        final StringBuilder initial = new StringBuilder();
        final StringBuilder clients = new StringBuilder();
        for (int i = 0; i < 3; i++) {
            client[i] = freePort();
            peer[i] = freePort();
            initial.append(i == 0 ? "" : ",").append("c").append(i + 1).append('=').append(security.peerScheme())
                .append("://127.0.0.1:").append(peer[i]);
            clients.append(i == 0 ? "" : ",").append("c").append(i + 1).append("=").append(scheme)
                .append("://127.0.0.1:").append(client[i]);
        }
        for (int i = 0; i < 3; i++) {
            final List<String> command = new ArrayList<>();
            command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            command.addAll(JvmFlags.load());
            for (final String option : System.getenv().getOrDefault("CAIRN_JAVA_OPTS", "").trim().split("\\s+")) {
                if (!option.isEmpty()) {
                    command.add(option); // the same extra options ./cairn takes
                }
            }
            command.addAll(List.of("-jar", jar.toString(), "member", "--name", "c" + (i + 1), "--data-dir",
                data.resolve("cairn-" + (i + 1)).toString(), "--listen-client-urls",
                scheme + "://127.0.0.1:" + client[i], "--listen-peer-urls",
                security.peerScheme() + "://127.0.0.1:" + peer[i],
                "--listen-http-urls", scheme + "://127.0.0.1:" + freePort(), "--initial-cluster", initial.toString(),
                "--initial-cluster-clients", clients.toString()));
            command.addAll(security.serverFlags());
            cluster.start(new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(data.resolve("cairn-" + (i + 1) + ".log").toFile()));
            cluster.endpoints.add("127.0.0.1:" + client[i]);
        }
        awaitPorts(cluster, err);
        return cluster;
    }

    static void awaitPorts(final Cluster cluster, final PrintStream err) {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        for (final String endpoint : cluster.endpoints) {
            final int port = Integer.parseInt(endpoint.substring(endpoint.lastIndexOf(':') + 1));
            while (true) {
                try (Socket socket = new Socket("127.0.0.1", port)) {
                    break;
                } catch (final IOException ex) {
                    if (System.nanoTime() > deadline) {
                        throw new IllegalStateException(cluster.system + " at " + endpoint + " did not start");
                    }
                    try {
                        Thread.sleep(50);
                    } catch (final InterruptedException interrupted) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                }
            }
        }
        err.println("compare: " + cluster.system + " up at " + cluster.endpoints + " (pids " + cluster.pids() + ")");
    }
}
