package io.cairn.server.tls;

import java.nio.file.Path;
import java.util.List;

/**
 * What an operator configures for one side's TLS, as etcd names it: for clients {@code --cert-file},
 * {@code --key-file}, {@code --trusted-ca-file}, {@code --client-cert-auth}, {@code --client-crl-file},
 * {@code --auto-tls} and {@code --cipher-suites}.
 *
 * @param certFile       the server's certificate (PEM; a chain, leaf first), or null.
 * @param keyFile        its private key (PEM), or null.
 * @param trustedCaFile  the CAs client certificates must chain to (PEM), or null.
 * @param clientCertAuth true: a client must present a certificate that chains to {@code trustedCaFile}.
 * @param crlFile        certificates revoked (PEM CRLs), checked on each client certificate, or null.
 * @param autoTls        true: with no certificate given, use a self-signed one made (once) in the data directory.
 * @param cipherSuites   the TLS 1.2 cipher suites allowed (IANA names, as Go and the JDK use); empty: the JDK's.
 */
public record TlsConfig(Path certFile, Path keyFile, Path trustedCaFile, boolean clientCertAuth, Path crlFile,
    boolean autoTls, List<String> cipherSuites) {
    /** No TLS configured. */
    public static final TlsConfig NONE = new TlsConfig(null, null, null, false, null, false, List.of());

    /**
     * Checks that the flags make sense together.
     */
    public TlsConfig {
        cipherSuites = List.copyOf(cipherSuites);
        if ((certFile == null) != (keyFile == null)) {
            throw new IllegalArgumentException("--cert-file and --key-file go together: both or neither");
        }
        if (clientCertAuth && trustedCaFile == null) {
            throw new IllegalArgumentException("--client-cert-auth needs --trusted-ca-file (the CAs client"
                + " certificates must chain to)");
        }
    }

    /**
     * @return true when a certificate is given or made: the listener can serve TLS.
     */
    public boolean canServe() {
        return certFile != null || autoTls;
    }
}
