package io.cairn.server;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: etcd's HTTP JSON gateway paths answer as etcd's do (proto3 JSON with original field names, base64 bytes,
 * 64-bit integers as strings, etcd's errors), and /health and /metrics work, on every member of a three-process
 * cluster: KV, leases, status and members; locks, elections, hash, defragment, member add and remove; the /v3beta/
 * alias; an unknown path is 404. Method: the JDK's HTTP client, as curl would.
 */
@Timeout(180)
class HttpGatewayIT {
    @TempDir
    static Path dir;

    private static ProcessCluster cairn;
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private static ProcessCluster etcd;

    @BeforeAll
    static void start() throws IOException {
        cairn = ProcessCluster.startCairn(dir.resolve("cairn"), "HttpGatewayIT", 3);
        etcd = ProcessCluster.startEtcd(dir.resolve("etcd"), "HttpGatewayIT-etcd");
    }

    @AfterAll
    static void stop() {
        if (cairn != null) {
            cairn.close();
        }
        if (etcd != null) {
            etcd.close();
        }
    }

    /** curl, as a user would type it: the status code on the last line. */
    private static String curl(final String url, final String body) throws Exception {
        final java.util.List<String> command = new java.util.ArrayList<>(java.util.List.of("curl", "-sS",
            "--max-time", "20", "-w", "\n%{http_code}", url));
        if (body != null) {
            command.addAll(java.util.List.of("-X", "POST", "-d", body));
        }
        final Process curl = new ProcessBuilder(command).redirectErrorStream(true).start();
        final String out = new String(curl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(curl.waitFor(30, TimeUnit.SECONDS), "curl " + url);
        return out;
    }

    /** What differs between two clusters for the same history: IDs, revisions, terms, versions of the header. */
    private static String normalized(final String answer) {
        return answer.replaceAll("\"(cluster_id|member_id|ID|raft_term)\":\"\\d+\"", "\"$1\":\"N\"")
            .replaceAll("\"(revision|create_revision|mod_revision)\":\"\\d+\"", "\"$1\":\"R\"")
            .replaceAll("\"(TTL)\":\"(29|30)\"", "\"$1\":\"30\"");
    }

    @Test
    void shouldAnswerCurlOnTheClientPortAsEtcdDoes() throws Exception {
        // The same requests, in the same order, to etcd 3.4 and to Cairn, on each one's client port: the same
        // status codes and bodies, once IDs, revisions and terms are set aside.
        final String key = b64("curl-" + System.nanoTime());
        final String[][] requests = {
            {"/v3/kv/put", "{\"key\":\"" + key + "\",\"value\":\"" + b64("v1") + "\"}"},
            {"/v3/kv/range", "{\"key\":\"" + key + "\"}"},
            {"/v3/kv/range", "{\"key\":\"" + b64("absent-key") + "\"}"},
            {"/v3/kv/txn", "{\"compare\":[{\"key\":\"" + key + "\",\"target\":\"VALUE\",\"value\":\""
                + b64("v1") + "\"}],\"success\":[{\"request_range\":{\"key\":\"" + key + "\"}}]}"},
            {"/v3/kv/deleterange", "{\"key\":\"" + key + "\",\"prev_kv\":true}"},
            {"/v3/kv/put", "{\"value\":\"" + b64("x") + "\"}"},
            {"/v3/kv/range", "{\"key\":\"" + key + "\",\"revision\":\"100000\"}"},
            {"/v3/lease/revoke", "{\"ID\":\"99\"}"},
            {"/v3/kv/range", "{\"key\": not json"},
            {"/v3/nothing/here", "{}"},
            {"/v3/kv/range", null},
            {"/health", null},
            {"/health", "{}"},
            {"/version", null},
        };
        for (final String[] request : requests) {
            final String fromEtcd = curl(etcd.httpUrl(0) + request[0], request[1]);
            final String fromCairn = curl(cairn.httpUrl(0) + request[0], request[1]);
            if (request[1] != null && request[1].contains("not json")) {
                // The parser's own words differ (Go's encoding/json, protobuf's JsonFormat): code and status agree.
                assertTrue(fromEtcd.contains("\"code\":3}") && fromEtcd.endsWith("\n400"), fromEtcd);
                assertTrue(fromCairn.contains("\"code\":3}") && fromCairn.endsWith("\n400"), fromCairn);
                continue;
            }
            assertEquals(normalized(fromEtcd), normalized(fromCairn), request[0] + " " + request[1]);
        }
        // gRPC on the same port, the same key space.
        final Process put = new ProcessBuilder("etcdctl", "--endpoints", cairn.endpoint(0), "put", "both", "ways")
            .redirectErrorStream(true).start();
        assertEquals("OK", new String(put.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim());
        assertTrue(curl(cairn.httpUrl(1) + "/v3/kv/range", "{\"key\":\"" + b64("both") + "\"}")
            .contains("\"value\":\"" + b64("ways") + "\""));
        // The leader times its heartbeats' round trips to each follower (etcd's peer RTT histogram, by peer).
        final String leaderMetrics = curl(cairn.metricsUrl(cairn.leader()) + "/metrics", null);
        assertTrue(leaderMetrics.contains("etcd_network_peer_round_trip_time_seconds_bucket{To=\""), leaderMetrics);
        // --listen-metrics-urls: /metrics and /health, nothing else.
        assertTrue(curl(cairn.metricsUrl(2) + "/metrics", null).contains("\netcd_server_has_leader 1"));
        assertTrue(curl(cairn.metricsUrl(2) + "/health", null).startsWith("{\"health\":\"true\"}"));
        assertTrue(curl(cairn.metricsUrl(2) + "/v3/kv/range", "{}").endsWith("\n404"));
    }

    @Test
    void shouldStreamKeepAliveObserveAndSnapshotAndListLeases() throws Exception {
        final String lease = post(0, "/v3/lease/grant", "{\"TTL\":\"30\"}").body()
            .replaceAll(".*\"ID\":\"(\\d+)\".*", "$1");
        // A keep-alive: one request in the body, one answer, the stream ends (as etcd's gateway).
        final String renewed = curl(cairn.httpUrl(1) + "/v3/lease/keepalive", "{\"ID\":\"" + lease + "\"}");
        assertTrue(renewed.startsWith("{\"result\":{\"header\":") && renewed.contains("\"ID\":\"" + lease + "\"")
            && renewed.contains("\"TTL\":\"30\"") && renewed.endsWith("\n200"), renewed);
        final String leases = curl(cairn.httpUrl(2) + "/v3/lease/leases", "{}");
        assertTrue(leases.contains("{\"ID\":\"" + lease + "\"}") && leases.startsWith("{\"header\":{"), leases);
        // Observe streams the election's leader, then each proclamation.
        final String election = b64("observed");
        final HttpResponse<String> campaign = post(0, "/v3/election/campaign", "{\"name\":\"" + election
            + "\",\"lease\":\"" + lease + "\",\"value\":\"" + b64("first") + "\"}");
        final String leaderKey = campaign.body().replaceAll(".*(\"leader\":\\{[^}]*\\}).*", "$1");
        final HttpResponse<InputStream> observe = HTTP.send(HttpRequest.newBuilder(URI.create(cairn.httpUrl(2)
            + "/v3/election/observe")).POST(HttpRequest.BodyPublishers.ofString("{\"name\":\"" + election
            + "\"}")).build(), HttpResponse.BodyHandlers.ofInputStream());
        try (BufferedReader lines = new BufferedReader(new InputStreamReader(observe.body(),
            StandardCharsets.UTF_8))) {
            assertTrue(lines.readLine().contains("\"value\":\"" + b64("first") + "\""));
            assertEquals(200, post(1, "/v3/election/proclaim", "{" + leaderKey + ",\"value\":\"" + b64("second")
                + "\"}").statusCode());
            final String next = lines.readLine();
            assertTrue(next.contains("\"value\":\"" + b64("second") + "\""), next);
        }
        // The snapshot streams the keyspace in blobs.
        final HttpResponse<InputStream> snapshot = HTTP.send(HttpRequest.newBuilder(URI.create(cairn.httpUrl(0)
            + "/v3/maintenance/snapshot")).POST(HttpRequest.BodyPublishers.ofString("{}")).build(),
            HttpResponse.BodyHandlers.ofInputStream());
        try (BufferedReader lines = new BufferedReader(new InputStreamReader(snapshot.body(),
            StandardCharsets.UTF_8))) {
            final String first = lines.readLine();
            assertTrue(first.startsWith("{\"result\":{") && first.contains("\"blob\":\""), first);
        }
    }

    @Test
    void shouldKeepAnsweringWithManyWatchesOpen() throws Exception {
        // The gateway had four threads, and each open watch held one: a fifth client waited. Now no thread waits.
        final int watchers = 12;
        final java.util.List<BufferedReader> streams = new java.util.ArrayList<>();
        try {
            for (int i = 0; i < watchers; i++) {
                final HttpResponse<InputStream> watch = HTTP.send(HttpRequest.newBuilder(URI.create(
                    cairn.httpUrl(i % 3) + "/v3/watch")).POST(HttpRequest.BodyPublishers.ofString(
                        "{\"create_request\":{\"key\":\"" + b64("many") + "\"}}")).build(),
                    HttpResponse.BodyHandlers.ofInputStream());
                final BufferedReader lines = new BufferedReader(new InputStreamReader(watch.body(),
                    StandardCharsets.UTF_8));
                streams.add(lines);
                assertTrue(lines.readLine().contains("\"created\":true"));
            }
            final long startNs = System.nanoTime();
            assertEquals(200, post(1, "/v3/kv/put", "{\"key\":\"" + b64("many") + "\",\"value\":\"" + b64("v")
                + "\"}").statusCode());
            assertTrue(System.nanoTime() - startNs < TimeUnit.SECONDS.toNanos(5));
            for (final BufferedReader lines : streams) {
                assertTrue(lines.readLine().contains("\"events\":[{\"kv\":{\"key\":\"" + b64("many")));
            }
        } finally {
            for (final BufferedReader lines : streams) {
                lines.close();
            }
        }
    }

    private static String b64(final String text) {
        return Base64.getEncoder().encodeToString(text.getBytes(StandardCharsets.UTF_8));
    }

    private static HttpResponse<String> post(final int member, final String path, final String json)
        throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(cairn.httpUrl(member) + path))
            .timeout(Duration.ofSeconds(20)).POST(HttpRequest.BodyPublishers.ofString(json)).build(),
            HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void shouldServeKvLeaseAndStatusAsEtcdsGateway() throws Exception {
        final HttpResponse<String> put = post(0, "/v3/kv/put",
            "{\"key\":\"" + b64("gw") + "\",\"value\":\"" + b64("one") + "\"}");
        assertEquals(200, put.statusCode(), put.body());
        assertTrue(put.body().matches("\\{\"header\":\\{\"cluster_id\":\"\\d+\",\"member_id\":\""
            + Long.toUnsignedString(cairn.memberId(0)) + "\","
            + "\"revision\":\"\\d+\",\"raft_term\":\"\\d+\"}}"), put.body());
        final HttpResponse<String> range = post(1, "/v3/kv/range", "{\"key\":\"" + b64("gw") + "\"}");
        assertTrue(range.body().contains("\"kvs\":[{\"key\":\"" + b64("gw") + "\",\"create_revision\":\"")
            && range.body().contains("\"value\":\"" + b64("one") + "\"}],\"count\":\"1\""), range.body());
        final HttpResponse<String> txn = post(2, "/v3/kv/txn", "{\"compare\":[{\"key\":\"" + b64("gw")
            + "\",\"target\":\"VALUE\",\"value\":\"" + b64("one") + "\"}],\"success\":[{\"request_put\":{\"key\":\""
            + b64("gw") + "\",\"value\":\"" + b64("two") + "\"}}]}");
        assertTrue(txn.body().contains("\"succeeded\":true"), txn.body());
        final HttpResponse<String> grant = post(0, "/v3/lease/grant", "{\"TTL\":\"30\"}");
        assertTrue(grant.body().contains("\"TTL\":\"30\""), grant.body());
        final String lease = grant.body().replaceAll(".*\"ID\":\"(\\d+)\".*", "$1");
        final HttpResponse<String> ttl = post(1, "/v3/lease/timetolive", "{\"ID\":\"" + lease + "\"}");
        assertTrue(ttl.body().contains("\"grantedTTL\":\"30\""), ttl.body());
        final HttpResponse<String> status = post(2, "/v3/maintenance/status", "{}");
        assertTrue(status.body().contains("\"version\":\"3.4.23\""), status.body());
        final HttpResponse<String> members = post(0, "/v3/cluster/member/list", "{}");
        assertEquals(3, members.body().split("\"name\"").length - 1, members.body());
    }

    @Test
    void shouldServeLocksElectionsMaintenanceAndTheV3betaAliasAsEtcdsGateway() throws Exception {
        final HttpResponse<String> beta = post(1, "/v3beta/kv/put",
            "{\"key\":\"" + b64("beta") + "\",\"value\":\"" + b64("b") + "\"}");
        assertEquals(200, beta.statusCode(), beta.body());
        assertTrue(post(2, "/v3beta/kv/range", "{\"key\":\"" + b64("beta") + "\"}").body()
            .contains("\"value\":\"" + b64("b") + "\""));
        final String lease = post(0, "/v3/lease/grant", "{\"TTL\":\"30\"}").body()
            .replaceAll(".*\"ID\":\"(\\d+)\".*", "$1");
        final HttpResponse<String> lock = post(1, "/v3/lock/lock", "{\"name\":\"" + b64("gw-lock") + "\",\"lease\":\""
            + lease + "\"}");
        assertEquals(200, lock.statusCode(), lock.body());
        final String key = lock.body().replaceAll(".*\"key\":\"([^\"]+)\".*", "$1");
        assertTrue(new String(Base64.getDecoder().decode(key), StandardCharsets.UTF_8).startsWith("gw-lock/"), key);
        assertEquals(200, post(2, "/v3/lock/unlock", "{\"key\":\"" + key + "\"}").statusCode());
        final HttpResponse<String> campaign = post(0, "/v3/election/campaign", "{\"name\":\"" + b64("gw-e")
            + "\",\"lease\":\"" + lease + "\",\"value\":\"" + b64("me") + "\"}");
        assertTrue(campaign.body().contains("\"leader\":{\"name\":\"" + b64("gw-e") + "\""), campaign.body());
        final HttpResponse<String> leader = post(1, "/v3/election/leader", "{\"name\":\"" + b64("gw-e") + "\"}");
        assertTrue(leader.body().contains("\"value\":\"" + b64("me") + "\""), leader.body());
        final HttpResponse<String> none = post(2, "/v3/election/leader", "{\"name\":\"" + b64("nobody") + "\"}");
        assertTrue(none.body().contains("election: no leader"), none.body());
        final HttpResponse<String> hash = post(0, "/v3/maintenance/hash", "{}");
        assertTrue(hash.body().contains("\"hash\":"), hash.body());
        assertEquals(200, post(1, "/v3/maintenance/defragment", "{}").statusCode());
        final HttpResponse<String> learner = post(2, "/v3/cluster/member/add",
            "{\"peerURLs\":[\"http://127.0.0.1:1\"],\"isLearner\":true}");
        assertTrue(learner.body().contains("\"isLearner\":true"), learner.body());
        final String id = learner.body().replaceAll(".*\"member\":\\{\"ID\":\"(\\d+)\".*", "$1");
        assertEquals(200, post(0, "/v3/cluster/member/remove", "{\"ID\":\"" + id + "\"}").statusCode());
        assertEquals(404, post(0, "/v3/nothing/here", "{}").statusCode());
    }

    @Test
    void shouldAnswerErrorsAsEtcdsGateway() throws Exception {
        final HttpResponse<String> empty = post(0, "/v3/kv/put", "{\"value\":\"" + b64("x") + "\"}");
        assertEquals(400, empty.statusCode());
        assertEquals("{\"error\":\"etcdserver: key is not provided\",\"message\":\"etcdserver: key is not "
            + "provided\",\"code\":3}", empty.body());
        final HttpResponse<String> future = post(1, "/v3/kv/range", "{\"key\":\"" + b64("gw")
            + "\",\"revision\":\"100000\"}");
        assertEquals(400, future.statusCode());
        assertTrue(future.body().contains("required revision is a future revision"), future.body());
        final HttpResponse<String> lease = post(2, "/v3/lease/revoke", "{\"ID\":\"99\"}");
        assertEquals(404, lease.statusCode());
        assertTrue(lease.body().contains("requested lease not found"), lease.body());
    }

    @Test
    void shouldStreamWatchEventsAndReportHealthAndMetrics() throws Exception {
        final CompletableFuture<HttpResponse<InputStream>> watch = HTTP.sendAsync(HttpRequest.newBuilder(
            URI.create(cairn.httpUrl(2) + "/v3/watch")).POST(HttpRequest.BodyPublishers.ofString(
                "{\"create_request\":{\"key\":\"" + b64("watched") + "\"}}")).build(),
            HttpResponse.BodyHandlers.ofInputStream());
        final BufferedReader lines = new BufferedReader(new InputStreamReader(watch.get(20, TimeUnit.SECONDS).body(),
            StandardCharsets.UTF_8));
        assertTrue(lines.readLine().contains("\"created\":true"));
        post(0, "/v3/kv/put", "{\"key\":\"" + b64("watched") + "\",\"value\":\"" + b64("v") + "\"}");
        final String event = lines.readLine();
        assertTrue(event.startsWith("{\"result\":") && event.contains("\"events\":[{\"kv\":{\"key\":\""
            + b64("watched")), event);
        lines.close();
        final HttpResponse<String> health = HTTP.send(HttpRequest.newBuilder(URI.create(cairn.httpUrl(1)
            + "/health")).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals("{\"health\":\"true\"}", health.body());
        assertTrue(cairn.leader() >= 0); // a gRPC call on each member (Maintenance.Status), for the gRPC counters
        final HttpResponse<String> metrics = HTTP.send(HttpRequest.newBuilder(URI.create(cairn.httpUrl(0)
            + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
        assertTrue(metrics.body().matches("(?s).*\netcd_server_has_leader 1(\\.0)?\n.*")
            && metrics.body().contains("etcd_disk_wal_fsync_duration_seconds_count"), metrics.body());
        // The text format's grammar, line by line: every sample names a family declared by # TYPE before it.
        final java.util.Set<String> families = new java.util.HashSet<>();
        final Pattern sample = Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{[a-zA-Z_][a-zA-Z0-9_]*=\"[^\"]*\""
            + "(,[a-zA-Z_][a-zA-Z0-9_]*=\"[^\"]*\")*\\})? (-?[0-9.eE+-]+|NaN|\\+Inf|-Inf)( -?[0-9]+)?");
        for (final String line : metrics.body().split("\n")) {
            if (line.startsWith("# TYPE ")) {
                families.add(line.split(" ")[2]);
            } else if (!line.startsWith("#") && !line.isEmpty()) {
                final java.util.regex.Matcher matched = sample.matcher(line);
                assertTrue(matched.matches(), "not a sample line: " + line);
                final String name = matched.group(1);
                assertTrue(families.stream().anyMatch(name::startsWith), "no # TYPE before " + line);
            }
        }
        for (final String name : new String[] {"grpc_server_started_total", "grpc_server_handled_total",
            "process_cpu_seconds_total", "process_resident_memory_bytes", "jvm_memory_used_bytes",
            "etcd_server_proposals_committed_total", "etcd_mvcc_db_total_size_in_bytes",
            "etcd_network_peer_sent_failures_total", "grpc_server_handling_seconds_bucket",
            "etcd_mvcc_db_total_size_in_use_in_bytes", "etcd_server_quota_backend_bytes",
            "etcd_disk_backend_commit_duration_seconds_bucket"}) {
            assertTrue(metrics.body().contains("\n" + name), name + " missing:\n" + metrics.body());
        }
        // The test's own Maintenance.Status calls (it asks each member whether it leads), counted as etcd counts.
        assertTrue(metrics.body().lines().anyMatch(line -> line.startsWith("grpc_server_handled_total{")
            && line.contains("grpc_code=\"OK\"") && line.contains("grpc_method=\"Status\"")
            && line.contains("grpc_service=\"etcdserverpb.Maintenance\"") && line.contains("grpc_type=\"unary\"")),
            metrics.body());
    }
}
