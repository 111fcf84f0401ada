package io.cairn.server;

import com.google.protobuf.ByteString;
import io.cairn.server.tls.Certificates;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.RangeRequest;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.SslContext;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import java.math.BigInteger;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: client TLS works as an etcd operator configures it, with etcd's tools. Method: a CA, a server certificate
 * for 127.0.0.1 and client certificates made with {@link Certificates}; three {@code cairn member} processes with
 * {@code https://} client URLs, {@code --cert-file}, {@code --key-file}, {@code --trusted-ca-file},
 * {@code --client-cert-auth} and {@code --client-crl-file}; Debian's {@code etcdctl} writes through every member (a
 * follower forwards to the leader over TLS, presenting its certificate) and reads back; {@code etcdctl} without a
 * certificate, with one from another CA and with a revoked one is refused and writes nothing; curl reaches the JSON
 * gateway over HTTPS only with a certificate; a plaintext client is refused; a certificate replaced on disk is served
 * to the next connection without a restart. Then three members with {@code --auto-tls} and {@code --cipher-suites}:
 * {@code etcdctl --insecure-skip-tls-verify} works, a client offering only other suites (or TLS 1.3 only) is refused.
 * Both clusters also secure their peers: the first with certificates of a separate peer CA (followers forward to the
 * leader's client port with their peer certificates), the second with {@code --peer-auto-tls}.
 */
class TlsIT {
    private static final String SUITE = "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256";

    @TempDir
    Path dir;

    @AutoClose // closed after each test, before its temporary directory goes
    private ProcessCluster cairn;

    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    void shouldServeClientsOverTlsWithCertificatesAsEtcdDoes() throws Exception {
        final Path pki = dir.resolve("pki");
        final Certificates.Issued ca = Certificates.issue("cairn test CA", List.of(), true, null, Duration.ofDays(2));
        final Certificates.Issued otherCa = Certificates.issue("another CA", List.of(), true, null, Duration.ofDays(2));
        final Certificates.Issued server = Certificates.issue("server", List.of("127.0.0.1", "localhost"), false, ca,
            Duration.ofDays(2));
        final Certificates.Issued client = Certificates.issue("root", List.of(), false, ca, Duration.ofDays(2));
        final Certificates.Issued stranger = Certificates.issue("root", List.of(), false, otherCa,
            Duration.ofDays(2));
        final Certificates.Issued revoked = Certificates.issue("revoked", List.of(), false, ca, Duration.ofDays(2));
        Certificates.writePem(pki.resolve("ca.pem"), List.of(ca.certificate()), false);
        server.write(pki.resolve("server.pem"), pki.resolve("server-key.pem"));
        client.write(pki.resolve("client.pem"), pki.resolve("client-key.pem"));
        stranger.write(pki.resolve("stranger.pem"), pki.resolve("stranger-key.pem"));
        revoked.write(pki.resolve("revoked.pem"), pki.resolve("revoked-key.pem"));
        Certificates.writePem(pki.resolve("crl.pem"), List.of(Certificates.revoke(ca, List.of(revoked.certificate()))),
            false);

        final SslContext tls = GrpcSslContexts.forClient().trustManager(ca.certificate())
            .keyManager(client.key(), client.certificate()).build();
        cairn = ProcessCluster.prepareCairn(dir, "TlsIT", 3).withClientTls(tls,
            "--cert-file", pki.resolve("server.pem").toString(), "--key-file", pki.resolve("server-key.pem").toString(),
            "--trusted-ca-file", pki.resolve("ca.pem").toString(), "--client-cert-auth",
            "--client-crl-file", pki.resolve("crl.pem").toString())
            // Peers have a CA of their own, as kubeadm's etcd does: members forward to each other's client ports
            // with their peer certificates, which the client port accepts besides the client CA's.
            .withPeerCertificates(pki);
        cairn.startAll();
        Await.until("a leader", 30, () -> cairn.leader() >= 0);

        // etcdctl with the CA and a client certificate, through every member (followers forward over TLS, presenting
        // their peer certificates).
        for (int i = 0; i < 3; i++) {
            final String out = etcdctl(cairn, i, pki, "client", "put", "tls/" + i, "v" + i);
            assertEquals("OK", out, "put through " + cairn.name(i));
        }
        for (int i = 0; i < 3; i++) {
            assertEquals("tls/0\nv0\ntls/1\nv1\ntls/2\nv2",
                etcdctl(cairn, i, pki, "client", "get", "tls/", "--prefix"), "read through " + cairn.name(i));
        }

        // Lease calls only the leader answers: followers relay them over TLS, with the member's certificate.
        final String grant = etcdctl(cairn, 0, pki, "client", "lease", "grant", "60");
        final java.util.regex.Matcher id = java.util.regex.Pattern.compile("lease ([0-9a-f]+) granted").matcher(grant);
        assertTrue(id.find(), grant);
        for (int i = 0; i < 3; i++) {
            final String ttl = etcdctl(cairn, i, pki, "client", "lease", "timetolive", id.group(1));
            assertTrue(ttl.contains("granted with TTL(60s)"), cairn.name(i) + ": " + ttl);
            final String kept = etcdctl(cairn, i, pki, "client", "lease", "keep-alive", "--once", id.group(1));
            assertTrue(kept.contains("keepalived with TTL(60)"), cairn.name(i) + ": " + kept);
        }

        // Refused: no certificate, another CA's, a revoked one. Nothing they tried is written.
        for (final String who : new String[] {null, "stranger", "revoked"}) {
            final String out = etcdctl(cairn, 1, pki, who, "put", "tls/refused", "x");
            assertFalse(out.startsWith("OK"), (who == null ? "no certificate" : who) + " was served: " + out);
            assertTrue(out.contains("Error"), out);
            System.out.println("TlsIT: " + (who == null ? "no certificate" : who) + ": " + out);
        }
        assertEquals("", etcdctl(cairn, 0, pki, "client", "get", "tls/refused"));
        // The member says why, as etcd logs "rejected connection from".
        final String log = cairn.log(1);
        assertTrue(log.contains("TLS: rejected connection") && log.contains("CN=revoked")
            && log.contains("was revoked"), "member log: " + log.lines().filter(line -> line.contains("TLS")).toList());

        // The JSON gateway: HTTPS with a client certificate, refused without one.
        final String range = "{\"key\":\"" + base64("tls/1") + "\"}";
        final String answer = curl(cairn.httpUrl(0) + "/v3/kv/range", pki, true, range);
        assertTrue(answer.contains("\"value\":\"" + base64("v1") + "\""), answer);
        final String refused = curl(cairn.httpUrl(0) + "/v3/kv/range", pki, false, range);
        assertFalse(refused.contains("\"value\""), refused);
        System.out.println("TlsIT: curl without a certificate: " + refused);

        // A plaintext client on the TLS port gets nothing.
        final ManagedChannel plaintext = NettyChannelBuilder.forTarget(cairn.endpoint(0)).usePlaintext().build();
        try {
            assertThrows(StatusRuntimeException.class, () -> KVGrpc.newBlockingStub(plaintext)
                .withDeadlineAfter(3, TimeUnit.SECONDS).range(RangeRequest.newBuilder()
                    .setKey(ByteString.copyFromUtf8("tls/1")).build()));
        } finally {
            plaintext.shutdownNow();
        }

        // Rotation: a new certificate written over the files is what the next connection gets.
        final BigInteger before = servedSerial(cairn.endpoint(0), null);
        assertEquals(server.certificate().getSerialNumber(), before);
        final Certificates.Issued renewed = Certificates.issue("server", List.of("127.0.0.1", "localhost"), false,
            ca, Duration.ofDays(3));
        Thread.sleep(1_100); // a new modification time
        renewed.write(pki.resolve("server.pem"), pki.resolve("server-key.pem"));
        Await.until("the renewed certificate served", 10,
            () -> renewed.certificate().getSerialNumber().equals(servedSerialOrNull(cairn.endpoint(0))));
        assertEquals("tls/2\nv2", etcdctl(cairn, 2, pki, "client", "get", "tls/2"));
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void shouldMakeItsOwnCertificateAndKeepToItsCipherSuites() throws Exception {
        cairn = ProcessCluster.prepareCairn(dir, "TlsIT-auto", 3).withClientTls(
            GrpcSslContexts.forClient().trustManager(io.netty.handler.ssl.util.InsecureTrustManagerFactory.INSTANCE)
                .build(), "--auto-tls", "--cipher-suites", SUITE).withPeerTls("--peer-auto-tls");
        cairn.startAll();
        Await.until("a leader", 30, () -> cairn.leader() >= 0);
        final int follower = (cairn.leader() + 1) % 3;
        assertEquals("OK", etcdctl(cairn, follower, null, null, "--insecure-transport=false",
            "--insecure-skip-tls-verify", "put", "auto", "tls"));
        assertEquals("auto\ntls", etcdctl(cairn, 0, null, null, "--insecure-transport=false",
            "--insecure-skip-tls-verify", "get", "auto"));
        assertTrue(java.nio.file.Files.exists(cairn.dataDir(0).resolve("fixtures/client/cert.pem")));
        assertTrue(java.nio.file.Files.exists(cairn.dataDir(0).resolve("fixtures/peer/cert.pem")));
        assertTrue(servedSerial(cairn.endpoint(0), new String[] {SUITE}) != null);
        assertThrows(javax.net.ssl.SSLException.class, () -> servedSerial(cairn.endpoint(0),
            new String[] {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"}));
        assertThrows(javax.net.ssl.SSLException.class, () -> servedSerial(cairn.endpoint(0),
            new String[] {"TLS_AES_128_GCM_SHA256"}));
    }

    /** etcdctl over TLS to member {@code i}, with {@code who}'s certificate (null: none), 4 s to answer. */
    private static String etcdctl(final ProcessCluster cluster, final int i, final Path pki, final String who,
        final String... args) throws Exception {
        final List<String> all = new ArrayList<>(List.of("--dial-timeout=2s", "--command-timeout=4s"));
        if (pki != null) {
            all.add("--cacert=" + pki.resolve("ca.pem"));
        }
        if (who != null) {
            all.add("--cert=" + pki.resolve(who + ".pem"));
            all.add("--key=" + pki.resolve(who + "-key.pem"));
        }
        all.addAll(List.of(args));
        return EtcdctlCompatibilityIT.etcdctl("https://" + cluster.endpoint(i), null, all.toArray(new String[0]))
            .strip();
    }

    private static String curl(final String url, final Path pki, final boolean withCertificate, final String body)
        throws Exception {
        final List<String> command = new ArrayList<>(List.of("curl", "-sS", "--max-time", "5", "--cacert",
            pki.resolve("ca.pem").toString(), "-X", "POST", "-d", body, url));
        if (withCertificate) {
            command.addAll(List.of("--cert", pki.resolve("client.pem").toString(), "--key",
                pki.resolve("client-key.pem").toString()));
        }
        final Process curl = new ProcessBuilder(command).redirectErrorStream(true).start();
        assertTrue(curl.waitFor(10, TimeUnit.SECONDS), "curl did not finish");
        return new String(curl.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    }

    private static String base64(final String text) {
        return java.util.Base64.getEncoder().encodeToString(text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    private static BigInteger servedSerialOrNull(final String endpoint) {
        try {
            return servedSerial(endpoint, null);
        } catch (final Exception ex) {
            return null;
        }
    }

    /**
     * Handshakes with the endpoint (trusting any certificate, offering no client certificate: a server that asks
     * for one still shows its own first) and returns the serial of the certificate it served.
     */
    private static BigInteger servedSerial(final String endpoint, final String[] suites) throws Exception {
        final SSLContext context = SSLContext.getInstance("TLS");
        final X509Certificate[][] seen = new X509Certificate[1][];
        context.init(null, new TrustManager[] {new X509TrustManager() {
            @Override
            public void checkClientTrusted(final X509Certificate[] chain, final String type) {
            }

            @Override
            public void checkServerTrusted(final X509Certificate[] chain, final String type) {
                seen[0] = chain;
            }

            @Override
            public X509Certificate[] getAcceptedIssuers() {
                return new X509Certificate[0];
            }
        }}, null);
        final int colon = endpoint.lastIndexOf(':');
        try (SSLSocket socket = (SSLSocket)context.getSocketFactory().createSocket(endpoint.substring(0, colon),
            Integer.parseInt(endpoint.substring(colon + 1)))) {
            socket.setSoTimeout(5_000);
            if (suites != null) {
                socket.setEnabledCipherSuites(suites);
                socket.setEnabledProtocols(new String[] {suites[0].startsWith("TLS_AES") ? "TLSv1.3" : "TLSv1.2"});
            }
            try {
                socket.startHandshake();
            } catch (final javax.net.ssl.SSLException ex) {
                if (seen[0] == null) {
                    throw ex;
                }
                // refused for want of a client certificate, after the server showed its own
            }
        }
        return seen[0] == null ? null : seen[0][0].getSerialNumber();
    }
}
