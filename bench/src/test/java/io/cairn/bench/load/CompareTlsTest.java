package io.cairn.bench.load;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: {@code compare --tls} hands both clusters and the load generator certificates they accept. Method: make the
 * run's PKI with openssl as {@code compare} does; the server certificate names 127.0.0.1 and, like the client's,
 * verifies against the CA; the load generator builds its TLS channels from the files.
 */
class CompareTlsTest {
    @TempDir
    Path dir;

    @Test
    void shouldMakeCertificatesBothSidesAccept() throws Exception {
        final CompareMain.Pki pki = CompareMain.Pki.make(dir);
        final X509Certificate ca = read(pki.ca());
        final X509Certificate server = read(pki.serverCert());
        final X509Certificate client = read(pki.clientCert());
        server.verify(ca.getPublicKey());
        client.verify(ca.getPublicKey());
        assertTrue(server.getSubjectAlternativeNames().stream().anyMatch(name -> "127.0.0.1".equals(name.get(1))),
            String.valueOf(server.getSubjectAlternativeNames()));
        assertTrue(client.getExtendedKeyUsage().contains("1.3.6.1.5.5.7.3.2"), "client authentication");
        assertTrue(Files.readString(pki.clientKey()).startsWith("-----BEGIN PRIVATE KEY-----"), "PKCS#8");
        final List<String> args = new ArrayList<>(List.of("--endpoints", "127.0.0.1:1"));
        args.addAll(pki.clientArgs());
        final LoadConfig config = LoadConfig.parse(args.toArray(String[]::new));
        assertEquals(pki.ca(), config.caCert);
        // The channels' TLS context loads the CA, the certificate and the key (a bad file throws here).
        assertDoesNotThrow(() -> new KvClient(config).close());
    }

    private static X509Certificate read(final Path file) throws Exception {
        try (InputStream in = Files.newInputStream(file)) {
            return (X509Certificate)CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
    }
}
