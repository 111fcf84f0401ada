package io.cairn.server.tls;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.KeyPairGenerator;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: the TLS files behave as etcd's operators expect. Method: certificates made with {@link Certificates} in a
 * temporary directory; keys in PKCS#8, PKCS#1 and SEC 1 form read back; a key that does not match its certificate
 * and an unknown cipher suite refused with the flag named; a certificate replaced on disk served after the next
 * check; revoked and foreign client certificates refused by the trust manager; {@code --auto-tls} makes its
 * certificate once and keeps it.
 */
class TlsContextsTest {
    @TempDir
    Path dir;

    private final Certificates.Issued ca = Certificates.issue("ca", List.of(), true, null, Duration.ofDays(1));

    private Certificates.Issued leaf(final String name) {
        return Certificates.issue(name, List.of("127.0.0.1"), false, ca, Duration.ofDays(1));
    }

    @Test
    void shouldReadKeysInEachPemForm() throws Exception {
        // As operators make them: openssl's SEC 1 EC key and PKCS#1 RSA key, and PKCS#8 (what Cairn writes).
        openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", dir.resolve("sec1.pem").toString());
        assertTrue(Files.readString(dir.resolve("sec1.pem")).contains("BEGIN EC PRIVATE KEY"));
        assertEquals("EC", Certificates.readKey(dir.resolve("sec1.pem")).getAlgorithm());
        openssl("genrsa", "-traditional", "-out", dir.resolve("pkcs1.pem").toString(), "2048");
        assertTrue(Files.readString(dir.resolve("pkcs1.pem")).contains("BEGIN RSA PRIVATE KEY"));
        assertEquals("RSA", Certificates.readKey(dir.resolve("pkcs1.pem")).getAlgorithm());
        final Certificates.Issued ec = leaf("ec");
        ec.write(dir.resolve("ec.pem"), dir.resolve("ec-key.pem"));
        assertTrue(Files.readString(dir.resolve("ec-key.pem")).contains("BEGIN PRIVATE KEY"));
        assertArrayEquals(ec.key().getEncoded(), Certificates.readKey(dir.resolve("ec-key.pem")).getEncoded());
        // openssl reads what Cairn writes.
        openssl("pkey", "-in", dir.resolve("ec-key.pem").toString(), "-noout");
        openssl("x509", "-in", dir.resolve("ec.pem").toString(), "-noout");
        final IllegalArgumentException none = assertThrows(IllegalArgumentException.class,
            () -> Certificates.readKey(dir.resolve("ec.pem")));
        assertTrue(none.getMessage().contains("no private key"), none.getMessage());
    }

    private static void openssl(final String... args) throws Exception {
        final List<String> command = new java.util.ArrayList<>(List.of("openssl"));
        command.addAll(List.of(args));
        final Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        final String out = new String(process.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(0, process.waitFor(), "openssl " + String.join(" ", args) + ": " + out);
    }

    @Test
    void shouldRefuseAKeyOfAnotherKindAndAnUnknownCipherSuite() throws Exception {
        final Certificates.Issued ec = leaf("ec");
        final KeyPairGenerator rsa = KeyPairGenerator.getInstance("RSA");
        rsa.initialize(2048);
        Certificates.writePem(dir.resolve("cert.pem"), List.of(ec.certificate()), false);
        Certificates.writePem(dir.resolve("key.pem"), List.of(rsa.generateKeyPair().getPrivate()), true);
        final IllegalArgumentException mismatch = assertThrows(IllegalArgumentException.class, () -> TlsContexts.open(
            config(dir.resolve("cert.pem"), dir.resolve("key.pem"), List.of()), dir, List.of()));
        assertTrue(mismatch.getMessage().contains("RSA key"), mismatch.getMessage());
        ec.write(dir.resolve("cert.pem"), dir.resolve("key.pem"));
        final IllegalArgumentException suite = assertThrows(IllegalArgumentException.class, () -> TlsContexts.open(
            config(dir.resolve("cert.pem"), dir.resolve("key.pem"), List.of("TLS_NO_SUCH_SUITE")), dir, List.of()));
        assertEquals("unexpected TLS cipher suite \"TLS_NO_SUCH_SUITE\" (--cipher-suites)", suite.getMessage());
        assertNotNull(TlsContexts.open(config(dir.resolve("cert.pem"), dir.resolve("key.pem"),
            List.of("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256")), dir, List.of()).grpcServer());
    }

    @Test
    void shouldServeACertificateReplacedOnDisk() throws Exception {
        final Certificates.Issued first = leaf("first");
        first.write(dir.resolve("cert.pem"), dir.resolve("key.pem"));
        final ReloadingKeyManager keys = new ReloadingKeyManager(dir.resolve("cert.pem"), dir.resolve("key.pem"));
        final String alias = keys.chooseEngineServerAlias("EC", null, null);
        assertEquals(first.certificate(), keys.getCertificateChain(alias)[0]);
        final Certificates.Issued second = leaf("second");
        second.write(dir.resolve("cert.pem"), dir.resolve("key.pem"));
        final FileTime later = FileTime.from(Instant.now().plusSeconds(5));
        Files.setLastModifiedTime(dir.resolve("cert.pem"), later);
        Thread.sleep(1_100);
        final String next = keys.chooseEngineServerAlias("EC", null, null);
        assertNotEquals(alias, next);
        assertEquals(second.certificate(), keys.getCertificateChain(next)[0]);
        assertEquals(second.key(), keys.getPrivateKey(next));
        // A handshake that chose the first pair before the reload still gets the first pair whole.
        assertEquals(first.key(), keys.getPrivateKey(alias));
        // A half-written file keeps the pair in use.
        Files.writeString(dir.resolve("cert.pem"), "-----BEGIN CERTIFICATE-----\nMIIB");
        Files.setLastModifiedTime(dir.resolve("cert.pem"), FileTime.from(Instant.now().plusSeconds(10)));
        Thread.sleep(1_100);
        assertEquals(second.certificate(), keys.getCertificateChain(keys.chooseEngineServerAlias("EC", null, null))[0]);
    }

    @Test
    void shouldRefuseRevokedAndForeignClientCertificates() throws Exception {
        final Certificates.Issued good = leaf("good");
        final Certificates.Issued revoked = leaf("revoked");
        final Certificates.Issued otherCa = Certificates.issue("other", List.of(), true, null, Duration.ofDays(1));
        final Certificates.Issued foreign =
            Certificates.issue("foreign", List.of(), false, otherCa, Duration.ofDays(1));
        Certificates.writePem(dir.resolve("ca.pem"), List.of(ca.certificate()), false);
        Certificates.writePem(dir.resolve("crl.pem"), List.of(Certificates.revoke(ca, List.of(revoked.certificate()))),
            false);
        final ReloadingTrustManager trust = new ReloadingTrustManager(dir.resolve("ca.pem"), dir.resolve("crl.pem"));
        trust.checkClientTrusted(chain(good), "ECDHE_ECDSA");
        final CertificateException revokedRefused = assertThrows(CertificateException.class,
            () -> trust.checkClientTrusted(chain(revoked), "ECDHE_ECDSA"));
        assertTrue(revokedRefused.getMessage().contains("revoked"), revokedRefused.getMessage());
        assertThrows(CertificateException.class, () -> trust.checkClientTrusted(chain(foreign), "ECDHE_ECDSA"));
        // A new CRL revoking the good one too is read again.
        Certificates.writePem(dir.resolve("crl.pem"), List.of(Certificates.revoke(ca,
            List.of(revoked.certificate(), good.certificate()))), false);
        Files.setLastModifiedTime(dir.resolve("crl.pem"), FileTime.from(Instant.now().plusSeconds(5)));
        Thread.sleep(1_100);
        assertThrows(CertificateException.class, () -> trust.checkClientTrusted(chain(good), "ECDHE_ECDSA"));
    }

    @Test
    void shouldMakeTheAutoTlsCertificateOnceAndKeepIt() {
        final TlsConfig auto = new TlsConfig(null, null, null, false, null, true, List.of());
        final Path fixtures = dir.resolve("fixtures/client");
        final X509Certificate made = TlsContexts.open(auto, fixtures, List.of("10.1.2.3")).certificate();
        assertTrue(Files.exists(fixtures.resolve("cert.pem")) && Files.exists(fixtures.resolve("key.pem")));
        assertEquals(made, TlsContexts.open(auto, fixtures, List.of("10.1.2.3")).certificate());
        assertTrue(made.toString().contains("10.1.2.3") && made.toString().contains("127.0.0.1"), made.toString());
        assertEquals(null, TlsContexts.open(TlsConfig.NONE, fixtures, List.of()));
    }

    private static X509Certificate[] chain(final Certificates.Issued leaf) {
        return new X509Certificate[] {leaf.certificate()};
    }

    private static TlsConfig config(final Path cert, final Path key, final List<String> suites) {
        return new TlsConfig(cert, key, null, false, null, false, suites);
    }
}
