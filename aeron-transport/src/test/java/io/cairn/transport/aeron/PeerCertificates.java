package io.cairn.transport.aeron;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Peer certificates for tests, made as an operator might: self-signed EC keys from the JDK's keytool, each in a
 * PKCS#12 store, and TLS contexts that present one and trust a chosen few.
 */
final class PeerCertificates {
    private static final char[] PASSWORD = "changeit".toCharArray();

    private PeerCertificates() {
    }

    /**
     * @param dir  where the store goes.
     * @param name its CN and file name.
     * @param san  keytool's subject alternative name, e.g. {@code ip:127.0.0.1}.
     * @return the PKCS#12 store.
     * @throws Exception if keytool fails.
     */
    static Path make(final Path dir, final String name, final String san) throws Exception {
        final Path store = dir.resolve(name + ".p12");
        final List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin",
            "keytool").toString()));
        command.addAll(Arrays.asList("-genkeypair", "-alias", name, "-keyalg", "EC", "-groupname", "secp256r1",
            "-dname", "CN=" + name, "-ext", "san=" + san, "-validity", "2", "-keystore", store.toString(),
            "-storetype", "PKCS12", "-storepass", "changeit"));
        final Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        final String out = new String(process.getInputStream().readAllBytes());
        assertEquals(0, process.waitFor(), out);
        return store;
    }

    /**
     * @param own     the store whose key and certificate this side presents.
     * @param trusted stores whose certificates it trusts.
     * @return the context.
     * @throws Exception if a store cannot be read.
     */
    static SSLContext context(final Path own, final Path... trusted) throws Exception {
        final KeyStore keys = load(own);
        final KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        for (final Path store : trusted) {
            final KeyStore other = load(store);
            final String alias = other.aliases().nextElement();
            trust.setCertificateEntry(alias, other.getCertificate(alias));
        }
        final KeyManagerFactory keyManagers = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        keyManagers.init(keys, PASSWORD);
        final TrustManagerFactory trustManagers =
            TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trustManagers.init(trust);
        final SSLContext context = SSLContext.getInstance("TLS");
        context.init(keyManagers.getKeyManagers(), trustManagers.getTrustManagers(), null);
        return context;
    }

    private static KeyStore load(final Path path) throws Exception {
        final KeyStore store = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(path)) {
            store.load(in, PASSWORD);
        }
        return store;
    }
}
