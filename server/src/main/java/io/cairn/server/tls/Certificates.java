package io.cairn.server.tls;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509CRLHolder;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.X509v2CRLBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CRLConverter;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;

import java.io.IOException;
import java.io.Reader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Certificates and keys as etcd's operators hand them over — PEM files: certificates (a chain, leaf first), private
 * keys in PKCS#8, PKCS#1 ({@code RSA PRIVATE KEY}) or SEC 1 ({@code EC PRIVATE KEY}) form, CRLs — read and written
 * with BouncyCastle; and new ones issued, for {@code --auto-tls} (self-signed, as etcd makes them: ECDSA P-256, one
 * year, the listen hosts as subject alternative names) and for tests (a CA and what it signs).
 */
public final class Certificates {
    private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");
    private static final SecureRandom RANDOM = new SecureRandom();

    /**
     * A certificate with its private key.
     *
     * @param certificate the certificate.
     * @param key         its private key.
     */
    public record Issued(X509Certificate certificate, PrivateKey key) {
        /**
         * Writes the certificate and the key as PEM files (the key readable by its owner only).
         *
         * @param certFile where the certificate goes.
         * @param keyFile  where the key goes.
         * @throws IOException if they cannot be written.
         */
        public void write(final Path certFile, final Path keyFile) throws IOException {
            writePem(keyFile, List.of(key), true);
            writePem(certFile, List.of(certificate), false);
        }
    }

    private Certificates() {
    }

    /**
     * Issues a certificate: ECDSA P-256, serial random, usable by servers and clients (or a CA).
     *
     * @param commonName its subject's CN (with client certificate authentication, etcd's user name).
     * @param hosts      subject alternative names: IP addresses and DNS names (may be empty).
     * @param ca         true: a certificate authority (signs others; no host names needed).
     * @param issuer     who signs it; null for self-signed.
     * @param validity   how long from now it is valid (it is valid from an hour ago, against clock skew).
     * @return the certificate and its key.
     */
    public static Issued issue(final String commonName, final List<String> hosts, final boolean ca,
        final Issued issuer, final Duration validity) {
        try {
            final KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
            final KeyPair pair = generator.generateKeyPair();
            final X500Name subject = new X500Name("CN=" + commonName.replace(",", "\\,") + ",O=cairn");
            final X500Name issuerName = issuer == null ? subject
                : X500Name.getInstance(issuer.certificate().getSubjectX500Principal().getEncoded());
            final Instant now = Instant.now();
            final JcaX509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(issuerName,
                new BigInteger(127, RANDOM), Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(validity)),
                subject, pair.getPublic());
            final JcaX509ExtensionUtils utilities = new JcaX509ExtensionUtils();
            builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
            builder.addExtension(Extension.subjectKeyIdentifier, false,
                utilities.createSubjectKeyIdentifier(pair.getPublic()));
            if (issuer != null) {
                builder.addExtension(Extension.authorityKeyIdentifier, false,
                    utilities.createAuthorityKeyIdentifier(issuer.certificate()));
            }
            if (ca) {
                builder.addExtension(Extension.keyUsage, true,
                    new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign | KeyUsage.digitalSignature));
            } else {
                builder.addExtension(Extension.keyUsage, true,
                    new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
                builder.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(
                    new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
            }
            if (!hosts.isEmpty()) {
                final GeneralName[] names = new GeneralName[hosts.size()];
                for (int i = 0; i < names.length; i++) {
                    final String host = hosts.get(i);
                    names[i] = IPV4.matcher(host).matches() || host.contains(":")
                        ? new GeneralName(GeneralName.iPAddress, host) : new GeneralName(GeneralName.dNSName, host);
                }
                builder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names));
            }
            final PrivateKey signingKey = issuer == null ? pair.getPrivate() : issuer.key();
            final X509Certificate certificate = new JcaX509CertificateConverter()
                .getCertificate(builder.build(signer(signingKey)));
            return new Issued(certificate, pair.getPrivate());
        } catch (final GeneralSecurityException | IOException | OperatorCreationException ex) {
            throw new IllegalStateException("cannot issue a certificate for " + commonName + ": " + ex, ex);
        }
    }

    /**
     * A CRL from a CA: the serials it revokes as of now.
     *
     * @param ca       the CA.
     * @param revoked  certificates it revokes.
     * @return the CRL.
     */
    public static X509CRL revoke(final Issued ca, final List<X509Certificate> revoked) {
        try {
            final Instant now = Instant.now();
            final X509v2CRLBuilder builder = new X509v2CRLBuilder(
                X500Name.getInstance(ca.certificate().getSubjectX500Principal().getEncoded()), Date.from(now));
            builder.setNextUpdate(Date.from(now.plus(Duration.ofDays(30))));
            for (final X509Certificate certificate : revoked) {
                builder.addCRLEntry(certificate.getSerialNumber(), Date.from(now), 0);
            }
            final X509CRLHolder holder = builder.build(signer(ca.key()));
            return new JcaX509CRLConverter().getCRL(holder);
        } catch (final GeneralSecurityException | OperatorCreationException ex) {
            throw new IllegalStateException("cannot sign a CRL: " + ex, ex);
        }
    }

    private static ContentSigner signer(final PrivateKey key) throws OperatorCreationException {
        return new JcaContentSignerBuilder("EC".equals(key.getAlgorithm()) ? "SHA256withECDSA" : "SHA256withRSA")
            .build(key);
    }

    /**
     * @param file a PEM file of certificates (other blocks are skipped).
     * @return its certificates, in file order.
     * @throws IllegalArgumentException if it cannot be read or holds none.
     */
    public static List<X509Certificate> readCertificates(final Path file) {
        return readAll(file, X509CertificateHolder.class, new JcaX509CertificateConverter()::getCertificate,
            "certificate", "CERTIFICATE");
    }

    /**
     * @param file a PEM file of CRLs.
     * @return its CRLs.
     * @throws IllegalArgumentException if it cannot be read or holds none.
     */
    public static List<X509CRL> readCrls(final Path file) {
        return readAll(file, X509CRLHolder.class, new JcaX509CRLConverter()::getCRL, "CRL", "X509 CRL");
    }

    /** Turns a PEM block BouncyCastle parsed into the JDK's object. */
    private interface Converter<H, T> {
        T convert(H holder) throws GeneralSecurityException;
    }

    /** Every block of one kind in a PEM file, in order, as the JDK's objects; at least one. */
    private static <H, T> List<T> readAll(final Path file, final Class<H> kind, final Converter<H, T> converter,
        final String what, final String pemType) {
        final List<T> all = new ArrayList<>();
        try {
            for (final Object block : readPem(file)) {
                if (kind.isInstance(block)) {
                    all.add(converter.convert(kind.cast(block)));
                }
            }
        } catch (final GeneralSecurityException ex) {
            throw new IllegalArgumentException(file + ": not a valid " + what + ": " + ex.getMessage(), ex);
        }
        if (all.isEmpty()) {
            throw new IllegalArgumentException(file + ": no " + what + " (a PEM block " + pemType + ") in it");
        }
        return all;
    }

    /**
     * @param file a PEM file holding one private key (PKCS#8, PKCS#1 or SEC 1; not encrypted).
     * @return the key.
     * @throws IllegalArgumentException if it cannot be read, holds no key or an encrypted one.
     */
    public static PrivateKey readKey(final Path file) {
        final JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
        try {
            for (final Object block : readPem(file)) {
                if (block instanceof PEMKeyPair pair) {
                    return converter.getPrivateKey(pair.getPrivateKeyInfo()); // SEC 1 may omit the public key
                }
                if (block instanceof PrivateKeyInfo info) {
                    return converter.getPrivateKey(info);
                }
                if (block instanceof PEMEncryptedKeyPair || block instanceof PKCS8EncryptedPrivateKeyInfo) {
                    throw new IllegalArgumentException(file + ": the private key is encrypted (etcd takes"
                        + " unencrypted keys only)");
                }
                // anything else (EC PARAMETERS precede the key in some files) is skipped
            }
        } catch (final IOException ex) {
            throw new IllegalArgumentException(file + ": not a valid private key: " + ex.getMessage(), ex);
        }
        throw new IllegalArgumentException(file + ": no private key (a PEM block PRIVATE KEY) in it");
    }

    /**
     * @param file a PEM public key ({@code PUBLIC KEY}), a certificate (its key), or a key pair (its public half).
     * @return the public key.
     * @throws IllegalArgumentException if it holds none.
     */
    public static java.security.PublicKey readPublicKey(final Path file) {
        final JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
        try {
            for (final Object block : readPem(file)) {
                if (block instanceof org.bouncycastle.asn1.x509.SubjectPublicKeyInfo info) {
                    return converter.getPublicKey(info);
                }
                if (block instanceof PEMKeyPair pair && pair.getPublicKeyInfo() != null) {
                    return converter.getPublicKey(pair.getPublicKeyInfo());
                }
                if (block instanceof X509CertificateHolder holder) {
                    return converter.getPublicKey(holder.getSubjectPublicKeyInfo());
                }
            }
        } catch (final IOException ex) {
            throw new IllegalArgumentException(file + ": not a valid public key: " + ex.getMessage(), ex);
        }
        throw new IllegalArgumentException(file + ": no public key (a PEM block PUBLIC KEY) in it");
    }

    private static List<Object> readPem(final Path file) {
        final List<Object> blocks = new ArrayList<>();
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.US_ASCII);
            PEMParser parser = new PEMParser(reader)) {
            for (Object block = parser.readObject(); block != null; block = parser.readObject()) {
                blocks.add(block);
            }
        } catch (final IOException ex) {
            throw new IllegalArgumentException(file + ": cannot read it: " + ex.getMessage(), ex);
        }
        return blocks;
    }

    /**
     * Writes objects (certificates, keys, CRLs) as PEM, atomically (a temporary file renamed over the old one, so a
     * reader never sees half of it).
     *
     * @param file    the file.
     * @param objects what goes in it.
     * @param secret  true: readable by its owner only.
     * @throws IOException if it cannot be written.
     */
    public static void writePem(final Path file, final List<?> objects, final boolean secret) throws IOException {
        final StringWriter text = new StringWriter();
        try (JcaPEMWriter writer = new JcaPEMWriter(text)) {
            for (final Object object : objects) {
                // Keys as PKCS#8 ("PRIVATE KEY"): a JDK EC key written as SEC 1 would lose its curve.
                writer.writeObject(object instanceof PrivateKey key ? new JcaPKCS8Generator(key, null) : object);
            }
        }
        final Path parent = file.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        final Path temporary = Files.createTempFile(parent, file.getFileName().toString(), ".tmp");
        try {
            if (secret) {
                Files.setPosixFilePermissions(temporary, PosixFilePermissions.fromString("rw-------"));
            }
            Files.writeString(temporary, text.toString(), StandardCharsets.US_ASCII);
            Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (final IOException | UncheckedIOException ex) {
            Files.deleteIfExists(temporary);
            throw ex;
        }
    }
}
