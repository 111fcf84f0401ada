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

    @Test
    void shouldKnowEveryFlagOfEtcdsHelp() throws Exception {
        // The real etcd 3.4 (./test installs Debian's etcd-server) lists its flags; each must be one of Cairn's.
        final Process etcd;
        try {
            etcd = new ProcessBuilder("etcd", "--help").redirectErrorStream(true).start();
        } catch (final java.io.IOException ex) {
            org.junit.jupiter.api.Assumptions.abort("etcd is not installed here: " + ex.getMessage());
            return;
        }
        final String help = new String(etcd.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        etcd.waitFor();
        final java.util.regex.Matcher flag = java.util.regex.Pattern.compile("(?m)^  --([a-z0-9-]+)").matcher(help);
        int count = 0;
        while (flag.find()) {
            final String name = flag.group(1);
            assertTrue(EtcdFlags.FLAGS.stream().anyMatch(known -> known.name().equals(name)), "--" + name);
            count++;
        }
        assertTrue(count >= 80, "flags in etcd --help: " + count);
    }

    @Test
    void shouldTakeEtcdsVariablesAndLimitsAndWarnOrRefuseAsTheFlagSays() {
        final CairnMember.Config config = MemberFlags.parse(new String[] {"--heartbeat-interval", "50",
            "-election-timeout=600", "--snapshot-count", "500"}, Map.of("ETCD_NAME", "m1", "ETCD_QUOTA_BACKEND_BYTES",
            "1048576", "ETCD_MAX_TXN_OPS", "16", "ETCD_MAX_REQUEST_BYTES", "65536", "ETCD_SNAPSHOT_COUNT", "9",
            "ETCD_INITIAL_CLUSTER", "m1=http://127.0.0.1:2380"));
        assertEquals("m1", config.name());
        assertEquals(500, config.node().snapshotCount(), "a flag shadows its variable");
        assertEquals(new NodeConfig.Limits(50, 600, 1 << 20, 65536, 16), config.node().limits());
        assertEquals(12, config.node().limits().electionTicks());
        assertEquals(CairnMember.GrpcSettings.DEFAULTS, config.grpc());
        assertEquals(new CairnMember.GrpcSettings(100, 1_000, 0, 5_000), MemberFlags.parse(new String[] {
            "--max-concurrent-streams", "100", "--grpc-keepalive-min-time=1s", "--grpc-keepalive-interval=0",
            "--grpc-keepalive-timeout", "5s"}, Map.of()).grpc());
        assertEquals(NodeConfig.Limits.DEFAULTS, MemberFlags.parse(new String[0], Map.of()).node().limits());
        final IllegalArgumentException election = assertThrows(IllegalArgumentException.class,
            () -> MemberFlags.parse(new String[] {"--election-timeout", "300"}, Map.of()));
        assertEquals("--election-timeout[300ms] should be at least as 5 times as --heartbeat-interval[100ms]",
            election.getMessage());
        assertEquals(10 << 20, MemberFlags.parse(new String[] {"--max-request-bytes", "10485760"}, Map.of()).node()
            .limits().requestBytesMax());
        assertEquals((10 << 20) + (512 << 10), MemberFlags.parse(new String[] {"--max-request-bytes", "10485760"},
            Map.of()).node().limits().grpcMessageBytesMax());
        assertThrows(IllegalArgumentException.class, () -> MemberFlags.parse(new String[] {"--max-request-bytes",
            "10485761"}, Map.of()));
        final List<String> warnings = new java.util.ArrayList<>();
        EtcdFlags.read(new String[] {"--max-wals", "2", "--max-snapshots=5", "--pre-vote"}, Map.of("ETCD_NOPE", "1"),
            warnings);
        assertEquals(3, warnings.size(), warnings.toString());
        assertTrue(warnings.get(0).startsWith("unrecognized environment variable ETCD_NOPE"), warnings.toString());
        assertTrue(warnings.stream().anyMatch(line -> line.startsWith("--max-wals=2 is accepted and ignored")));
        assertTrue(warnings.stream().anyMatch(line -> line.startsWith("--pre-vote=true is accepted and ignored")));
        final IllegalArgumentException refused = assertThrows(IllegalArgumentException.class,
            () -> MemberFlags.parse(new String[] {"--force-new-cluster"}, Map.of()));
        assertTrue(refused.getMessage().startsWith("--force-new-cluster=true is not supported by Cairn"),
            refused.getMessage());
        assertThrows(IllegalArgumentException.class, () -> MemberFlags.parse(new String[] {"--no-such-flag", "1"},
            Map.of()));
    }

    @Test
    void shouldReadEtcdsConfigFileAndIgnoreEverythingElse(@org.junit.jupiter.api.io.TempDir final Path dir)
        throws Exception {
        final Path file = dir.resolve("etcd.conf.yml");
        java.nio.file.Files.writeString(file, String.join("\n",
            "name: 'infra0'",
            "data-dir: " + dir.resolve("data"),
            "snapshot-count: 10000",
            "heartbeat-interval: 200",
            "election-timeout: 2000",
            "quota-backend-bytes: 4294967296",
            "listen-peer-urls: https://127.0.0.1:2380",
            "listen-client-urls: https://127.0.0.1:2379",
            "initial-cluster: infra0=https://127.0.0.1:2380",
            "initial-cluster-state: 'new'",
            "strict-reconfig-check: true",
            "enable-v2: false",
            "log-outputs: [stderr]",
            "client-transport-security:",
            "  cert-file: c.pem",
            "  key-file: k.pem",
            "  client-cert-auth: true",
            "  trusted-ca-file: ca.pem",
            "peer-transport-security:",
            "  cert-file: p.pem",
            "  key-file: pk.pem",
            "  client-cert-auth: true",
            "  trusted-ca-file: pca.pem",
            "  crl-file: pcrl.pem",
            ""));
        final CairnMember.Config config = MemberFlags.parse(new String[] {"--config-file", file.toString(),
            "--name", "ignored"}, Map.of("ETCD_NAME", "ignored-too"));
        assertEquals("infra0", config.name());
        assertEquals(10_000, config.node().snapshotCount());
        assertEquals(new NodeConfig.Limits(200, 2000, 4L << 30, NodeConfig.Limits.DEFAULTS.requestBytesMax(),
            NodeConfig.Limits.DEFAULTS.txnOpsMax()), config.node().limits());
        assertEquals(new TlsConfig(Path.of("c.pem"), Path.of("k.pem"), Path.of("ca.pem"), true, null, false,
            List.of()), config.clientTls());
        assertEquals(new TlsConfig(Path.of("p.pem"), Path.of("pk.pem"), Path.of("pca.pem"), false,
            Path.of("pcrl.pem"), false, List.of()), config.peerTls());
        java.nio.file.Files.writeString(file, "name: [unclosed");
        assertThrows(IllegalArgumentException.class, () -> MemberFlags.parse(new String[] {"--config-file",
            file.toString()}, Map.of()));
    }

    @Test
    void shouldListenWhereToldAndPublishWhatIsAdvertised() {
        final CairnMember.Config config = MemberFlags.parse(new String[] {"--listen-client-urls",
            "http://0.0.0.0:2379,http://127.0.0.1:12379", "--advertise-client-urls", "http://10.0.0.5:2379"},
            Map.of());
        assertEquals(List.of("http://0.0.0.0:2379", "http://127.0.0.1:12379"), config.listenUrls());
        assertEquals("http://10.0.0.5:2379", config.node().clientUrl());
        final IllegalArgumentException wildcard = assertThrows(IllegalArgumentException.class,
            () -> MemberFlags.parse(new String[] {"--listen-client-urls", "http://0.0.0.0:2379"}, Map.of()));
        assertTrue(wildcard.getMessage().startsWith("--advertise-client-urls is required"), wildcard.getMessage());
        assertThrows(IllegalArgumentException.class, () -> MemberFlags.parse(new String[] {"--listen-client-urls",
            "http://127.0.0.1:2379,https://127.0.0.1:2378", "--cert-file", "c.pem", "--key-file", "k.pem"},
            Map.of()));
    }

    @Test
    void shouldListenForPeersWhereToldAndBeKnownByTheAdvertisedUrl() {
        final CairnMember.Config pod = MemberFlags.parse(new String[] {"--name", "a",
            "--listen-peer-urls", "http://0.0.0.0:2380", "--initial-advertise-peer-urls", "http://10.0.0.7:2380",
            "--listen-client-urls", "http://0.0.0.0:2379", "--advertise-client-urls", "http://10.0.0.7:2379",
            "--initial-cluster", "a=http://10.0.0.7:2380,b=http://10.0.0.8:2380"}, Map.of());
        assertEquals("0.0.0.0:2380", pod.node().peerListenEndpoint());
        assertEquals("10.0.0.7:2380", pod.node().self().peerEndpoint());
        assertEquals("http://10.0.0.7:2379", pod.node().clientUrl());
        // Without an advertised URL the listen URL is the member's peer URL, and 0.0.0.0 cannot be one.
        assertEquals("127.0.0.1:2380", MemberFlags.parse(new String[0], Map.of()).node().peerListenEndpoint());
        final IllegalArgumentException wildcard = assertThrows(IllegalArgumentException.class,
            () -> MemberFlags.parse(new String[] {"--listen-peer-urls", "http://0.0.0.0:2380"}, Map.of()));
        assertTrue(wildcard.getMessage().contains("--initial-advertise-peer-urls is required"), wildcard.getMessage());
        // The advertised URL must be the one --initial-cluster gives this member, as etcd checks.
        final IllegalArgumentException mismatch = assertThrows(IllegalArgumentException.class,
            () -> MemberFlags.parse(new String[] {"--name", "a", "--initial-advertise-peer-urls",
                "http://10.0.0.9:2380", "--initial-cluster", "a=http://10.0.0.7:2380"}, Map.of()));
        assertTrue(mismatch.getMessage().contains("--initial-advertise-peer-urls is http://10.0.0.9:2380"),
            mismatch.getMessage());
    }
}
