package io.cairn.transport.aeron;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLContext;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: two members with trusted peer certificates that name their hosts agree a key each way, and nobody else gets
 * or gives one. Method: self-signed EC certificates made with the JDK's keytool (as an operator may); members 1 and 2
 * on 127.0.0.1 trade keys over real TLS sockets and each side's sending key is the other's receiving key; a member
 * whose certificate nobody trusts, and one whose trusted certificate names another host, are refused and install
 * nothing on either side.
 */
class PeerKeyExchangeTest {
    @TempDir
    Path dir;

    private final Map<String, byte[]> installed = new ConcurrentHashMap<>();

    private PeerKeyExchange.Keys recorder(final int self) {
        return new PeerKeyExchange.Keys() {
            @Override
            public void sending(final int peerId, final int epoch, final byte[] key) {
                installed.put(self + ">" + peerId + "@" + epoch, key);
            }

            @Override
            public void receiving(final int peerId, final int epoch, final byte[] key) {
                installed.put(self + "<" + peerId + "@" + epoch, key);
            }
        };
    }

    private Path certificate(final String name, final String san) throws Exception {
        return PeerCertificates.make(dir, name, san);
    }

    private static SSLContext context(final Path own, final Path... trusted) throws Exception {
        return PeerCertificates.context(own, trusted);
    }

    private static InetSocketAddress loopback(final int port) {
        return new InetSocketAddress("127.0.0.1", port);
    }

    @Test
    void shouldTradeAKeyEachWayBetweenTrustedMembersOnly() throws Exception {
        final Path one = certificate("m1", "ip:127.0.0.1");
        final Path two = certificate("m2", "ip:127.0.0.1");
        final Path stranger = certificate("stranger", "ip:127.0.0.1");
        final Path elsewhere = certificate("elsewhere", "ip:127.0.0.2");
        // Member 2 listens first (port 0: any); member 1 learns its port.
        final PeerKeyExchange second = new PeerKeyExchange(2, loopback(0), Map.of(1, loopback(1)),
            context(two, one, two, elsewhere), recorder(2));
        try (second;
            PeerKeyExchange first = new PeerKeyExchange(1, loopback(0), Map.of(2, loopback(second.port())),
                context(one, one, two), recorder(1))) {
            first.exchangeWith(2);
            assertEquals(4, installed.size(), installed.keySet().toString());
            for (final String sent : installed.keySet().stream().filter(k -> k.contains(">")).toList()) {
                // 1>2@e is the key 2 opens with (2<1@e); 2>1@e the one 1 opens with.
                final String[] parts = sent.split("[>@]");
                assertArrayEquals(installed.get(sent), installed.get(parts[1] + "<" + parts[0] + "@" + parts[2]),
                    sent);
            }
            assertEquals(PeerSeal.KEY_LENGTH, installed.values().iterator().next().length);
            installed.clear();

            // A certificate nobody trusts: the handshake fails, nothing installed on either side.
            try (PeerKeyExchange intruder = new PeerKeyExchange(1, loopback(0), Map.of(2, loopback(second.port())),
                context(stranger, two), recorder(9))) {
                assertThrows(IOException.class, () -> intruder.exchangeWith(2));
            }
            // Trusted, but it names another host than member 1's peer URL: refused after the handshake.
            try (PeerKeyExchange impostor = new PeerKeyExchange(1, loopback(0), Map.of(2, loopback(second.port())),
                context(elsewhere, two), recorder(9))) {
                assertThrows(IOException.class, () -> impostor.exchangeWith(2));
            }
            Thread.sleep(200); // member 2's side finishes refusing
            assertTrue(installed.isEmpty(), installed.keySet().toString());
        }
    }
}
