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

    @BeforeAll
    static void start() throws IOException {
        cairn = ProcessCluster.startCairn(dir, "HttpGatewayIT", 3);
    }

    @AfterAll
    static void stop() {
        if (cairn != null) {
            cairn.close();
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
            + Integer.toUnsignedString(cairn.memberId(0)) + "\","
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
            "etcd_network_peer_sent_failures_total"}) {
            assertTrue(metrics.body().contains("\n" + name), name + " missing:\n" + metrics.body());
        }
        // The test's own Maintenance.Status calls (it asks each member whether it leads), counted as etcd counts.
        assertTrue(metrics.body().lines().anyMatch(line -> line.startsWith("grpc_server_handled_total{")
            && line.contains("grpc_code=\"OK\"") && line.contains("grpc_method=\"Status\"")
            && line.contains("grpc_service=\"etcdserverpb.Maintenance\"") && line.contains("grpc_type=\"unary\"")),
            metrics.body());
    }
}
