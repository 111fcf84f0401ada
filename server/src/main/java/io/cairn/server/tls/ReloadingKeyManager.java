package io.cairn.server.tls;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;
import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The one certificate and key a listener (or a member's outgoing connection) presents, read from PEM files and read
 * again when either file changes, as etcd does: an operator rotates a certificate by replacing its files, with no
 * restart. Handshakes look at the files' modification times at most once a second; a pair that does not load (a
 * half-written file, a key that does not match) is reported and the previous pair kept. The alias names the pair's
 * generation, so a handshake that chose a pair gets that pair's chain and key even if a reload comes between.
 */
final class ReloadingKeyManager extends X509ExtendedKeyManager {
    private static final System.Logger LOG = System.getLogger(ReloadingKeyManager.class.getName());
    private static final String ALIAS = "cairn-";
    private static final long CHECK_NS = TimeUnit.SECONDS.toNanos(1);

    private final Path certFile;
    private final Path keyFile;
    private volatile Loaded loaded;
    private volatile Loaded previous;

    private record Loaded(int generation, X509Certificate[] chain, PrivateKey key, FileTime certTime,
        FileTime keyTime, long checkedNs) {
        Loaded checked() {
            return new Loaded(generation, chain, key, certTime, keyTime, System.nanoTime());
        }

        String alias() {
            return ALIAS + generation;
        }
    }

    /**
     * @param certFile the certificate chain, leaf first.
     * @param keyFile  its key.
     * @throws IllegalArgumentException if they cannot be read now.
     */
    ReloadingKeyManager(final Path certFile, final Path keyFile) {
        this.certFile = certFile;
        this.keyFile = keyFile;
        this.loaded = load(0);
        this.previous = loaded;
    }

    private Loaded load(final int generation) {
        try {
            final FileTime certTime = Files.getLastModifiedTime(certFile);
            final FileTime keyTime = Files.getLastModifiedTime(keyFile);
            final List<X509Certificate> chain = Certificates.readCertificates(certFile);
            final PrivateKey key = Certificates.readKey(keyFile);
            if (!chain.get(0).getPublicKey().getAlgorithm().equals(key.getAlgorithm())) {
                throw new IllegalArgumentException(keyFile + " holds a " + key.getAlgorithm() + " key but "
                    + certFile + " a " + chain.get(0).getPublicKey().getAlgorithm() + " certificate");
            }
            return new Loaded(generation, chain.toArray(new X509Certificate[0]), key, certTime, keyTime,
                System.nanoTime());
        } catch (final IOException ex) {
            throw new IllegalArgumentException("cannot read " + certFile + " or " + keyFile + ": " + ex, ex);
        }
    }

    private Loaded current() {
        final Loaded now = loaded;
        if (System.nanoTime() - now.checkedNs() < CHECK_NS) {
            return now;
        }
        synchronized (this) {
            if (loaded != now) {
                return loaded;
            }
            try {
                final boolean changed = !Files.getLastModifiedTime(certFile).equals(now.certTime())
                    || !Files.getLastModifiedTime(keyFile).equals(now.keyTime());
                if (changed) {
                    final Loaded next = load(now.generation() + 1);
                    previous = now;
                    loaded = next;
                    LOG.log(System.Logger.Level.INFO, "TLS: reloaded " + certFile + " (subject "
                        + loaded.chain()[0].getSubjectX500Principal() + ", serial "
                        + loaded.chain()[0].getSerialNumber().toString(16) + ")");
                } else {
                    loaded = now.checked();
                }
            } catch (final IOException | IllegalArgumentException ex) {
                LOG.log(System.Logger.Level.WARNING, "TLS: keeping the certificate in use; " + ex.getMessage());
                loaded = now.checked();
            }
            return loaded;
        }
    }

    /**
     * @return the certificate in use (the leaf).
     */
    X509Certificate certificate() {
        return current().chain()[0];
    }

    private String aliasFor(final String keyType) {
        final Loaded pair = current();
        final String algorithm = pair.key().getAlgorithm();
        // The JDK asks for "EC", "RSA", "RSASSA-PSS" (an RSA key signs with PSS in TLS 1.3).
        return keyType == null || keyType.equals(algorithm) || keyType.startsWith(algorithm) ? pair.alias() : null;
    }

    private Loaded byAlias(final String alias) {
        final Loaded now = loaded;
        if (now.alias().equals(alias)) {
            return now;
        }
        final Loaded before = previous;
        return before.alias().equals(alias) ? before : null;
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
        final Loaded pair = byAlias(alias);
        return pair == null ? null : pair.chain().clone();
    }

    @Override
    public PrivateKey getPrivateKey(final String alias) {
        final Loaded pair = byAlias(alias);
        return pair == null ? null : pair.key();
    }
}
