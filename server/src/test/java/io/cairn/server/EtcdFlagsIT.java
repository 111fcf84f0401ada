package io.cairn.server;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: an etcd deployment's settings start a Cairn member unchanged, whether they come as a command line (a systemd
 * unit's), as {@code ETCD_*} variables (what {@code etcdctl member add} prints) or as etcd's YAML
 * {@code --config-file}, and they do what they say: auto compaction really compacts, the quota really bites, flags
 * with no meaning for Cairn are accepted with a warning. Method: the same settings three ways, one single-member
 * {@code cairn member} process each, driven with etcdctl; every process stopped by PID.
 */
@Timeout(240)
class EtcdFlagsIT {
    @TempDir
    Path dir;

    private final List<Process> processes = new ArrayList<>();

    @AfterEach
    void stop() throws InterruptedException {
        for (final Process process : processes) {
            process.destroy();
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(20, TimeUnit.SECONDS);
            }
        }
    }

    /** A systemd unit's settings, as flag name to value: tuned timings, compaction, a small quota, etcd's habits. */
    private Map<String, String> settings(final String name, final int client, final int peer) {
        final Map<String, String> settings = new LinkedHashMap<>();
        settings.put("name", name);
        settings.put("data-dir", dir.resolve(name).toString());
        // Two listen URLs (both on loopback: 127.0.0.2 is loopback too), one advertised.
        settings.put("listen-client-urls", "http://127.0.0.1:" + client + ",http://127.0.0.2:" + client);
        settings.put("advertise-client-urls", "http://127.0.0.1:" + client);
        settings.put("listen-peer-urls", "http://127.0.0.1:" + peer);
        settings.put("initial-advertise-peer-urls", "http://127.0.0.1:" + peer);
        settings.put("initial-cluster", name + "=http://127.0.0.1:" + peer);
        settings.put("initial-cluster-state", "new");
        settings.put("initial-cluster-token", "etcd-cluster-1");
        settings.put("heartbeat-interval", "50");
        settings.put("election-timeout", "500");
        settings.put("snapshot-count", "10000");
        settings.put("auto-compaction-mode", "periodic");
        settings.put("auto-compaction-retention", "2s");
        settings.put("quota-backend-bytes", Long.toString(1L << 20));
        settings.put("max-wals", "3");
        settings.put("strict-reconfig-check", "true");
        settings.put("enable-v2", "false");
        settings.put("metrics", "extensive");
        settings.put("logger", "zap");
        settings.put("log-outputs", "stderr");
        return settings;
    }

    private Process start(final String name, final List<String> args, final Map<String, String> env)
        throws IOException {
        final List<String> command = new ArrayList<>(CairnChild.command(List.of("-Xmx256m"),
            List.of("member")));
        command.addAll(args);
        final ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
            .redirectOutput(dir.resolve(name + ".log").toFile());
        builder.environment().putAll(env);
        final Process process = builder.start();
        processes.add(process);
        return process;
    }

    private static String etcdctl(final int client, final String... args) throws Exception {
        final List<String> command = new ArrayList<>(List.of(ProcessCluster.tool("etcdctl"), "--endpoints",
            "127.0.0.1:" + client, "--command-timeout", "10s"));
        command.addAll(List.of(args));
        final ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().put("ETCDCTL_API", "3");
        final Process process = builder.start();
        final String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(30, TimeUnit.SECONDS), "etcdctl " + String.join(" ", args));
        return out.trim();
    }

    /** Compaction within seconds, the quota raising NOSPACE, a warning for the ignored flag. */
    private void checkBehaviour(final String name, final int client) throws Exception {
        final Path log = dir.resolve(name + ".log");
        Await.until(name + " to serve", 60, () -> etcdctl(client, "put", "k", "v0").equals("OK"));
        for (int i = 1; i <= 40; i++) {
            assertEquals("OK", etcdctl(client, "put", "k", "v" + i));
            Thread.sleep(100);
        }
        // Periodic retention 2s: the leader compacts at the revision it noted two seconds before.
        Await.until(name + " to compact on its own", 30, () -> etcdctl(client, "get", "k", "--rev=2")
            .contains("required revision has been compacted"));
        assertTrue(Files.readString(log).contains("Finished auto-compaction at revision"), Files.readString(log));
        assertTrue(Files.readString(log).contains("--max-wals=3 is accepted and ignored"), Files.readString(log));
        // A 1 MiB quota: 100-KiB values fill it, then NOSPACE refuses writes (reads go on).
        final String big = "x".repeat(100 << 10);
        String answer = "";
        // 4 MiB written, then more until the once-a-second check has raised the alarm (bounded: 60 puts).
        for (int i = 0; i < 100 && !answer.contains("database space exceeded"); i++) {
            answer = etcdctl(client, "put", "big-" + i, big);
            if (i >= 40) {
                Thread.sleep(250);
            }
        }
        assertTrue(answer.contains("etcdserver: mvcc: database space exceeded"), answer + "; the member's log: "
            + Files.readString(log));
        assertTrue(etcdctl(client, "alarm", "list").contains("alarm:NOSPACE"));
        // etcd 3.4.23's /health under an alarm, and kubeadm's probe that excludes NOSPACE.
        final java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
        final java.net.http.HttpResponse<String> unhealthy = http.send(java.net.http.HttpRequest.newBuilder(
            java.net.URI.create("http://127.0.0.1:" + client + "/health")).build(),
            java.net.http.HttpResponse.BodyHandlers.ofString());
        assertEquals(503, unhealthy.statusCode());
        assertEquals("{\"health\":\"false\"}\n", unhealthy.body());
        assertEquals(200, http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:"
            + client + "/health?exclude=NOSPACE")).build(), java.net.http.HttpResponse.BodyHandlers.ofString())
            .statusCode());
        assertEquals("k\nv40", etcdctl(client, "get", "k"));
        final Process second = new ProcessBuilder(ProcessCluster.tool("etcdctl"), "--endpoints", "127.0.0.2:" + client,
            "get", "k").redirectErrorStream(true).start();
        assertEquals("k\nv40", new String(second.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim(),
            "the second listen URL serves too");
    }

    @Test
    void shouldRunFromASystemdUnitsFlags() throws Exception {
        final int client = ProcessCluster.freeTcpPort();
        final Map<String, String> settings = settings("flags", client, ProcessCluster.freeUdpPort());
        final List<String> args = new ArrayList<>();
        settings.forEach((flag, value) -> args.add("--" + flag + "=" + value));
        start("flags", args, Map.of());
        checkBehaviour("flags", client);
    }

    @Test
    void shouldRunFromEtcdsEnvironmentVariables() throws Exception {
        final int client = ProcessCluster.freeTcpPort();
        final Map<String, String> env = new LinkedHashMap<>();
        settings("env", client, ProcessCluster.freeUdpPort()).forEach((flag, value) ->
            env.put("ETCD_" + flag.toUpperCase(java.util.Locale.ROOT).replace('-', '_'), value));
        start("env", List.of(), env);
        checkBehaviour("env", client);
    }

    @Test
    void shouldRunFromEtcdsConfigFile() throws Exception {
        final int client = ProcessCluster.freeTcpPort();
        final StringBuilder yaml = new StringBuilder();
        settings("file", client, ProcessCluster.freeUdpPort()).forEach((flag, value) -> yaml.append(flag)
            .append(": ").append(flag.endsWith("-urls") || flag.equals("log-outputs") ? "['" + value + "']"
                : "'" + value + "'").append('\n'));
        final Path file = dir.resolve("etcd.conf.yml");
        Files.writeString(file, yaml.toString());
        start("file", List.of("--config-file", file.toString()), Map.of("ETCD_NAME", "ignored"));
        checkBehaviour("file", client);
    }

    @Test
    void shouldRunKubeadmsStaticPodCommandLine() throws Exception {
        // kubeadm's etcd.yaml command, file names and all (its PKI made here; the node's IP is 127.0.0.1).
        final Path pki = Files.createDirectories(dir.resolve("pki"));
        final io.cairn.server.tls.Certificates.Issued ca = io.cairn.server.tls.Certificates.issue("etcd-ca",
            List.of(), true, null, java.time.Duration.ofDays(2));
        io.cairn.server.tls.Certificates.writePem(pki.resolve("ca.crt"), List.of(ca.certificate()), false);
        for (final String name : new String[] {"server", "peer", "healthcheck-client"}) {
            io.cairn.server.tls.Certificates.issue(name, List.of("127.0.0.1", "localhost"), false, ca,
                java.time.Duration.ofDays(2)).write(pki.resolve(name + ".crt"), pki.resolve(name + ".key"));
        }
        final int client = ProcessCluster.freeTcpPort();
        final int peer = ProcessCluster.freeUdpPort();
        final int metrics = ProcessCluster.freeTcpPort();
        final String ip = "127.0.0.1";
        start("kubeadm", List.of("--advertise-client-urls=https://" + ip + ":" + client,
            "--cert-file=" + pki.resolve("server.crt"), "--client-cert-auth=true",
            "--data-dir=" + dir.resolve("etcd"), "--experimental-initial-corrupt-check=true",
            "--experimental-watch-progress-notify-interval=5s",
            "--initial-advertise-peer-urls=https://" + ip + ":" + peer,
            "--initial-cluster=node1=https://" + ip + ":" + peer, "--key-file=" + pki.resolve("server.key"),
            "--listen-client-urls=https://" + ip + ":" + client,
            "--listen-metrics-urls=http://127.0.0.1:" + metrics, "--listen-peer-urls=https://" + ip + ":" + peer,
            "--name=node1", "--peer-cert-file=" + pki.resolve("peer.crt"), "--peer-client-cert-auth=true",
            "--peer-key-file=" + pki.resolve("peer.key"), "--peer-trusted-ca-file=" + pki.resolve("ca.crt"),
            "--snapshot-count=10000", "--trusted-ca-file=" + pki.resolve("ca.crt")), Map.of());
        // The pod's probes: GET /health (newer kubeadm asks ?exclude=NOSPACE&serializable=true) on the metrics URL.
        final java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
        Await.until("the liveness probe", 60, () -> {
            try {
                return http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + metrics
                    + "/health?exclude=NOSPACE&serializable=true")).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString()).body().equals("{\"health\":\"true\"}");
            } catch (final IOException ex) {
                return false;
            }
        });
        // The API server's client: etcdctl with the healthcheck client's certificate, as kubeadm's own checks.
        final List<String> tls = List.of("--cacert", pki.resolve("ca.crt").toString(), "--cert",
            pki.resolve("healthcheck-client.crt").toString(), "--key",
            pki.resolve("healthcheck-client.key").toString());
        final List<String> put = new ArrayList<>(List.of(ProcessCluster.tool("etcdctl"), "--endpoints",
            "https://" + ip + ":" + client));
        put.addAll(tls);
        put.addAll(List.of("put", "/registry/namespaces/default", "ns"));
        final ProcessBuilder builder = new ProcessBuilder(put).redirectErrorStream(true);
        builder.environment().put("ETCDCTL_API", "3");
        final Process process = builder.start();
        assertEquals("OK", new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim());
        assertTrue(Files.readString(dir.resolve("kubeadm.log")).contains("--experimental-initial-corrupt-check=true"
            + " is accepted and ignored"));
    }

    /** Kills the leader of a started three-member cluster; returns ms until another member leads. */
    private static long failoverMs(final ProcessCluster cluster) throws Exception {
        final int[] leader = {-1};
        Await.until("a leader", 60, () -> (leader[0] = cluster.leader()) >= 0);
        Thread.sleep(1_000); // settled: every follower has heard the leader's heartbeats
        final long killedNs = System.nanoTime();
        cluster.kill(leader[0]);
        Await.until("a new leader", 60, () -> {
            final int now = cluster.leader();
            return now >= 0 && now != leader[0];
        });
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedNs);
    }

    @Test
    void shouldElectFasterWithAShorterElectionTimeout() throws Exception {
        // etcd's defaults (heartbeat 100 ms, election 1000 ms) against 20 ms and 200 ms: a follower may not
        // campaign before its election timeout, counted in 100-ms ticks from the last heartbeat it heard — up to a
        // heartbeat before the kill, and the first tick comes up to a tick early — so the default cluster takes at
        // least 800 ms to replace its leader (937 ms in one CI run, which a 1,000-ms bound failed), and the tuned one
        // a fraction of it.
        final long defaultMs;
        try (ProcessCluster defaults = ProcessCluster.startCairn(dir.resolve("defaults"), "EtcdFlagsIT-defaults", 3)) {
            defaultMs = failoverMs(defaults);
        }
        final long tunedMs;
        try (ProcessCluster tuned = ProcessCluster.prepareCairn(dir.resolve("tuned"), "EtcdFlagsIT-tuned", 3)
            .withFlags("--heartbeat-interval", "20", "--election-timeout", "200")) {
            tuned.startAll();
            tunedMs = failoverMs(tuned);
        }
        System.out.println("EtcdFlagsIT: a new leader " + defaultMs + " ms after the leader's death with etcd's"
            + " timings, " + tunedMs + " ms with --heartbeat-interval 20 --election-timeout 200");
        assertTrue(defaultMs >= 800, "the default election timeout is 1 s: " + defaultMs + " ms");
        assertTrue(tunedMs < defaultMs, "tuned " + tunedMs + " ms against " + defaultMs + " ms");
    }

    @Test
    void shouldNumberMembersAndTheClusterAsEtcdDoes() throws Exception {
        // The same flags to etcd 3.4 and then to Cairn, on the same ports: the same member and cluster IDs, the same
        // `member list` line, and `member list -w json` of the same shape.
        final int client = ProcessCluster.freeTcpPort();
        final int peer = ProcessCluster.freeTcpPort();
        final List<String> flags = List.of("--name", "infra0", "--initial-cluster-token", "ids-" + client,
            "--initial-cluster", "infra0=http://127.0.0.1:" + peer,
            "--listen-peer-urls", "http://127.0.0.1:" + peer, "--initial-advertise-peer-urls",
            "http://127.0.0.1:" + peer, "--listen-client-urls", "http://127.0.0.1:" + client,
            "--advertise-client-urls", "http://127.0.0.1:" + client);
        final List<String> etcdCommand = new ArrayList<>(List.of(ProcessCluster.tool("etcd"), "--data-dir",
            dir.resolve("etcd-ids").toString()));
        etcdCommand.addAll(flags);
        final Process etcd = new ProcessBuilder(etcdCommand).redirectErrorStream(true)
            .redirectOutput(dir.resolve("etcd-ids.log").toFile()).start();
        processes.add(etcd);
        Await.until("etcd to serve", 60, () -> etcdctl(client, "put", "k", "v").equals("OK"));
        final String etcdList = etcdctl(client, "member", "list");
        final String etcdJson = etcdctl(client, "member", "list", "-w", "json");
        etcd.destroy();
        assertTrue(etcd.waitFor(30, TimeUnit.SECONDS), "etcd stops");

        final List<String> cairnFlags = new ArrayList<>(flags);
        cairnFlags.addAll(List.of("--data-dir", dir.resolve("cairn-ids").toString()));
        start("cairn-ids", cairnFlags, Map.of());
        Await.until("Cairn to serve", 60, () -> etcdctl(client, "put", "k", "v").equals("OK"));
        final String cairnList = etcdctl(client, "member", "list");
        final String cairnJson = etcdctl(client, "member", "list", "-w", "json");
        System.out.println("EtcdFlagsIT: etcd's member list -w json: " + etcdJson);
        System.out.println("EtcdFlagsIT: Cairn's member list -w json: " + cairnJson);

        assertEquals(etcdList, cairnList, "etcdctl member list");
        final java.util.regex.Pattern id = java.util.regex.Pattern.compile("\"(ID|cluster_id|member_id)\":(\\d+)");
        assertEquals(fields(id, etcdJson), fields(id, cairnJson), "member and cluster IDs");
        final java.util.regex.Pattern key = java.util.regex.Pattern.compile("\"(\\w+)\":");
        final java.util.Set<String> etcdKeys = new java.util.TreeSet<>(fields(key, etcdJson).stream()
            .map(field -> field.substring(0, field.indexOf('='))).toList());
        final java.util.Set<String> cairnKeys = new java.util.TreeSet<>(fields(key, cairnJson).stream()
            .map(field -> field.substring(0, field.indexOf('='))).toList());
        assertEquals(etcdKeys, cairnKeys, "the JSON's fields");
    }

    @Test
    void shouldCarryRequestsUpToMaxRequestBytesBetweenMembers() throws Exception {
        // --max-request-bytes above etcd's default: a 2.5 MiB value is refused by default and taken at 3 MiB, reaches
        // every member (a follower's serializable read), survives a follower's restart (its WAL replays the entry),
        // and a request over the limit gets etcd's error.
        final int size = (5 << 20) / 2;
        final com.google.protobuf.ByteString big = com.google.protobuf.ByteString.copyFrom(new byte[size]);
        try (ProcessCluster defaults = ProcessCluster.startCairn(dir.resolve("small"), "EtcdFlagsIT-small", 1)) {
            final io.grpc.StatusRuntimeException refused = org.junit.jupiter.api.Assertions.assertThrows(
                io.grpc.StatusRuntimeException.class, () -> kv(defaults, 0).put(
                    io.etcd.jetcd.api.PutRequest.newBuilder().setKey(utf8("big")).setValue(big).build()));
            assertTrue(refused.getMessage().contains("etcdserver: request is too large")
                || refused.getStatus().getCode() == io.grpc.Status.Code.RESOURCE_EXHAUSTED, refused.getMessage());
        }
        try (ProcessCluster cluster = ProcessCluster.prepareCairn(dir.resolve("large"), "EtcdFlagsIT-large", 3)
            .withFlags("--max-request-bytes", Integer.toString(3 << 20))) {
            cluster.startAll();
            Await.until("a leader", 60, () -> cluster.leader() >= 0);
            kv(cluster, cluster.leader()).put(io.etcd.jetcd.api.PutRequest.newBuilder().setKey(utf8("big"))
                .setValue(big).build());
            for (int i = 0; i < 3; i++) {
                final int member = i;
                Await.until("member " + i + " to hold the 2.5 MiB value", 30, () -> kv(cluster, member)
                    .range(io.etcd.jetcd.api.RangeRequest.newBuilder().setKey(utf8("big")).setSerializable(true)
                        .build()).getKvsList().stream().anyMatch(kv -> kv.getValue().size() == size));
            }
            final int follower = (cluster.leader() + 1) % 3;
            cluster.kill(follower);
            kv(cluster, cluster.leader()).put(io.etcd.jetcd.api.PutRequest.newBuilder().setKey(utf8("big2"))
                .setValue(big).build());
            cluster.start(follower);
            cluster.awaitPorts();
            Await.until("the restarted follower to hold both values", 60, () -> kv(cluster, follower)
                .range(io.etcd.jetcd.api.RangeRequest.newBuilder().setKey(utf8("big")).setRangeEnd(utf8("big3"))
                    .setSerializable(true).build()).getKvsList().stream()
                .filter(kv -> kv.getValue().size() == size).count() == 2);
            final io.grpc.StatusRuntimeException tooLarge = org.junit.jupiter.api.Assertions.assertThrows(
                io.grpc.StatusRuntimeException.class, () -> kv(cluster, 0).put(io.etcd.jetcd.api.PutRequest
                    .newBuilder().setKey(utf8("huge")).setValue(com.google.protobuf.ByteString.copyFrom(
                        new byte[(3 << 20) + 1])).build()));
            assertTrue(tooLarge.getMessage().contains("etcdserver: request is too large")
                || tooLarge.getStatus().getCode() == io.grpc.Status.Code.RESOURCE_EXHAUSTED, tooLarge.getMessage());
        }
    }

    private static io.etcd.jetcd.api.KVGrpc.KVBlockingStub kv(final ProcessCluster cluster, final int member) {
        return io.etcd.jetcd.api.KVGrpc.newBlockingStub(cluster.channel(member)).withDeadlineAfter(20,
            TimeUnit.SECONDS);
    }

    private static com.google.protobuf.ByteString utf8(final String text) {
        return com.google.protobuf.ByteString.copyFromUtf8(text);
    }

    /** Each match of {@code pattern} as "group1=group2" (group2 empty when the pattern has one group). */
    private static List<String> fields(final java.util.regex.Pattern pattern, final String text) {
        final List<String> found = new ArrayList<>();
        final java.util.regex.Matcher matcher = pattern.matcher(text);
        while (matcher.find()) {
            found.add(matcher.group(1) + "=" + (matcher.groupCount() > 1 ? matcher.group(2) : ""));
        }
        return found;
    }
}
