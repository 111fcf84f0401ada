package io.cairn.server.tls;

import io.grpc.netty.GrpcSslContexts;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.IdentityCipherSuiteFilter;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;

import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManager;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * One side's TLS, built once from its flags ({@link TlsConfig}) and shared by everything that side listens or
 * connects with: the gRPC port (Netty), the JSON gateway (the JDK's HTTPS server) and a member's connections to other
 * members' client ports (forwarding to the leader), which present the same certificate — with client certificate
 * authentication the leader asks for one. Certificates, keys, CAs and CRLs are read again when their files change.
 * All of it is the JDK's TLS (Netty's JDK provider): no native library to ship, and the JDK's TLS 1.3.
 */
public final class TlsContexts {
    private static final System.Logger LOG = System.getLogger(TlsContexts.class.getName());
    /** etcd's auto TLS certificates: one year. */
    private static final Duration AUTO_TLS_VALIDITY = Duration.ofDays(365);

    private final TlsConfig config;
    private final ReloadingKeyManager keys;
    private final ReloadingTrustManager trust;
    private final boolean selfSigned;
    private final SslContext grpcServer;
    private final SslContext grpcClient;
    private final SSLContext jdk;

    private TlsContexts(final TlsConfig config, final ReloadingKeyManager keys, final boolean selfSigned) {
        this.config = config;
        this.keys = keys;
        this.trust = config.trustedCaFile() == null ? null
            : new ReloadingTrustManager(config.trustedCaFile(), config.crlFile());
        this.selfSigned = selfSigned;
        checkCipherSuites(config.cipherSuites());
        try {
            this.grpcServer = restrict(clientPort(SslContextBuilder.forServer(keys)).trustManager(trust)
                .clientAuth(config.clientCertAuth() ? ClientAuth.REQUIRE : ClientAuth.NONE)).build();
            final SslContextBuilder client = GrpcSslContexts.configure(SslContextBuilder.forClient(), SslProvider.JDK)
                .keyManager(keys);
            if (trust != null) {
                client.trustManager(trust);
            } else if (selfSigned) {
                // etcd's auto TLS does not verify the other side (InsecureSkipVerify): it encrypts, no more.
                client.trustManager(InsecureTrustManagerFactory.INSTANCE);
            }
            this.grpcClient = restrict(client).build();
            this.jdk = SSLContext.getInstance("TLS");
            // A self-signed certificate of --auto-tls trusts whatever the other side presents (etcd's
            // InsecureSkipVerify); otherwise the trusted CAs, or the JDK's own without --trusted-ca-file.
            jdk.init(new KeyManager[] {keys}, trust != null ? new TrustManager[] {trust}
                : selfSigned ? InsecureTrustManagerFactory.INSTANCE.getTrustManagers() : null, null);
        } catch (final SSLException | GeneralSecurityException ex) {
            throw new IllegalArgumentException("TLS: " + ex.getMessage(), ex);
        }
    }

    /**
     * @param config  the flags.
     * @param autoDir where {@code --auto-tls} keeps its certificate ({@code <data-dir>/fixtures/client}, as etcd).
     * @param hosts   the hosts a self-signed certificate names (the listen URLs' hosts).
     * @return the contexts, or null when the flags give no certificate.
     * @throws IllegalArgumentException if a file cannot be read or a flag is wrong.
     */
    public static TlsContexts open(final TlsConfig config, final Path autoDir, final List<String> hosts) {
        if (config.certFile() != null) {
            if (config.autoTls()) {
                LOG.log(System.Logger.Level.WARNING, "TLS: --auto-tls is ignored: --cert-file is given");
            }
            return new TlsContexts(config, new ReloadingKeyManager(config.certFile(), config.keyFile()), false);
        }
        if (!config.autoTls()) {
            return null;
        }
        final Path cert = autoDir.resolve("cert.pem");
        final Path key = autoDir.resolve("key.pem");
        try {
            if (!usable(cert, key)) {
                final Set<String> names = new LinkedHashSet<>(hosts);
                names.add("127.0.0.1");
                names.add("localhost");
                names.removeIf(host -> host.isEmpty() || "0.0.0.0".equals(host) || "::".equals(host));
                Certificates.issue("cairn", new ArrayList<>(names), false, null, AUTO_TLS_VALIDITY).write(cert, key);
                LOG.log(System.Logger.Level.INFO, "TLS: made a self-signed certificate for " + names + " in "
                    + autoDir);
            }
        } catch (final IOException ex) {
            throw new IllegalArgumentException("--auto-tls: cannot write " + autoDir + ": " + ex.getMessage(), ex);
        }
        return new TlsContexts(config, new ReloadingKeyManager(cert, key), true);
    }

    private static boolean usable(final Path cert, final Path key) {
        if (!Files.exists(cert) || !Files.exists(key)) {
            return false;
        }
        try {
            final X509Certificate certificate = Certificates.readCertificates(cert).get(0);
            Certificates.readKey(key);
            return certificate.getNotAfter().toInstant().isAfter(Instant.now().plus(Duration.ofDays(1)));
        } catch (final IllegalArgumentException ex) {
            LOG.log(System.Logger.Level.WARNING, "TLS: making a new self-signed certificate: " + ex.getMessage());
            return false;
        }
    }

    private static void checkCipherSuites(final List<String> suites) {
        if (suites.isEmpty()) {
            return;
        }
        final List<String> supported;
        try {
            supported = Arrays.asList(SSLContext.getDefault().getSupportedSSLParameters().getCipherSuites());
        } catch (final GeneralSecurityException ex) {
            throw new IllegalStateException("the JDK has no TLS", ex);
        }
        for (final String suite : suites) {
            if (!supported.contains(suite)) {
                throw new IllegalArgumentException("unexpected TLS cipher suite \"" + suite + "\" (--cipher-suites)");
            }
        }
    }

    /** {@code --cipher-suites} applies to TLS 1.2 only (as in Go, TLS 1.3's are fixed): with it, only TLS 1.2. */
    /**
     * The client port's TLS: gRPC's settings (HTTP/2's cipher suites), and ALPN offering {@code http/1.1} before
     * {@code h2}, in that order of preference: gRPC clients offer {@code h2} alone and get it, HTTP clients (curl)
     * offer both and get HTTP/1.1, which the JSON gateway speaks ({@code ClientPortProtocols}).
     */
    private static SslContextBuilder clientPort(final SslContextBuilder server) {
        return GrpcSslContexts.configure(server, SslProvider.JDK).applicationProtocolConfig(
            new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, ApplicationProtocolNames.HTTP_1_1,
                ApplicationProtocolNames.HTTP_2));
    }

    private SslContextBuilder restrict(final SslContextBuilder builder) {
        if (!config.cipherSuites().isEmpty()) {
            builder.ciphers(config.cipherSuites(), IdentityCipherSuiteFilter.INSTANCE).protocols("TLSv1.2");
        }
        return builder;
    }

    /**
     * @return the client port's TLS (gRPC and HTTP/1.1, chosen by ALPN).
     */
    public SslContext grpcServer() {
        return grpcServer;
    }

    /**
     * @return TLS for this member's connections to other members' client ports.
     */
    public SslContext grpcClient() {
        return grpcClient;
    }

    /**
     * The client port's TLS when members also have peer certificates: client certificates may chain to the client
     * CAs or to the peer CAs (other members forward to this port with their peer certificates, as etcd's members
     * talk to each other with theirs).
     *
     * @param peer the peer side's contexts.
     * @return the gRPC server's TLS.
     */
    public SslContext grpcServerAlsoTrusting(final TlsContexts peer) {
        if (!config.clientCertAuth() || peer.config.trustedCaFile() == null) {
            return grpcServer;
        }
        final ReloadingTrustManager both = new ReloadingTrustManager(
            Arrays.asList(config.trustedCaFile(), peer.config.trustedCaFile()),
            Arrays.asList(config.crlFile(), peer.config.crlFile()));
        try {
            return restrict(clientPort(SslContextBuilder.forServer(keys)).trustManager(both)
                .clientAuth(ClientAuth.REQUIRE)).build();
        } catch (final SSLException ex) {
            throw new IllegalArgumentException("TLS: " + ex.getMessage(), ex);
        }
    }

    /**
     * TLS for this member's connections to other members' client ports when it has a peer certificate: it presents
     * that one, and trusts servers whose certificates chain to the client CAs or the peer CAs.
     *
     * @param peer the peer side's contexts.
     * @return the gRPC client's TLS.
     */
    public SslContext memberClient(final TlsContexts peer) {
        final SslContextBuilder client = GrpcSslContexts.configure(SslContextBuilder.forClient(), SslProvider.JDK)
            .keyManager(peer.keys);
        if (trust != null || peer.trust != null) {
            client.trustManager(new ReloadingTrustManager(
                Arrays.asList(config.trustedCaFile(), peer.config.trustedCaFile()), List.of()));
        } else if (selfSigned || peer.selfSigned) {
            client.trustManager(InsecureTrustManagerFactory.INSTANCE);
        }
        try {
            return restrict(client).build();
        } catch (final SSLException ex) {
            throw new IllegalArgumentException("TLS: " + ex.getMessage(), ex);
        }
    }

    /**
     * TLS from a proxy toward the cluster's client ports ({@code cairn grpc-proxy}'s {@code --cert}, {@code --key},
     * {@code --cacert}, {@code --insecure-skip-tls-verify}); files are read again when they change.
     *
     * @param cert     the proxy's client certificate, or null.
     * @param key      its key, or null.
     * @param ca       the CAs the members' certificates must chain to, or null (the JDK's).
     * @param insecure trust any certificate the members present (testing only, as etcd says).
     * @return the gRPC client's TLS.
     */
    public static SslContext clusterClient(final Path cert, final Path key, final Path ca, final boolean insecure) {
        if ((cert == null) != (key == null)) {
            throw new IllegalArgumentException("--cert and --key go together: both or neither");
        }
        final SslContextBuilder client = GrpcSslContexts.configure(SslContextBuilder.forClient(), SslProvider.JDK);
        if (cert != null) {
            client.keyManager(new ReloadingKeyManager(cert, key));
        }
        if (insecure) {
            client.trustManager(InsecureTrustManagerFactory.INSTANCE);
        } else if (ca != null) {
            client.trustManager(new ReloadingTrustManager(ca, null));
        }
        try {
            return client.build();
        } catch (final SSLException ex) {
            throw new IllegalArgumentException("TLS: " + ex.getMessage(), ex);
        }
    }

    /**
     * @return the JDK's context (the JSON gateway's HTTPS server; a member's peer key exchange).
     */
    public SSLContext jdk() {
        return jdk;
    }

    /**
     * @param defaults the server's default parameters.
     * @return them with client certificates required (or not) and the cipher suites restricted.
     */
    public SSLParameters httpsParameters(final SSLParameters defaults) {
        defaults.setNeedClientAuth(config.clientCertAuth());
        if (!config.cipherSuites().isEmpty()) {
            defaults.setCipherSuites(config.cipherSuites().toArray(new String[0]));
            defaults.setProtocols(new String[] {"TLSv1.2"});
        }
        return defaults;
    }

    /**
     * @return true for a self-signed certificate of {@code --auto-tls}.
     */
    public boolean selfSigned() {
        return selfSigned;
    }

    /**
     * @return the certificate presented now.
     */
    public X509Certificate certificate() {
        return keys.certificate();
    }
}
