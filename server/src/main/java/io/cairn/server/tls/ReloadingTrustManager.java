package io.cairn.server.tls;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import java.io.IOException;
import java.net.Socket;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Trusts the certificates that chain to the CAs of a PEM file ({@code --trusted-ca-file}) and, for client
 * certificates, are not revoked by the CRLs of another ({@code --client-crl-file}); both files are read again when
 * they change (checked at most once a second), as etcd reads them per connection. Chains are checked by the JDK's PKIX
 * trust manager (host names too, where the connection asks for it); the CRL check is etcd's: a certificate of the
 * presented chain whose serial a CRL of its issuer lists is refused.
 */
final class ReloadingTrustManager extends X509ExtendedTrustManager {
    private static final System.Logger LOG = System.getLogger(ReloadingTrustManager.class.getName());
    private static final long REJECTION_LOG_NS = TimeUnit.SECONDS.toNanos(1);

    private final ReloadingFiles<Loaded> files;
    private long lastRejectionLogNs = System.nanoTime() - REJECTION_LOG_NS;
    private long rejectionsUntold;

    private record Loaded(X509ExtendedTrustManager trust, List<X509CRL> crls) {
    }

    /**
     * @param caFile  the trusted CAs.
     * @param crlFile revoked certificates, or null.
     * @throws IllegalArgumentException if they cannot be read now.
     */
    ReloadingTrustManager(final Path caFile, final Path crlFile) {
        this(java.util.Collections.singletonList(caFile), java.util.Collections.singletonList(crlFile));
    }

    /**
     * Trusts the CAs of several files (a member's client port also trusts other members' peer CAs), with the CRLs of
     * several.
     *
     * @param caFiles  the trusted CAs (null entries skipped).
     * @param crlFiles revoked certificates (null entries skipped).
     * @throws IllegalArgumentException if they cannot be read now.
     */
    ReloadingTrustManager(final List<Path> caFiles, final List<Path> crlFiles) {
        final List<Path> cas = caFiles.stream().filter(java.util.Objects::nonNull).toList();
        final List<Path> crls = crlFiles.stream().filter(java.util.Objects::nonNull).toList();
        final List<Path> all = new java.util.ArrayList<>(cas);
        all.addAll(crls);
        this.files = new ReloadingFiles<>("the trusted CAs and CRLs", all, () -> load(cas, crls));
    }

    private static Loaded load(final List<Path> caFiles, final List<Path> crlFiles) {
        try {
            final KeyStore anchors = KeyStore.getInstance(KeyStore.getDefaultType());
            anchors.load(null, null);
            int i = 0;
            for (final Path caFile : caFiles) {
                for (final X509Certificate ca : Certificates.readCertificates(caFile)) {
                    anchors.setCertificateEntry("ca-" + i++, ca);
                }
            }
            final List<X509CRL> crls = new java.util.ArrayList<>();
            for (final Path crlFile : crlFiles) {
                crls.addAll(Certificates.readCrls(crlFile));
            }
            final TrustManagerFactory factory = TrustManagerFactory.getInstance("PKIX");
            factory.init(anchors);
            for (final TrustManager manager : factory.getTrustManagers()) {
                if (manager instanceof X509ExtendedTrustManager extended) {
                    return new Loaded(extended, List.copyOf(crls));
                }
            }
            throw new IllegalStateException("the JDK's PKIX trust manager is missing");
        } catch (final IOException | GeneralSecurityException ex) {
            throw new IllegalArgumentException("cannot read " + caFiles + (crlFiles.isEmpty() ? "" : " or "
                + crlFiles) + ": " + ex, ex);
        }
    }

    private Loaded current() {
        return files.current().value();
    }

    private static void checkRevoked(final X509Certificate[] chain, final List<X509CRL> crls)
        throws CertificateException {
        for (final X509Certificate certificate : chain) {
            for (final X509CRL crl : crls) {
                if (crl.getIssuerX500Principal().equals(certificate.getIssuerX500Principal())
                    && crl.isRevoked(certificate)) {
                    throw new CertificateException("certificate " + certificate.getSubjectX500Principal()
                        + " (serial " + certificate.getSerialNumber().toString(16) + ") was revoked");
                }
            }
        }
    }

    @Override
    public void checkClientTrusted(final X509Certificate[] chain, final String authType, final Socket socket)
        throws CertificateException {
        checkClient(chain, socket == null ? null : socket.getRemoteSocketAddress(),
            trust -> trust.checkClientTrusted(chain, authType, socket));
    }

    @Override
    public void checkClientTrusted(final X509Certificate[] chain, final String authType, final SSLEngine engine)
        throws CertificateException {
        checkClient(chain, engine == null || engine.getPeerHost() == null ? null
            : engine.getPeerHost() + ":" + engine.getPeerPort(), trust -> trust.checkClientTrusted(chain, authType,
                engine));
    }

    /** One of the JDK's checks of a client's chain, whichever connection type it is for. */
    private interface ChainCheck {
        void check(X509ExtendedTrustManager trust) throws CertificateException;
    }

    /** The JDK's chain check, then the CRLs; a refusal is logged (rate-limited) and thrown on. */
    private void checkClient(final X509Certificate[] chain, final Object from, final ChainCheck chainCheck)
        throws CertificateException {
        final Loaded now = current();
        try {
            chainCheck.check(now.trust());
            checkRevoked(chain, now.crls());
        } catch (final CertificateException ex) {
            throw rejected(chain, from, ex);
        }
    }

    @Override
    public void checkClientTrusted(final X509Certificate[] chain, final String authType)
        throws CertificateException {
        checkClientTrusted(chain, authType, (Socket)null);
    }

    /**
     * Tells the operator why a client's certificate was refused, as etcd logs "rejected connection from ...": at most
     * one line a second (a misconfigured client retries fast), with the number left untold since.
     */
    private synchronized CertificateException rejected(final X509Certificate[] chain, final Object from,
        final CertificateException why) {
        final long now = System.nanoTime();
        if (now - lastRejectionLogNs >= REJECTION_LOG_NS) {
            final long untold = rejectionsUntold;
            rejectionsUntold = 0;
            lastRejectionLogNs = now;
            // gRPC's server engines do not know the peer's address: then the line has none.
            LOG.log(System.Logger.Level.WARNING, "TLS: rejected connection" + (from == null ? "" : " from " + from)
                + " (certificate "
                + (chain == null || chain.length == 0 ? "none" : chain[0].getSubjectX500Principal()) + ": "
                + why.getMessage() + ")" + (untold == 0 ? "" : "; " + untold + " more rejected before it, not told"));
        } else {
            rejectionsUntold++;
        }
        return why;
    }

    @Override
    public void checkServerTrusted(final X509Certificate[] chain, final String authType, final Socket socket)
        throws CertificateException {
        current().trust().checkServerTrusted(chain, authType, socket);
    }

    @Override
    public void checkServerTrusted(final X509Certificate[] chain, final String authType, final SSLEngine engine)
        throws CertificateException {
        current().trust().checkServerTrusted(chain, authType, engine);
    }

    @Override
    public void checkServerTrusted(final X509Certificate[] chain, final String authType)
        throws CertificateException {
        current().trust().checkServerTrusted(chain, authType);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return current().trust().getAcceptedIssuers();
    }
}
