package io.cairn.server.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.MACVerifier;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.crypto.factories.DefaultJWSVerifierFactory;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.cairn.server.tls.Certificates;

import java.io.IOException;
import java.nio.file.Files;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.spec.RSAPublicKeySpec;
import java.text.ParseException;
import java.util.Date;

/**
 * etcd's JWT tokens ({@code --auth-token jwt,...}): signed by the member that authenticated the user with the
 * configured key and algorithm, checked by any member with the public key (or the HMAC secret), never stored. Claims
 * as etcd's: {@code username}, {@code revision} (the auth revision at issue: any later auth change makes the token's
 * writes "revision of auth store is old", as in etcd) and {@code exp}. A token with another algorithm, another key,
 * past its expiry, or without the two claims is invalid. Nimbus JOSE+JWT signs and verifies.
 */
final class JwtTokens {
    private final AuthConfig.Jwt config;
    private final JWSAlgorithm algorithm;
    private final JWSSigner signer;
    private final JWSVerifier verifier;

    JwtTokens(final AuthConfig.Jwt config) {
        this.config = config;
        this.algorithm = JWSAlgorithm.parse(config.signMethod());
        try {
            if (JWSAlgorithm.Family.HMAC_SHA.contains(algorithm)) {
                // etcd's HS* takes the secret from priv-key's file.
                final byte[] secret = Files.readAllBytes(config.privateKey() != null ? config.privateKey()
                    : config.publicKey());
                this.signer = config.privateKey() == null ? null : new MACSigner(secret);
                this.verifier = new MACVerifier(secret);
            } else {
                final PrivateKey privateKey = config.privateKey() == null ? null
                    : Certificates.readKey(config.privateKey());
                final PublicKey publicKey = config.publicKey() != null ? Certificates.readPublicKey(config.publicKey())
                    : publicOf(privateKey);
                this.signer = privateKey == null ? null : signerFor(privateKey);
                this.verifier = new DefaultJWSVerifierFactory().createJWSVerifier(new JWSHeader(algorithm),
                    publicKey);
            }
        } catch (final JOSEException | IOException | java.security.GeneralSecurityException ex) {
            throw new IllegalArgumentException("--auth-token jwt: " + ex.getMessage(), ex);
        }
    }

    /**
     * @param method a {@code sign-method}.
     * @return true when it names a JWS algorithm etcd accepts.
     */
    static boolean known(final String method) {
        return JWSAlgorithm.Family.SIGNATURE.contains(JWSAlgorithm.parse(method))
            || JWSAlgorithm.Family.HMAC_SHA.contains(JWSAlgorithm.parse(method));
    }

    private JWSSigner signerFor(final PrivateKey key) throws JOSEException {
        if (key instanceof java.security.interfaces.RSAPrivateKey) {
            return new RSASSASigner(key);
        }
        if (key instanceof java.security.interfaces.ECPrivateKey ec) {
            return new ECDSASigner(ec);
        }
        throw new JOSEException("a " + key.getAlgorithm() + " key cannot sign " + algorithm);
    }

    /** The public half of an RSA key (its CRT form holds it); an EC key's public point is not derived here. */
    private static PublicKey publicOf(final PrivateKey key) throws java.security.GeneralSecurityException {
        if (key instanceof RSAPrivateCrtKey rsa) {
            return KeyFactory.getInstance("RSA").generatePublic(new RSAPublicKeySpec(rsa.getModulus(),
                rsa.getPublicExponent()));
        }
        throw new java.security.InvalidKeyException("give pub-key= for a " + key.getAlgorithm() + " key");
    }

    /**
     * @param state the state at issue.
     * @param name  the user.
     * @return a signed token.
     */
    String issue(final AuthState state, final String name) {
        if (signer == null) {
            throw io.grpc.Status.UNKNOWN.withDescription("auth: token signing attempted with verify-only key")
                .asRuntimeException();
        }
        final JWTClaimsSet claims = new JWTClaimsSet.Builder().claim("username", name)
            .claim("revision", state.revision())
            .expirationTime(new Date(System.currentTimeMillis() + config.ttl().toMillis())).build();
        final SignedJWT token = new SignedJWT(new JWSHeader(algorithm), claims);
        try {
            token.sign(signer);
        } catch (final JOSEException ex) {
            throw new IllegalStateException("JWT signing failed: " + ex.getMessage(), ex);
        }
        return token.serialize();
    }

    /**
     * @param token what the client sent.
     * @return who it names and at which auth revision, or null when it is not valid now.
     */
    AuthStore.Caller verify(final String token) {
        try {
            final SignedJWT parsed = SignedJWT.parse(token);
            if (!algorithm.equals(parsed.getHeader().getAlgorithm()) || !parsed.verify(verifier)) {
                return null;
            }
            final JWTClaimsSet claims = parsed.getJWTClaimsSet();
            final Date expires = claims.getExpirationTime();
            final Object name = claims.getClaim("username");
            final Object revision = claims.getClaim("revision");
            if (expires == null || expires.getTime() <= System.currentTimeMillis() || !(name instanceof String user)
                || !(revision instanceof Number number)) {
                return null;
            }
            return new AuthStore.Caller(user, number.longValue());
        } catch (final ParseException | JOSEException ex) {
            return null;
        }
    }
}
