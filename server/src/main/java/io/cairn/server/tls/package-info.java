/**
 * TLS as etcd's operators configure it: PEM certificates, keys, CAs and CRLs (read with BouncyCastle, reloaded when
 * their files change), self-signed certificates for {@code --auto-tls}, and the contexts the gRPC port, the JSON
 * gateway and member-to-member connections share. The JDK's TLS underneath.
 */
package io.cairn.server.tls;
