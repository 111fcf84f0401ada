package io.cairn.server.cli;

import io.cairn.embedded.NodeConfig;
import io.cairn.server.CairnMember;
import io.cairn.server.tls.TlsConfig;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: {@code --experimental-corrupt-check-time} takes Go's durations as etcd's flag does, from the command line or
 * the environment, and refuses what is not one; the TLS flags combine as etcd's do. Method: parse flags and compare
 * the member's config.
 */
class MemberFlagsTest {
    private static long corruptCheckMs(final Map<String, String> env, final String... args) {
        return MemberFlags.parse(args, env).node().corruptCheckMs();
    }

    @Test
    void shouldParseGoDurationsForTheCorruptionCheck() {
        assertEquals(NodeConfig.CORRUPT_CHECK_DEFAULT_MS, corruptCheckMs(Map.of()));
        assertEquals(30_000, corruptCheckMs(Map.of(), "--experimental-corrupt-check-time", "30s"));
        assertEquals(5_400_000, corruptCheckMs(Map.of(), "--experimental-corrupt-check-time=1h30m"));
        assertEquals(1_500, corruptCheckMs(Map.of(), "--experimental-corrupt-check-time", "1.5s"));
        assertEquals(250, corruptCheckMs(Map.of(), "--experimental-corrupt-check-time", "250ms"));
        assertEquals(0, corruptCheckMs(Map.of(), "--experimental-corrupt-check-time", "0"));
        assertEquals(120_000, corruptCheckMs(Map.of("CAIRN_EXPERIMENTAL_CORRUPT_CHECK_TIME", "2m")));
        for (final String bad : new String[] {"5", "5x", "m", "1h 30m", "-1s", "30s5"}) {
            assertThrows(IllegalArgumentException.class,
                () -> corruptCheckMs(Map.of(), "--experimental-corrupt-check-time", bad), bad);
        }
        assertEquals(NodeConfig.WATCH_PROGRESS_NOTIFY_DEFAULT_MS,
            MemberFlags.parse(new String[0], Map.of()).node().watchProgressNotifyMs());
        assertEquals(2_000, MemberFlags.parse(new String[] {"--experimental-watch-progress-notify-interval", "2s"},
            Map.of()).node().watchProgressNotifyMs());
        assertThrows(IllegalArgumentException.class, () -> MemberFlags.parse(new String[] {
            "--experimental-watch-progress-notify-interval=0"}, Map.of()));
    }

    @Test
    void shouldTakeTlsFlagsAsEtcdDoes() {
        final CairnMember.Config tls = MemberFlags.parse(new String[] {"--listen-client-urls", "https://127.0.0.1:2379",
            "--cert-file", "c.pem", "--key-file=k.pem", "--trusted-ca-file", "ca.pem", "--client-cert-auth",
            "--cipher-suites", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"},
            Map.of("CAIRN_CLIENT_CRL_FILE", "crl.pem"));
        assertTrue(tls.clientHttps() && tls.gatewayHttps());
        assertEquals(new TlsConfig(Path.of("c.pem"), Path.of("k.pem"), Path.of("ca.pem"), true, Path.of("crl.pem"),
            false, List.of("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256")),
            tls.clientTls());
        assertTrue(MemberFlags.parse(new String[] {"--listen-client-urls", "https://127.0.0.1:2379", "--auto-tls=true"},
            Map.of()).clientTls().autoTls());
        final IllegalArgumentException noCertificate = assertThrows(IllegalArgumentException.class,
            () -> MemberFlags.parse(new String[] {"--listen-client-urls", "https://127.0.0.1:2379"}, Map.of()));
        assertEquals("TLS key/cert (--cert-file, --key-file) must be provided for client url https://127.0.0.1:2379"
            + " with HTTPS scheme", noCertificate.getMessage());
        assertThrows(IllegalArgumentException.class, () -> MemberFlags.parse(new String[] {"--cert-file", "c.pem"},
            Map.of()));
        assertThrows(IllegalArgumentException.class, () -> MemberFlags.parse(new String[] {"--cert-file", "c.pem",
            "--key-file", "k.pem", "--client-cert-auth"}, Map.of()));
        assertThrows(IllegalArgumentException.class, () -> MemberFlags.parse(new String[] {"--auto-tls=yes"},
            Map.of()));
        // http:// with a certificate: plaintext, as etcd (which warns).
        assertFalse(MemberFlags.parse(new String[] {"--cert-file", "c.pem", "--key-file", "k.pem"}, Map.of())
            .clientHttps());
    }

    @Test
    void shouldTakePeerTlsFlagsAsEtcdDoes() {
        final String[] peer = {"--listen-peer-urls", "https://127.0.0.1:2380", "--peer-cert-file", "p.pem",
            "--peer-key-file=pk.pem", "--peer-trusted-ca-file", "pca.pem", "--peer-client-cert-auth"};
        final CairnMember.Config secured = MemberFlags.parse(peer, Map.of("CAIRN_PEER_CRL_FILE", "pcrl.pem"));
        assertTrue(secured.peerSecured());
        assertEquals(new TlsConfig(Path.of("p.pem"), Path.of("pk.pem"), Path.of("pca.pem"), false,
            Path.of("pcrl.pem"), false, List.of()), secured.peerTls());
        assertFalse(secured.clientHttps(), "the client side is separate");
        assertTrue(MemberFlags.parse(new String[] {"--listen-peer-urls", "https://127.0.0.1:2380", "--peer-auto-tls"},
            Map.of()).peerTls().autoTls());
        final IllegalArgumentException noCertificate = assertThrows(IllegalArgumentException.class,
            () -> MemberFlags.parse(new String[] {"--listen-peer-urls", "https://127.0.0.1:2380"}, Map.of()));
        assertEquals("TLS key/cert (--peer-cert-file, --peer-key-file) must be provided for peer url"
            + " https://127.0.0.1:2380 with HTTPS scheme", noCertificate.getMessage());
        assertThrows(IllegalArgumentException.class, () -> MemberFlags.parse(new String[] {"--listen-peer-urls",
            "https://127.0.0.1:2380", "--peer-cert-file", "p.pem"}, Map.of()));
        assertThrows(IllegalArgumentException.class, () -> MemberFlags.parse(new String[] {
            "--peer-client-cert-auth=maybe"}, Map.of()));
        // http:// with a certificate: plaintext peer frames, as etcd (which warns).
        assertFalse(MemberFlags.parse(new String[] {"--peer-cert-file", "p.pem", "--peer-key-file", "pk.pem"},
            Map.of()).peerSecured());
    }
}
