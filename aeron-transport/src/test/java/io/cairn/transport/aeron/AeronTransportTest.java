package io.cairn.transport.aeron;

import io.aeron.ExclusivePublication;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: framed peer messages cross real Aeron UDP on loopback intact, whatever their size; malformed frames are
 * dropped and counted while the node keeps working; a down peer is NOT_CONNECTED and a restarted one reconnects on
 * its own; one flush puts every queued datagram on the wire and one poll takes in every datagram waiting (the driver
 * runs on the caller's thread); a peer that stops reading back-pressures the sender without blocking it; stale
 * driver directories go; a loop that idles on the driver's sockets sleeps (a bounded number of wake-ups) and still
 * takes every message.
 * Method: transports with embedded drivers (run by the test's threads) in one JVM on free loopback ports; every wait
 * is bounded in time.
 */
@Timeout(60)
class AeronTransportTest {
    @AutoClose
    private final TransportHarness harness = new TransportHarness();

    @TempDir
    Path dir;

    /**
     * @return two started transports (ids 1 and 2) with a first message from 1 to 2 sent, so both are connected.
     */
    private AeronTransport[] connectedPair() throws IOException {
        final Map<Integer, String> endpoints = TransportHarness.endpoints(2);
        final AeronTransport a = harness.start(1, endpoints, null);
        final AeronTransport b = harness.start(2, endpoints, null);
        harness.sendUntil(a, 2, new UnsafeBuffer(ByteBuffer.allocateDirect(8)), b);
        return new AeronTransport[] {a, b};
    }

    @Test
    void shouldDeliverFramedMessagesOfEverySizeBetweenThreeNodes() throws IOException {
        final Map<Integer, String> endpoints = TransportHarness.endpoints(3);
        final AeronTransport[] nodes = {harness.start(1, endpoints, null), harness.start(2, endpoints, null),
            harness.start(3, endpoints, null)};
        harness.await("connections", () -> nodes[0].isConnected(2) && nodes[0].isConnected(3)
            && nodes[1].isConnected(1) && nodes[1].isConnected(3) && nodes[2].isConnected(1)
            && nodes[2].isConnected(2));
        final Random random = new Random(7);
        final int[] sizes = {1, 100, 1360, 1361, 5000, 100_000, nodes[0].maxMessageLength()};
        final List<byte[]> sent = new ArrayList<>();
        for (final int size : sizes) {
            final byte[] payload = new byte[size];
            random.nextBytes(payload);
            sent.add(payload);
            final UnsafeBuffer message = new UnsafeBuffer(ByteBuffer.allocateDirect(size));
            message.putBytes(0, payload);
            harness.sendUntil(nodes[0], 2, message);
            harness.sendUntil(nodes[0], 3, message);
        }
        final UnsafeBuffer tooLarge = new UnsafeBuffer(ByteBuffer.allocateDirect(nodes[0].maxMessageLength() + 1));
        assertEquals(AeronTransport.TOO_LARGE, nodes[0].send(2, tooLarge, 0, tooLarge.capacity()));
        assertEquals(AeronTransport.UNKNOWN_PEER, nodes[0].send(9, tooLarge, 0, 1));
        for (int receiver = 1; receiver <= 2; receiver++) {
            final List<byte[]> received = new ArrayList<>();
            final AeronTransport node = nodes[receiver];
            harness.await("messages at node " + (receiver + 1), () -> {
                node.poll(AeronMembers.collector(1, received), 10);
                return received.size() == sizes.length;
            });
            for (int i = 0; i < sizes.length; i++) {
                assertArrayEquals(sent.get(i), received.get(i), "message of " + sizes[i] + " bytes");
            }
            assertEquals(0, node.droppedFrames());
        }
    }

    @Test
    void shouldDropMalformedFramesAndKeepWorking() throws IOException {
        final Map<Integer, String> endpoints = TransportHarness.endpoints(2);
        final AeronTransport a = harness.start(1, endpoints, null);
        final AeronTransport b = harness.start(2, endpoints, null);
        final ExclusivePublication rogue = b.aeron().addExclusivePublication(
            AeronTransportConfig.channel(endpoints.get(1), AeronTransportConfig.MTU_BYTES_DEFAULT),
            AeronTransportConfig.STREAM_ID_DEFAULT);
        harness.await("rogue connection", rogue::isConnected, a);
        final Random random = new Random(11);
        final UnsafeBuffer frame = new UnsafeBuffer(ByteBuffer.allocateDirect(4096));
        final UnsafeBuffer payload = new UnsafeBuffer(ByteBuffer.allocateDirect(64));
        int offered = 0;
        for (int i = 0; i < 200; i++) {
            final int length;
            if (i % 4 == 0) {
                length = random.nextInt(PeerFrame.HEADER_LENGTH);
                frame.setMemory(0, Math.max(length, 1), (byte)random.nextInt());
            } else {
                PeerFrame.writeHeader(new java.util.zip.CRC32C(), frame, 0, 2, payload, 0, 64);
                frame.putBytes(PeerFrame.HEADER_LENGTH, payload, 0, 64);
                length = PeerFrame.HEADER_LENGTH + 64;
                final int at = random.nextInt(length);
                frame.putByte(at, (byte)(frame.getByte(at) ^ (1 + random.nextInt(255))));
            }
            if (length > 0) {
                while (rogue.offer(frame, 0, length) < 0) {
                    a.poll((sender, buffer, offset, l) -> { }, 10);
                    b.invokeDriver();
                }
                offered++;
            }
        }
        final int expected = offered;
        harness.await("malformed frames dropped", () -> a.droppedFrames() == expected, a);
        assertEquals(0, a.framesReceived());
        final UnsafeBuffer good = new UnsafeBuffer(ByteBuffer.allocateDirect(32));
        good.putLong(0, 42);
        harness.sendUntil(b, 1, good);
        final long[] seen = {0};
        harness.await("a valid message after the garbage", () -> {
            a.poll((sender, buffer, offset, length) -> seen[0] = buffer.getLong(offset), 10);
            return seen[0] == 42;
        });
        rogue.close();
    }

    @Test
    void shouldAnswerNotConnectedAndReconnectWhenPeerRestarts() throws IOException {
        final Map<Integer, String> endpoints = TransportHarness.endpoints(2);
        final AeronTransport a = harness.start(1, endpoints, null);
        AeronTransport b = harness.start(2, endpoints, null);
        final UnsafeBuffer message = new UnsafeBuffer(ByteBuffer.allocateDirect(8));
        harness.sendUntil(a, 2, message, b);
        b.close();
        harness.forget(b);
        harness.await("the peer to be seen gone", () -> a.send(2, message, 0, 8) == AeronTransport.NOT_CONNECTED);
        assertTrue(a.notConnected() > 0);
        b = harness.start(2, endpoints, null);
        message.putLong(0, 7);
        harness.sendUntil(a, 2, message, b);
        final AeronTransport restarted = b;
        final long[] seen = {0};
        harness.await("delivery to the restarted peer", () -> {
            restarted.poll((sender, buffer, offset, length) -> seen[0] = buffer.getLong(offset), 10);
            return seen[0] == 7;
        });
    }

    @Test
    void shouldSendAndTakeInEveryQueuedDatagramInOneFlushAndOnePoll() throws Exception {
        final AeronTransport[] pair = connectedPair();
        final AeronTransport a = pair[0];
        final AeronTransport b = pair[1];
        final AtomicLong received = new AtomicLong();
        harness.await("the first message", () -> {
            b.poll((sender, buffer, offset, length) -> received.incrementAndGet(), 10);
            return received.get() == 1;
        });
        // Messages of ~1000 bytes: one datagram each (the MTU holds one), 40 of them queued at once, as a leader's
        // appends queue up while its loop syncs the WAL.
        final int count = 40;
        final UnsafeBuffer message = new UnsafeBuffer(ByteBuffer.allocateDirect(1000));
        for (int i = 0; i < count; i++) {
            assertEquals(AeronTransport.SENT, a.send(2, message, 0, message.capacity()));
        }
        a.flush(); // the only driver run on the sending side: every datagram must be on the wire after it
        Thread.sleep(200); // loopback delivers at once; this only lets the kernel finish
        received.set(0);
        b.poll((sender, buffer, offset, length) -> received.incrementAndGet(), 256);
        assertEquals(count, received.get(), "one poll takes in every datagram the socket holds");
    }

    @Test
    void shouldBackPressureWithoutBlockingWhenPeerStopsReading() throws IOException {
        final AeronTransport a = connectedPair()[0];
        final UnsafeBuffer message = new UnsafeBuffer(ByteBuffer.allocateDirect(60_000));
        final long before = a.backPressured(); // getting connected may already have met back-pressure
        int backPressured = 0;
        for (int i = 0; i < 100_000 && backPressured == 0; i++) {
            final long start = System.nanoTime();
            final int result = a.send(2, message, 0, message.capacity());
            assertTrue(System.nanoTime() - start < 1_000_000_000L, "a send blocked");
            if (result == AeronTransport.BACK_PRESSURED) {
                backPressured++;
            }
        }
        assertTrue(backPressured > 0, "a peer that never reads must back-pressure the sender");
        assertEquals(backPressured, a.backPressured() - before, "every refusal is counted");
    }

    @Test
    void shouldSleepOnTheDriversSocketsAndWakeForEachMessage() throws Exception {
        final AeronTransport[] pair = connectedPair();
        final AeronTransport a = pair[0];
        final AeronTransport b = pair[1];
        final UnsafeBuffer message = new UnsafeBuffer(ByteBuffer.allocateDirect(8));
        harness.await("connections", () -> a.isConnected(2) && b.isConnected(1), b);
        final SocketIdleStrategy idle = (SocketIdleStrategy)b.idleStrategy();
        assertTrue(idle != null, "an embedded driver offers its sockets to sleep on");
        harness.forget(b); // from here on only b's own thread touches it
        final AtomicLong received = new AtomicLong();
        final AgentRunner runner = new AgentRunner(idle, Throwable::printStackTrace, null, new Agent() {
            @Override
            public int doWork() {
                return b.poll((sender, buffer, offset, length) -> received.incrementAndGet(), 10) + b.flush();
            }

            @Override
            public String roleName() {
                return "b";
            }
        });
        AgentRunner.startOnThread(runner);
        try {
            final long received0 = received.get();
            final long waitsBefore = idle.waits();
            Thread.sleep(500);
            final long waits = idle.waits() - waitsBefore;
            // Asleep between timeouts (10 ms by default) and peer heartbeats: nothing like a polling loop's thousands.
            assertTrue(waits < 300, "the idle loop woke " + waits + " times in 500 ms");
            assertTrue(idle.registeredSockets() >= 2, "data and control sockets: " + idle.registeredSockets());
            for (int i = 1; i <= 20; i++) {
                message.putLong(0, i);
                harness.sendUntil(a, 2, message);
                a.flush();
                final long expected = received0 + i;
                harness.await("message " + i + " at the sleeping loop", () -> {
                    a.invokeDriver();
                    return received.get() >= expected;
                });
            }
            assertEquals(0, idle.readyWithoutWork(), "no socket stayed readable without work");
        } finally {
            runner.close();
            b.close();
        }
    }

    @Test
    void shouldDeleteStaleDriverDirectoriesOnly() throws IOException, InterruptedException {
        final File stale = dir.resolve(AeronTransportConfig.DIRECTORY_PREFIX + "9-1").toFile();
        final File other = dir.resolve("someone-else").toFile();
        Files.createDirectories(stale.toPath().resolve("publications"));
        Files.write(stale.toPath().resolve("cnc.dat"), new byte[64]);
        Files.createDirectories(other.toPath());
        assertEquals(0, AeronTransport.cleanStaleDirectories(dir.toFile(), null), "maybe launching right now");
        final long old = System.currentTimeMillis() - AeronTransport.STALE_AFTER_MS - 1_000;
        assertTrue(stale.toPath().resolve("cnc.dat").toFile().setLastModified(old));
        assertTrue(stale.setLastModified(old));
        assertEquals(1, AeronTransport.cleanStaleDirectories(dir.toFile(), null));
        assertFalse(stale.exists());
        assertTrue(other.exists());
        final Map<Integer, String> endpoints = TransportHarness.endpoints(1);
        final AeronTransport live = harness.start(1, endpoints, null);
        final File liveDirectory = new File(live.aeronDirectory());
        AeronTransport.cleanStaleDirectories(liveDirectory.getParentFile(), null);
        assertTrue(liveDirectory.exists(), "a live driver's directory stays");
        // A driver beats only when its member's loop runs it, and an idle loop sleeps: with its heartbeat and files
        // older than the limit, its process, alive, still keeps its directory.
        Thread.sleep(1_500);
        final long older = System.currentTimeMillis() - 5_000;
        assertTrue(new File(liveDirectory, "cnc.dat").setLastModified(older));
        assertTrue(liveDirectory.setLastModified(older));
        AeronTransport.cleanStaleDirectories(liveDirectory.getParentFile(), null, 1_000);
        assertTrue(new File(liveDirectory, "cnc.dat").exists(), "a live but idle driver's directory stays");
    }
}
