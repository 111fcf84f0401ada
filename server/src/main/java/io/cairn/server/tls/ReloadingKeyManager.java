package io.cairn.server.tls;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;
import java.net.Socket;
import java.nio.file.Path;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;

/**
 * The one certificate and key a listener (or a member's outgoing connection) presents, read from PEM files and read
 * again when either file changes, as etcd does: an operator rotates a certificate by replacing its files, with no
 * restart. Handshakes look at the files' modification times at most once a second; a pair that does not load (a
 * half-written file, a key that does not match) is reported and the previous pair kept. The alias names the pair's
 * generation, so a handshake that chose a pair gets that pair's chain and key even if a reload comes between.
 */
final class ReloadingKeyManager extends X509ExtendedKeyManager {
    private static final String ALIAS = "cairn-";

    private final ReloadingFiles<Pair> files;
    private ReloadingFiles.Generation<Pair> latest;
    private ReloadingFiles.Generation<Pair> previous;

    private record Pair(X509Certificate[] chain, PrivateKey key) {
    }

    /**
     * @param certFile the certificate chain, leaf first.
     * @param keyFile  its key.
     * @throws IllegalArgumentException if they cannot be read now.
     */
    ReloadingKeyManager(final Path certFile, final Path keyFile) {
        this.files = new ReloadingFiles<>("the certificate", List.of(certFile, keyFile), () -> load(certFile, keyFile));
        this.latest = files.current();
        this.previous = latest;
    }

    private static Pair load(final Path certFile, final Path keyFile) {
        final List<X509Certificate> chain = Certificates.readCertificates(certFile);
        final PrivateKey key = Certificates.readKey(keyFile);
        if (!chain.get(0).getPublicKey().getAlgorithm().equals(key.getAlgorithm())) {
            throw new IllegalArgumentException(keyFile + " holds a " + key.getAlgorithm() + " key but " + certFile
                + " a " + chain.get(0).getPublicKey().getAlgorithm() + " certificate");
        }
        return new Pair(chain.toArray(new X509Certificate[0]), key);
    }

    /** The pair in use; the one before it stays reachable by its alias for a handshake that chose it. */
    private synchronized ReloadingFiles.Generation<Pair> current() {
        final ReloadingFiles.Generation<Pair> now = files.current();
        if (now != latest) {
            previous = latest;
            latest = now;
        }
        return now;
    }

    /**
     * @return the certificate in use (the leaf).
     */
    X509Certificate certificate() {
        return current().value().chain()[0];
    }

    private String aliasFor(final String keyType) {
        final ReloadingFiles.Generation<Pair> pair = current();
        final String algorithm = pair.value().key().getAlgorithm();
        // The JDK asks for "EC", "RSA", "RSASSA-PSS" (an RSA key signs with PSS in TLS 1.3).
        return keyType == null || keyType.equals(algorithm) || keyType.startsWith(algorithm)
            ? ALIAS + pair.generation() : null;
    }

    private synchronized Pair byAlias(final String alias) {
        for (final ReloadingFiles.Generation<Pair> pair : List.of(latest, previous)) {
            if ((ALIAS + pair.generation()).equals(alias)) {
                return pair.value();
            }
        }
        return null;
    }

    @Override
    public String[] getClientAliases(final String keyType, final Principal[] issuers) {
        final String alias = aliasFor(keyType);
        return alias == null ? null : new String[] {alias};
    }

    @Override
    public String chooseClientAlias(final String[] keyTypes, final Principal[] issuers, final Socket socket) {
        for (final String keyType : keyTypes) {
            final String alias = aliasFor(keyType);
            if (alias != null) {
                return alias;
            }
        }
        return null;
    }

    @Override
    public String chooseEngineClientAlias(final String[] keyTypes, final Principal[] issuers,
        final SSLEngine engine) {
        return chooseClientAlias(keyTypes, issuers, null);
    }

    @Override
    public String[] getServerAliases(final String keyType, final Principal[] issuers) {
        final String alias = aliasFor(keyType);
        return alias == null ? null : new String[] {alias};
    }

    @Override
    public String chooseServerAlias(final String keyType, final Principal[] issuers, final Socket socket) {
        return aliasFor(keyType);
    }

    @Override
    public String chooseEngineServerAlias(final String keyType, final Principal[] issuers, final SSLEngine engine) {
        return aliasFor(keyType);
    }

    @Override
    public X509Certificate[] getCertificateChain(final String alias) {
        final Pair pair = byAlias(alias);
        return pair == null ? null : pair.chain().clone();
    }

    @Override
    public PrivateKey getPrivateKey(final String alias) {
        final Pair pair = byAlias(alias);
        return pair == null ? null : pair.key();
    }
}
