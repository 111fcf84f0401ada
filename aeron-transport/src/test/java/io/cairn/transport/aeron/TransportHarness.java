package io.cairn.transport.aeron;

import org.agrona.concurrent.UnsafeBuffer;

import javax.net.ssl.SSLContext;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Transports of one test, their embedded drivers run by the test's own thread (INVOKER: every wait runs all of
 * them), closed with the test ({@code @AutoClose}). Every wait is bounded (20 s).
 */
final class TransportHarness implements AutoCloseable {
    private static final long WAIT_NS = 20_000_000_000L;
    private final List<AeronTransport> started = new ArrayList<>();

    /**
     * @param count members.
     * @return IDs 1..count → a free loopback {@code host:port} each.
     * @throws IOException if no port is free.
     */
    static Map<Integer, String> endpoints(final int count) throws IOException {
        final Map<Integer, String> endpoints = new HashMap<>();
        for (int id = 1; id <= count; id++) {
            endpoints.put(id, "127.0.0.1:" + AeronMembers.freePort());
        }
        return endpoints;
    }

    /**
     * @param id        the member.
     * @param endpoints every member's endpoint.
     * @param tls       its peer TLS context (sealed frames), or null for plaintext.
     * @return the started transport, closed with the harness.
     */
    AeronTransport start(final int id, final Map<Integer, String> endpoints, final SSLContext tls) {
        final Map<Integer, String> peers = new HashMap<>(endpoints);
        final String own = peers.remove(id);
        final AeronTransport transport = AeronTransport.launch(AeronTransportConfig.of(id, own, peers)
            .withPeerTls(tls));
        started.add(transport);
        return transport;
    }

    /**
     * @param transport one the test closes, or drives from another thread, itself from now on.
     */
    void forget(final AeronTransport transport) {
        started.remove(transport);
    }

    /** Runs every driver once. */
    void runDrivers() {
        for (final AeronTransport transport : started) {
            transport.invokeDriver();
        }
    }

    /**
     * Runs the drivers (and polls {@code pollers}, dropping what they read; that installs agreed keys too) until the
     * condition holds.
     */
    void await(final String what, final BooleanSupplier condition, final AeronTransport... pollers) {
        final long deadline = System.nanoTime() + WAIT_NS;
        while (!condition.getAsBoolean()) {
            runDrivers();
            for (final AeronTransport poller : pollers) {
                poller.poll((sender, buffer, offset, length) -> { }, 10);
            }
            assertTrue(System.nanoTime() < deadline, "timed out waiting for " + what);
            Thread.onSpinWait();
        }
    }

    /** Sends the whole buffer until it is SENT, running the drivers (and polling {@code pollers}) in between. */
    int sendUntil(final AeronTransport from, final int to, final UnsafeBuffer message,
        final AeronTransport... pollers) {
        final int[] result = new int[1];
        await("a send to " + to + " to be taken",
            () -> (result[0] = from.send(to, message, 0, message.capacity())) == AeronTransport.SENT, pollers);
        return result[0];
    }

    @Override
    public void close() {
        for (final AeronTransport transport : started) {
            transport.close();
        }
    }
}
