package io.cairn.transport.aeron;

import io.aeron.ExclusivePublication;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.zip.CRC32C;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: with peer certificates every frame is sealed, and a frame nobody holding the key made never reaches the
 * handler. Method: transports with keytool-made certificates on free loopback ports, keys agreed over real TLS by the
 * transports' own threads, frames over real Aeron UDP; the test's thread runs the drivers; every wait is bounded.
 * Checked: messages of every size cross intact once keys are agreed (and a send before that is NOT_CONNECTED, never
 * plaintext); a rogue publication's well-formed plaintext frames, sealed frames under a guessed key (with the
 * epoch and counter a sniffer sees), frames naming a stranger, and truncated or foreign ones are refused and counted
 * by reason, and never delivered; a stream of numbered messages loses none while keys are renewed mid-stream (the
 * new sending key waits until the peer holds it); a member whose certificate nobody trusts never gets a key, so
 * neither sends nor is heard.
 */
@Timeout(90)
class SealedTransportTest {
    @AutoClose
    private final TransportHarness harness = new TransportHarness();

    @TempDir
    Path dir;

    @Test
    void shouldDeliverSealedMessagesOfEverySizeAndRefuseWhatNobodyWithTheKeySealed() throws Exception {
        final Path one = PeerCertificates.make(dir, "m1", "ip:127.0.0.1");
        final Path two = PeerCertificates.make(dir, "m2", "ip:127.0.0.1");
        final Map<Integer, String> endpoints = TransportHarness.endpoints(2);
        final UnsafeBuffer message = new UnsafeBuffer(ByteBuffer.allocateDirect(8));
        final AeronTransport a = harness.start(1, endpoints, PeerCertificates.context(one, one, two));
        assertTrue(a.sealed());
        assertEquals(AeronTransport.NOT_CONNECTED, a.send(2, message, 0, 8), "no key yet: nothing is sent");
        final AeronTransport b = harness.start(2, endpoints, PeerCertificates.context(two, one, two));
        harness.await("keys both ways", () -> a.hasKeyFor(2) && b.hasKeyFor(1), a, b);

        final Random random = new Random(5);
        final int[] sizes = {1, 100, 1340, 1341, 5000, 100_000, a.maxMessageLength()};
        final List<byte[]> sent = new ArrayList<>();
        for (final int size : sizes) {
            final byte[] payload = new byte[size];
            random.nextBytes(payload);
            sent.add(payload);
            final UnsafeBuffer buffer = new UnsafeBuffer(ByteBuffer.allocateDirect(size));
            buffer.putBytes(0, payload);
            harness.sendUntil(a, 2, buffer);
        }
        final List<byte[]> received = new ArrayList<>();
        harness.await("sealed messages", () -> {
            b.poll(AeronMembers.collector(1, received), 10);
            return received.size() == sizes.length;
        });
        for (int i = 0; i < sizes.length; i++) {
            assertArrayEquals(sent.get(i), received.get(i), "message of " + sizes[i] + " bytes");
        }
        final long validBefore = b.framesReceived();

        // A rogue on the path: it has seen sealed frames (so it knows the epoch and counter) but not the key.
        final ExclusivePublication rogue = a.aeron().addExclusivePublication(
            AeronTransportConfig.channel(endpoints.get(2), AeronTransportConfig.MTU_BYTES_DEFAULT),
            AeronTransportConfig.STREAM_ID_DEFAULT);
        harness.await("rogue connection", rogue::isConnected);
        final UnsafeBuffer frame = new UnsafeBuffer(ByteBuffer.allocateDirect(4096));
        final UnsafeBuffer payload = new UnsafeBuffer(ByteBuffer.allocateDirect(64));
        payload.setMemory(0, 64, (byte)7);
        // 1. A well-formed plaintext (version 1) frame from member 1: a vote, an append, whatever consensus reads.
        PeerFrame.writeHeader(new CRC32C(), frame, 0, 1, payload, 0, 64);
        frame.putBytes(PeerFrame.HEADER_LENGTH, payload, 0, 64);
        offer(rogue, frame, PeerFrame.HEADER_LENGTH + 64);
        // 2. Sealed under a key of its own, naming the real epoch: the tag fails.
        final int length = forged(frame, payload, b);
        offer(rogue, frame, length);
        // 3. The same from a member ID nobody knows.
        frame.putInt(PeerSeal.SENDER_OFFSET, 77, PeerSeal.ORDER);
        offer(rogue, frame, length);
        // 4. Too short, and not Cairn's.
        offer(rogue, frame, 10);
        frame.putShort(0, (short)0x1234, PeerSeal.ORDER);
        offer(rogue, frame, length);
        harness.await("five refusals", () -> {
            b.poll((sender, buffer, offset, l) -> { }, 10);
            return b.droppedFrames() >= 5;
        });
        assertEquals(validBefore, b.framesReceived(), "nothing forged was delivered");
        assertEquals(1, b.rejectedFrames(PeerSeal.NOT_SEALED));
        assertEquals(1, b.rejectedFrames(PeerSeal.BAD_TAG));
        assertEquals(1, b.rejectedFrames(AeronTransport.REJECTED_UNKNOWN_SENDER));
        assertEquals(1, b.rejectedFrames(PeerSeal.TRUNCATED));
        assertEquals(1, b.rejectedFrames(PeerSeal.FOREIGN));
        rogue.close();

        // Still working after the garbage.
        message.putLong(0, 42);
        harness.sendUntil(a, 2, message);
        final long[] seen = {0};
        harness.await("a valid message after the forgeries", () -> {
            b.poll((sender, buffer, offset, l) -> seen[0] = buffer.getLong(offset), 10);
            return seen[0] == 42;
        });
    }

    /** A sealed frame from member 1 to {@code receiver} under a random key, at the epoch it really uses. */
    private static int forged(final UnsafeBuffer frame, final UnsafeBuffer payload, final AeronTransport receiver) {
        final byte[] key = new byte[PeerSeal.KEY_LENGTH];
        new Random(1).nextBytes(key);
        final int epoch = receiver.receivingEpoch(1);
        final PeerSeal.Sender forger = new PeerSeal.Sender(1, 2, epoch, key);
        for (int i = 0; i < 1000; i++) {
            forger.seal(payload, 0, 64, frame, 0); // a counter well above any the real sender used yet
        }
        return forger.seal(payload, 0, 64, frame, 0);
    }

    private void offer(final ExclusivePublication publication, final UnsafeBuffer frame, final int length) {
        harness.await("a rogue offer", () -> publication.offer(frame, 0, length) > 0);
    }

    @Test
    void shouldLoseNoMessageWhileKeysAreRenewedAndGiveNoKeyToAnUntrustedMember() throws Exception {
        final Path one = PeerCertificates.make(dir, "m1", "ip:127.0.0.1");
        final Path two = PeerCertificates.make(dir, "m2", "ip:127.0.0.1");
        final Path stranger = PeerCertificates.make(dir, "stranger", "ip:127.0.0.1");
        final Map<Integer, String> endpoints = TransportHarness.endpoints(3);
        final AeronTransport a = harness.start(1, endpoints, PeerCertificates.context(one, one, two));
        final AeronTransport b = harness.start(2, endpoints, PeerCertificates.context(two, one, two));
        final AeronTransport c = harness.start(3, endpoints, PeerCertificates.context(stranger, one, two, stranger));
        harness.await("keys between the trusted two", () -> a.hasKeyFor(2) && b.hasKeyFor(1), a, b, c);

        final UnsafeBuffer message = new UnsafeBuffer(ByteBuffer.allocateDirect(8));
        final List<Long> received = new ArrayList<>();
        final int firstEpoch = a.sendingEpoch(2);
        long switchedAt = -1;
        long next = 0;
        final long deadline = System.nanoTime() + 30_000_000_000L;
        // Numbered messages before the renewal, through the time both sides hold both keys, past the switch.
        while (switchedAt < 0 || next < switchedAt + 500) {
            assertTrue(System.nanoTime() < deadline, "the sender never switched to its new key");
            if (next == 500) {
                a.renewKeys(2);
            }
            message.putLong(0, next);
            harness.sendUntil(a, 2, message);
            next++;
            a.poll((sender, buffer, offset, length) -> { }, 10);
            b.poll((sender, buffer, offset, length) -> received.add(buffer.getLong(offset)), 10);
            if (switchedAt < 0 && a.sendingEpoch(2) != firstEpoch) {
                switchedAt = next;
            }
            Thread.sleep(1);
        }
        final long count = next;
        harness.await("every numbered message", () -> {
            b.poll((sender, buffer, offset, length) -> received.add(buffer.getLong(offset)), 10);
            return received.size() >= count;
        });
        for (int i = 0; i < count; i++) {
            assertEquals(i, received.get(i), "message " + i);
        }
        assertEquals(a.sendingEpoch(2), b.receivingEpoch(1), "the receiver opens the new key");
        assertEquals(0, b.droppedFrames(), "no frame refused across the rotation");

        // The stranger trusts everyone, but nobody trusts it: it gets no key, sends nothing, is heard by nobody.
        assertFalse(c.hasKeyFor(1));
        assertFalse(c.hasKeyFor(2));
        assertEquals(AeronTransport.NOT_CONNECTED, c.send(1, message, 0, 8));
        assertFalse(a.hasKeyFor(3));
    }
}
