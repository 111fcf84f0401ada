package io.cairn.server;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchEvent;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: {@code cairn grpc-proxy} and {@code cairn gateway} do what etcd's do, for real clients. Method: three Cairn
 * members and proxies in processes of their own; etcdctl's compatibility script through Cairn's proxy against the same
 * script through etcd 3.4's own grpc-proxy; a thousand jetcd watchers through one proxy, counted on the members'
 * {@code /metrics}; every member SIGKILLed in turn behind the proxy while a client writes, watches and keeps a lease
 * alive through it; a namespaced proxy; proxies registered under a resolver prefix; the TCP gateway with a member
 * down.
 */
@Timeout(400)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ProxyIT {
    @TempDir
    static Path dir;

    private static ProcessCluster cairn;
    private static ProxyProcess proxy;

    @BeforeAll
    static void start() throws Exception {
        cairn = ProcessCluster.startCairn(dir.resolve("cairn"), "ProxyIT", 3);
        proxy = ProxyProcess.cairn("grpc-proxy", cairn.logs(), "proxy", "--endpoints", cairn.endpoints());
    }

    @AfterAll
    static void stop() {
        if (proxy != null) {
            proxy.close();
        }
        if (cairn != null) {
            cairn.close();
        }
    }

    private static String etcdctl(final String endpoint, final String... args) throws Exception {
        return EtcdctlCompatibilityIT.etcdctl(endpoint, null, args);
    }

    /** One line of a /metrics page (served on the proxy's own port, or a member's metrics port). */
    static double metric(final String url, final String name) throws Exception {
        final String body = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url + "/metrics"))
            .timeout(java.time.Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString()).body();
        final Matcher value = Pattern.compile("(?m)^" + name + "(\\{[^}]*\\})? (\\S+)$").matcher(body);
        assertTrue(value.find(), name + " in " + url + "/metrics");
        return Double.parseDouble(value.group(2));
    }

    private static long membersWatchers() {
        long total = 0;
        for (int i = 0; i < cairn.size(); i++) {
            total += cairn.metric(i, "etcd_debugging_mvcc_watcher_total");
        }
        return total;
    }

    @Test
    @Order(1)
    void shouldPrintThroughTheProxyWhatEtcdsProxyPrints() throws Exception {
        try (ProcessCluster etcd = ProcessCluster.startEtcd(dir.resolve("etcd"), "ProxyIT-etcd");
            ProxyProcess etcdProxy = ProxyProcess.etcd(etcd.logs(), "etcd-grpc-proxy", "--endpoints",
                etcd.endpoint(0))) {
            final List<String> differences = new EtcdctlCompatibilityIT.Script(etcdProxy::endpoint,
                proxy::endpoint).run();
            assertTrue(differences.isEmpty(), differences.size() + " commands printed differently through the"
                + " proxies:\n\n" + String.join("\n", differences));
        }
    }

    @Test
    @Order(2)
    void shouldServeAThousandWatchersWithOneUpstreamWatch() throws Exception {
        final int clients = 4;
        final int perClient = 250;
        final int puts = 20;
        final long before = membersWatchers();
        final ByteSequence key = ByteSequence.from("fan/key", StandardCharsets.UTF_8);
        final List<Client> opened = new ArrayList<>();
        final List<List<Long>> seen = new ArrayList<>();
        try {
            for (int c = 0; c < clients; c++) {
                final Client client = Client.builder().endpoints("http://" + proxy.endpoint()).build();
                opened.add(client);
                for (int w = 0; w < perClient; w++) {
                    final List<Long> mine = Collections.synchronizedList(new ArrayList<>());
                    seen.add(mine);
                    client.getWatchClient().watch(key, WatchOption.DEFAULT, response -> {
                        for (final WatchEvent event : response.getEvents()) {
                            mine.add(Long.parseLong(event.getKeyValue().getValue().toString(StandardCharsets.UTF_8)));
                        }
                    });
                }
            }
            final String proxyUrl = "http://" + proxy.endpoint();
            Await.until("the proxy serves every watcher", 60,
                () -> metric(proxyUrl, "cairn_grpc_proxy_watchers") == clients * perClient);
            assertEquals(1.0, metric(proxyUrl, "cairn_grpc_proxy_upstream_watches"), "one upstream watch");
            Await.until("the members count one more watcher", 10, () -> membersWatchers() == before + 1);
            for (int i = 0; i < puts; i++) {
                assertEquals("OK", etcdctl(proxy.endpoint(), "put", "fan/key", Integer.toString(i)).strip());
            }
            Await.until("every watcher has every event", 60, () -> seen.stream().allMatch(list -> list.size()
                >= puts));
            final List<Long> expected = new ArrayList<>();
            for (long i = 0; i < puts; i++) {
                expected.add(i);
            }
            for (final List<Long> list : seen) {
                assertEquals(expected, list, "every event, in order, once");
            }
            assertEquals(before + 1, membersWatchers(), "the members still hold one watcher for all of them");
            System.out.println("ProxyIT: " + clients * perClient + " watchers through one proxy: the members hold "
                + (membersWatchers() - before) + " watcher; events coalesced "
                + (long)metric(proxyUrl, "etcd_grpc_proxy_events_coalescing_total"));
        } finally {
            opened.forEach(Client::close);
        }
        Await.until("the upstream watch ends with its watchers", 30, () -> membersWatchers() == before);
    }

    @Test
    @Order(3)
    void shouldAnswerSerializableRangesFromItsCacheForAtMostASecond() throws Exception {
        final String proxyUrl = "http://" + proxy.endpoint();
        assertEquals("OK", etcdctl(proxy.endpoint(), "put", "cached", "one").strip());
        final double hits = metric(proxyUrl, "etcd_grpc_proxy_cache_hits_total");
        assertEquals("cached\none", etcdctl(proxy.endpoint(), "get", "cached", "--consistency=s").strip());
        assertEquals("cached\none", etcdctl(proxy.endpoint(), "get", "cached", "--consistency=s").strip());
        assertTrue(metric(proxyUrl, "etcd_grpc_proxy_cache_hits_total") > hits, "answered from the cache");
        // A write through the proxy is seen at once; one around it (a member) within the cache's age bound.
        assertEquals("OK", etcdctl(proxy.endpoint(), "put", "cached", "two").strip());
        assertEquals("cached\ntwo", etcdctl(proxy.endpoint(), "get", "cached", "--consistency=s").strip());
        assertEquals("OK", etcdctl(cairn.endpoint(0), "put", "cached", "three").strip());
        Thread.sleep(1_100);
        assertEquals("cached\nthree", etcdctl(proxy.endpoint(), "get", "cached", "--consistency=s").strip());
        assertEquals("cached\nthree", etcdctl(proxy.endpoint(), "get", "cached").strip());
    }

    @Test
    @Order(4)
    void shouldCarryOnWhileEachMemberBehindItIsKilled() throws Exception {
        final ByteSequence prefix = ByteSequence.from("kill/", StandardCharsets.UTF_8);
        final List<Long> watched = Collections.synchronizedList(new ArrayList<>());
        final Set<String> acknowledged = ConcurrentHashMap.newKeySet();
        final AtomicInteger maxAttempts = new AtomicInteger();
        final AtomicInteger failed = new AtomicInteger();
        final AtomicBoolean writing = new AtomicBoolean(true);
        final Set<String> errors = ConcurrentHashMap.newKeySet();
        try (Client client = Client.builder().endpoints("http://" + proxy.endpoint()).build();
            Client watcher = Client.builder().endpoints("http://" + proxy.endpoint()).build()) {
            final long lease = client.getLeaseClient().grant(6).get(10, TimeUnit.SECONDS).getID();
            try (io.etcd.jetcd.support.CloseableClient keeper = client.getLeaseClient().keepAlive(lease,
                new io.grpc.stub.StreamObserver<>() {
                    @Override
                    public void onNext(final io.etcd.jetcd.lease.LeaseKeepAliveResponse response) {
                    }

                    @Override
                    public void onError(final Throwable error) {
                    }

                    @Override
                    public void onCompleted() {
                    }
                })) {
                client.getKVClient().put(ByteSequence.from("leased", StandardCharsets.UTF_8),
                    ByteSequence.from("alive", StandardCharsets.UTF_8),
                    io.etcd.jetcd.options.PutOption.builder().withLeaseId(lease).build()).get(10, TimeUnit.SECONDS);
                // From the revision after this one: the writes start at once, before the watch may be created.
                final long from = client.getKVClient().get(prefix).get(10, TimeUnit.SECONDS).getHeader()
                    .getRevision() + 1;
                watcher.getWatchClient().watch(prefix, WatchOption.builder().isPrefix(true).withRevision(from)
                    .build(), response -> {
                    for (final WatchEvent event : response.getEvents()) {
                        watched.add(event.getKeyValue().getModRevision());
                    }
                });
                final Thread writer = new Thread(() -> {
                    for (int n = 0; writing.get() && n < 100_000; n++) {
                        final ByteSequence key = ByteSequence.from("kill/" + n, StandardCharsets.UTF_8);
                        for (int attempt = 1; attempt <= 5; attempt++) {
                            try {
                                client.getKVClient().put(key, key).get(10, TimeUnit.SECONDS);
                                acknowledged.add("kill/" + n);
                                maxAttempts.accumulateAndGet(attempt, Math::max);
                                break;
                            } catch (final Exception ex) {
                                errors.add(String.valueOf(ex.getCause() == null ? ex : ex.getCause().getMessage()));
                                if (attempt == 5) {
                                    failed.incrementAndGet();
                                }
                            }
                        }
                    }
                }, "proxy-it-writer");
                writer.start();
                for (int i = 0; i < cairn.size(); i++) {
                    Thread.sleep(1_500);
                    cairn.kill(i);
                    Thread.sleep(2_500);
                    cairn.start(i);
                    cairn.awaitPorts();
                    Await.until("the cluster has a leader again", 30, () -> cairn.leader() >= 0);
                }
                Thread.sleep(1_500);
                writing.set(false);
                writer.join(30_000);
                assertTrue(acknowledged.size() > 20, "writes went on: " + acknowledged.size());
                assertEquals(0, failed.get(), "no write failed five times");
                // The proxy sends writes to the leader: one in flight when it dies fails (its outcome is unknown),
                // and the client's retry waits in the proxy for the next leader.
                assertTrue(maxAttempts.get() <= 2, "a member's death costs a write one retry at most, not "
                    + (maxAttempts.get() - 1) + ": " + errors);
                // Every acknowledged write is there, and the watcher saw each revision once, in order.
                final List<io.etcd.jetcd.KeyValue> stored = client.getKVClient().get(prefix, GetOption.builder()
                    .isPrefix(true).build()).get(20, TimeUnit.SECONDS).getKvs();
                final Set<String> keys = ConcurrentHashMap.newKeySet();
                stored.forEach(kv -> keys.add(kv.getKey().toString(StandardCharsets.UTF_8)));
                assertTrue(keys.containsAll(acknowledged), "every acknowledged write is stored");
                final long last = stored.stream().mapToLong(io.etcd.jetcd.KeyValue::getModRevision).max()
                    .orElseThrow();
                Await.until("the watcher catches up", 30, () -> !watched.isEmpty()
                    && watched.get(watched.size() - 1) >= last);
                final List<Long> revisions = List.copyOf(watched);
                for (int i = 1; i < revisions.size(); i++) {
                    assertTrue(revisions.get(i) > revisions.get(i - 1), "in order, none twice: " + revisions.get(i - 1)
                        + " then " + revisions.get(i));
                }
                final Set<Long> missed = new java.util.TreeSet<>();
                stored.forEach(kv -> missed.add(kv.getModRevision()));
                missed.removeAll(revisions);
                assertTrue(missed.isEmpty(), "an event for every stored key; none for revisions " + missed
                    + "; proxy log:\n" + proxy.log());
                assertEquals(1, client.getKVClient().get(ByteSequence.from("leased", StandardCharsets.UTF_8))
                    .get(10, TimeUnit.SECONDS).getCount(), "the lease kept alive through the proxy still lives");
                System.out.println("ProxyIT: every member killed in turn behind the proxy: " + acknowledged.size()
                    + " writes acknowledged, the most attempts one took " + maxAttempts.get() + ", " + revisions.size()
                    + " events watched in order; the errors writes met: " + errors);
            }
        } finally {
            writing.set(false);
        }
    }

    @Test
    @Order(5)
    void shouldConfineANamespacedProxyToItsPrefix() throws Exception {
        try (ProxyProcess tenant = ProxyProcess.cairn("grpc-proxy", cairn.logs(), "proxy-tenant", "--endpoints",
            cairn.endpoints(), "--namespace", "/tenant-a/")) {
            final String member = cairn.endpoint(0);
            assertEquals("OK", etcdctl(tenant.endpoint(), "put", "k1", "v1").strip());
            assertEquals("/tenant-a/k1\nv1", etcdctl(member, "get", "/tenant-a/k1").strip());
            assertEquals("OK", etcdctl(member, "put", "outside", "secret").strip());
            assertEquals("OK", etcdctl(member, "put", "/tenant-a/k2", "v2").strip());
            assertEquals("k1\nk2", etcdctl(tenant.endpoint(), "get", "", "--prefix", "--keys-only").strip()
                .replace("\n\n", "\n"));
            assertEquals("k1\nk2", etcdctl(tenant.endpoint(), "get", "--from-key", "", "--keys-only").strip()
                .replace("\n\n", "\n"));
            assertEquals("", etcdctl(tenant.endpoint(), "get", "outside").strip());
            assertEquals("", etcdctl(tenant.endpoint(), "get", "/outside", "--prefix").strip());
            assertTrue(etcdctl(tenant.endpoint(), "put", "", "x").contains("key is not provided"));
            final String txn = EtcdctlCompatibilityIT.etcdctl(tenant.endpoint(),
                "value(\"k1\") = \"v1\"\n\nput k3 v3\n\n\n", "txn");
            assertTrue(txn.startsWith("SUCCESS"), txn);
            assertEquals("/tenant-a/k3\nv3", etcdctl(member, "get", "/tenant-a/k3").strip());
            // A lease's keys outside the namespace are not the tenant's to see.
            final Matcher granted = Pattern.compile("lease ([0-9a-f]+) granted").matcher(
                etcdctl(tenant.endpoint(), "lease", "grant", "60"));
            assertTrue(granted.find());
            assertEquals("OK", etcdctl(tenant.endpoint(), "put", "lk", "x", "--lease=" + granted.group(1)).strip());
            assertEquals("OK", etcdctl(member, "put", "other-lk", "x", "--lease=" + granted.group(1)).strip());
            final String ttl = etcdctl(tenant.endpoint(), "lease", "timetolive", granted.group(1), "--keys");
            assertTrue(ttl.contains("attached keys([lk])"), ttl);
            // A lock's key is in the namespace too.
            final ManagedChannel channel = NettyChannelBuilder.forTarget(tenant.endpoint()).usePlaintext().build();
            try {
                final io.etcd.jetcd.api.lock.LockResponse lock = io.etcd.jetcd.api.lock.LockGrpc
                    .newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS).lock(
                        io.etcd.jetcd.api.lock.LockRequest.newBuilder().setName(ByteString.copyFromUtf8("mylock"))
                            .setLease(Long.parseLong(granted.group(1), 16)).build());
                assertTrue(lock.getKey().toStringUtf8().startsWith("mylock/"), lock.getKey().toStringUtf8());
                assertTrue(etcdctl(member, "get", "/tenant-a/mylock/", "--prefix", "--keys-only")
                    .contains("/tenant-a/" + lock.getKey().toStringUtf8()));
            } finally {
                channel.shutdownNow();
            }
            // A watch sees the namespace's events only, without the prefix.
            final Path out = dir.resolve("tenant-watch.out");
            final ProcessBuilder builder = new ProcessBuilder(ProcessCluster.tool("etcdctl"), "--endpoints="
                + tenant.endpoint(), "watch", "w", "--prefix").redirectErrorStream(true).redirectOutput(out.toFile());
            builder.environment().put("ETCDCTL_API", "3");
            final Process watch = builder.start();
            try {
                Thread.sleep(1_000);
                etcdctl(member, "put", "w-outside", "no");
                etcdctl(member, "put", "/tenant-a/w1", "yes");
                Await.until("the tenant's watcher sees its event", 10, () -> Files.readString(out).contains("yes"));
            } finally {
                watch.destroyForcibly();
                watch.waitFor(10, TimeUnit.SECONDS);
            }
            assertEquals("PUT\nw1\nyes\n", Files.readString(out).replaceAll("\\{\"level\".*\n", ""));
            final String snapshot = etcdctl(tenant.endpoint(), "snapshot", "save", dir.resolve("t.db").toString());
            assertTrue(snapshot.contains("namespaced"), snapshot);
            assertFalse(Files.exists(dir.resolve("t.db")));
        }
    }

    @Test
    @Order(6)
    void shouldRegisterUnderTheResolverPrefixAndListTheGroupsProxies() throws Exception {
        final int port = ProcessCluster.freeTcpPort();
        final String address = "127.0.0.1:" + port;
        final ProxyProcess registered = ProxyProcess.cairn("grpc-proxy", cairn.logs(), "proxy-registered",
            "--endpoints", cairn.endpoints(), "--resolver-prefix", "/proxies", "--resolver-ttl", "5",
            "--advertise-client-url", address);
        try {
            Await.until("the proxy registers", 20, () -> etcdctl(cairn.endpoint(0), "get", "/proxies/", "--prefix",
                "--keys-only").contains("/proxies/" + address));
            final String members = etcdctl(registered.endpoint(), "member", "list");
            assertTrue(members.contains(address), members);
        } finally {
            registered.close();
        }
        Await.until("its registration goes with it", 20, () -> !etcdctl(cairn.endpoint(0), "get", "/proxies/",
            "--prefix", "--keys-only").contains(address));
    }

    @Test
    @Order(7)
    void shouldReachALiveMemberThroughTheGatewayWhileOneIsDown() throws Exception {
        try (ProxyProcess gateway = ProxyProcess.cairn("gateway", cairn.logs(), "gateway", "--endpoints",
            cairn.endpoints(), "--retry-delay", "5s")) {
            assertEquals("OK", etcdctl(gateway.endpoint(), "put", "through", "gateway").strip());
            cairn.kill(0);
            try {
                for (int i = 0; i < 6; i++) {
                    assertEquals("through\ngateway", etcdctl(gateway.endpoint(), "get", "through").strip(),
                        "connection " + i + " with member 0 down");
                }
                assertTrue(gateway.log().contains("set aside"), gateway.log());
            } finally {
                cairn.start(0);
                cairn.awaitPorts();
            }
        }
    }

    @Test
    @Order(8)
    void shouldFollowTheMembersFromOneEndpoint() throws Exception {
        // Given only member 1, the proxy reads the member list and uses all three: member 1 may then die.
        try (ProxyProcess follower = ProxyProcess.cairn("grpc-proxy", cairn.logs(), "proxy-following",
            "--endpoints", cairn.endpoint(0), "--member-sync-interval", "1s")) {
            assertEquals("OK", etcdctl(follower.endpoint(), "put", "followed", "1").strip());
            Await.until("the proxy knows every member", 20, () -> follower.log().contains("members are now"));
            cairn.kill(0);
            try {
                Await.until("a leader among the other two", 30, () -> cairn.leader() > 0);
                assertEquals("OK", etcdctl(follower.endpoint(), "put", "followed", "2").strip());
                assertEquals("followed\n2", etcdctl(follower.endpoint(), "get", "followed").strip());
            } finally {
                cairn.start(0);
                cairn.awaitPorts();
            }
        }
    }

    @Test
    @Order(9)
    void shouldSpeakTlsToClientsAndToTheCluster() throws Exception {
        final Path pki = dir.resolve("pki");
        final io.cairn.server.tls.Certificates.Issued ca = io.cairn.server.tls.Certificates.issue("proxy test CA",
            List.of(), true, null, java.time.Duration.ofDays(2));
        final io.cairn.server.tls.Certificates.Issued server = io.cairn.server.tls.Certificates.issue("server",
            List.of("127.0.0.1", "localhost"), false, ca, java.time.Duration.ofDays(2));
        final io.cairn.server.tls.Certificates.Issued client = io.cairn.server.tls.Certificates.issue("root",
            List.of(), false, ca, java.time.Duration.ofDays(2));
        io.cairn.server.tls.Certificates.writePem(pki.resolve("ca.pem"), List.of(ca.certificate()), false);
        server.write(pki.resolve("server.pem"), pki.resolve("server-key.pem"));
        client.write(pki.resolve("client.pem"), pki.resolve("client-key.pem"));
        final io.netty.handler.ssl.SslContext tls = io.grpc.netty.GrpcSslContexts.forClient()
            .trustManager(ca.certificate()).keyManager(client.key(), client.certificate()).build();
        try (ProcessCluster secured = ProcessCluster.prepareCairn(dir.resolve("tls"), "ProxyIT-tls", 3)
            .withClientTls(tls, "--cert-file", pki.resolve("server.pem").toString(), "--key-file",
                pki.resolve("server-key.pem").toString(), "--trusted-ca-file", pki.resolve("ca.pem").toString(),
                "--client-cert-auth")) {
            secured.startAll();
            final StringBuilder endpoints = new StringBuilder();
            for (int i = 0; i < secured.size(); i++) {
                endpoints.append(i == 0 ? "" : ",").append("https://").append(secured.endpoint(i));
            }
            // The proxy presents the server certificate to clients and to the members (it is a client there).
            try (ProxyProcess proxied = ProxyProcess.cairn("grpc-proxy", secured.logs(), "proxy-tls", "--endpoints",
                endpoints.toString(), "--cacert", pki.resolve("ca.pem").toString(), "--cert",
                pki.resolve("server.pem").toString(), "--key", pki.resolve("server-key.pem").toString(),
                "--cert-file", pki.resolve("server.pem").toString(), "--key-file",
                pki.resolve("server-key.pem").toString(), "--trusted-ca-file", pki.resolve("ca.pem").toString())) {
                final String[] withCertificate = {"--cacert=" + pki.resolve("ca.pem"), "--cert="
                    + pki.resolve("client.pem"), "--key=" + pki.resolve("client-key.pem")};
                assertEquals("OK", etcdctl("https://" + proxied.endpoint(), concat(withCertificate, "put", "secure",
                    "yes")).strip());
                assertEquals("secure\nyes", etcdctl("https://" + proxied.endpoint(), concat(withCertificate, "get",
                    "secure")).strip());
                final String refused = etcdctl("https://" + proxied.endpoint(), "--cacert=" + pki.resolve("ca.pem"),
                    "--dial-timeout=2s", "--command-timeout=4s", "get", "secure");
                assertFalse(refused.contains("yes"), "no client certificate, no answer: " + refused);
            }
        }
    }

    @Test
    @Order(10)
    void shouldTellWatchersThatRequireALeaderWhenTheClusterHasNone() throws Exception {
        final ManagedChannel channel = NettyChannelBuilder.forTarget(proxy.endpoint()).usePlaintext().build();
        try {
            final java.util.concurrent.CompletableFuture<io.grpc.Status> required = new java.util.concurrent
                .CompletableFuture<>();
            final java.util.concurrent.CompletableFuture<io.grpc.Status> plain = new java.util.concurrent
                .CompletableFuture<>();
            final List<String> plainValues = Collections.synchronizedList(new ArrayList<>());
            final io.grpc.Metadata hasLeader = new io.grpc.Metadata();
            hasLeader.put(io.grpc.Metadata.Key.of("hasleader", io.grpc.Metadata.ASCII_STRING_MARSHALLER), "true");
            for (final boolean requireLeader : new boolean[] {true, false}) {
                io.etcd.jetcd.api.WatchGrpc.WatchStub stub = io.etcd.jetcd.api.WatchGrpc.newStub(channel);
                if (requireLeader) {
                    stub = stub.withInterceptors(io.grpc.stub.MetadataUtils.newAttachHeadersInterceptor(hasLeader));
                }
                final java.util.concurrent.CompletableFuture<io.grpc.Status> ended = requireLeader ? required : plain;
                stub.watch(new io.grpc.stub.StreamObserver<>() {
                    @Override
                    public void onNext(final io.etcd.jetcd.api.WatchResponse response) {
                        response.getEventsList().forEach(event -> plainValues.add(requireLeader ? "required"
                            : event.getKv().getValue().toStringUtf8()));
                    }

                    @Override
                    public void onError(final Throwable error) {
                        ended.complete(io.grpc.Status.fromThrowable(error));
                    }

                    @Override
                    public void onCompleted() {
                        ended.complete(io.grpc.Status.OK);
                    }
                }).onNext(io.etcd.jetcd.api.WatchRequest.newBuilder().setCreateRequest(
                    io.etcd.jetcd.api.WatchCreateRequest.newBuilder().setKey(ByteString.copyFromUtf8("leaderless")))
                    .build());
            }
            Await.until("both watch", 20, () -> metric("http://" + proxy.endpoint(), "cairn_grpc_proxy_watchers")
                >= 2);
            cairn.kill(0);
            cairn.kill(1);
            try {
                final io.grpc.Status status = required.get(30, TimeUnit.SECONDS);
                assertEquals(io.grpc.Status.Code.UNAVAILABLE, status.getCode(), status.toString());
                assertEquals("etcdserver: no leader", status.getDescription());
                assertFalse(plain.isDone(), "a watch that did not ask for a leader stays open");
            } finally {
                cairn.start(0);
                cairn.start(1);
                cairn.awaitPorts();
            }
            Await.until("a leader again", 30, () -> cairn.leader() >= 0);
            assertEquals("OK", etcdctl(proxy.endpoint(), "put", "leaderless", "back").strip());
            Await.until("the open watch sees the put after the outage", 30, () -> plainValues.contains("back"));
        } finally {
            channel.shutdownNow();
        }
    }

    @Test
    @Order(11)
    void shouldCarryEachCallersTokenAndNeverShareWhatOnlyOneMayRead() throws Exception {
        final String p = proxy.endpoint();
        final String[] root = {"--user", "root:rootpw"};
        assertTrue(etcdctl(p, "user", "add", "root", "--new-user-password=rootpw", "--interactive=false")
            .contains("User root created"));
        assertTrue(etcdctl(p, "user", "add", "ann", "--new-user-password=annpw", "--interactive=false")
            .contains("created"));
        assertTrue(etcdctl(p, "user", "add", "bob", "--new-user-password=bobpw", "--interactive=false")
            .contains("created"));
        assertTrue(etcdctl(p, "role", "add", "reader").contains("created"));
        assertTrue(etcdctl(p, "role", "grant-permission", "reader", "read", "a/", "--prefix=true")
            .contains("updated"));
        assertTrue(etcdctl(p, "user", "grant-role", "ann", "reader").contains("granted"));
        assertTrue(etcdctl(p, "auth", "enable").contains("Authentication Enabled"));
        try {
            assertEquals("OK", etcdctl(p, concat(root, "put", "a/1", "secret")).strip());
            assertEquals("OK", etcdctl(p, concat(root, "put", "b", "other")).strip());
            final String[] ann = {"--user", "ann:annpw"};
            final String[] bob = {"--user", "bob:bobpw"};
            for (int i = 0; i < 2; i++) {
                assertEquals("a/1\nsecret", etcdctl(p, concat(ann, "get", "a/1", "--consistency=s")).strip());
            }
            assertTrue(etcdctl(p, concat(bob, "get", "a/1", "--consistency=s")).contains("permission denied"),
                "ann's cached answer is not bob's");
            assertTrue(etcdctl(p, concat(ann, "get", "b")).contains("permission denied"));
            assertTrue(etcdctl(p, "get", "a/1").contains("user name is empty"), "no token, no answer");
            // A watch of what ann may not read is refused with etcd's reason, through the proxy's own check.
            final String watch = watchOnce(p, "--user", "ann:annpw", "watch", "b");
            assertTrue(watch.contains("permission denied"), watch);
        } finally {
            etcdctl(p, concat(root, "auth", "disable"));
        }
    }

    /** etcdctl watch, given up to 5 s: what it printed. */
    private static String watchOnce(final String endpoint, final String... args) throws Exception {
        final List<String> command = new ArrayList<>(List.of(ProcessCluster.tool("etcdctl"), "--endpoints="
            + endpoint));
        command.addAll(List.of(args));
        final ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().put("ETCDCTL_API", "3");
        final Process watch = builder.start();
        watch.getOutputStream().close();
        if (!watch.waitFor(5, TimeUnit.SECONDS)) {
            watch.destroyForcibly();
            watch.waitFor(5, TimeUnit.SECONDS);
        }
        return new String(watch.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    }

    private static String[] concat(final String[] first, final String... rest) {
        final String[] all = java.util.Arrays.copyOf(first, first.length + rest.length);
        System.arraycopy(rest, 0, all, first.length, rest.length);
        return all;
    }
}
