package io.cairn.transport.aeron;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.zip.CRC32C;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Goal: a sealed frame opens only at the member it was sealed for, from the peer that holds the key, once, and
 * unchanged; everything else is refused with its reason and leaves the receiver as it was. Method: seal frames of
 * several sizes and open them; then change each header field and payload bit, replay, reorder, use another key or
 * epoch, send a version-1 frame, and check the reason; check that a refused forgery does not stop the next genuine
 * frame, and that the previous key still opens frames in flight after a rotation.
 */
class PeerSealTest {
    private static final SecureRandom RANDOM = new SecureRandom();
    private final byte[] key = key();
    private final PeerSeal.Sender sender = new PeerSeal.Sender(1, 2, 7, key);
    private final PeerSeal.Receiver receiver = new PeerSeal.Receiver(2, 1);
    private final UnsafeBuffer frame = new UnsafeBuffer(new byte[PeerSeal.frameLength(70_000)]);
    private final UnsafeBuffer opened = new UnsafeBuffer(new byte[70_000]);

    PeerSealTest() {
        receiver.install(7, key);
    }

    private static byte[] key() {
        final byte[] key = new byte[PeerSeal.KEY_LENGTH];
        RANDOM.nextBytes(key);
        return key;
    }

    private int seal(final PeerSeal.Sender from, final byte[] payload) {
        return from.seal(new UnsafeBuffer(payload), 0, payload.length, frame, 0);
    }

    private int open(final int length) {
        return receiver.open(frame, 0, length, opened, 0);
    }

    @Test
    void shouldOpenWhatWasSealedForItOnce() {
        for (final int size : new int[] {0, 1, 100, 4096, 65_536}) {
            final byte[] payload = new byte[size];
            RANDOM.nextBytes(payload);
            final int length = seal(sender, payload);
            assertEquals(PeerSeal.frameLength(size), length);
            assertEquals(size, open(length));
            final byte[] copy = new byte[size];
            opened.getBytes(0, copy);
            assertEquals(java.util.Arrays.toString(payload), java.util.Arrays.toString(copy));
            assertEquals(PeerSeal.REPLAYED, open(length), "the same frame again");
        }
    }

    @Test
    void shouldRefuseEveryChangeAndLeaveTheReceiverAsItWas() {
        final byte[] payload = "vote for me, term 999".getBytes(StandardCharsets.UTF_8);
        final int length = seal(sender, payload);
        final byte[] genuine = new byte[length];
        frame.getBytes(0, genuine);
        // Each bit of the payload and the tag, and the fields the receiver does not check by value.
        for (int bit = 8 * PeerSeal.EPOCH_OFFSET; bit < 8 * length; bit++) {
            if (bit >= 8 * PeerSeal.LENGTH_OFFSET && bit < 8 * PeerSeal.HEADER_LENGTH) {
                continue; // the length: BAD_LENGTH, below
            }
            frame.putBytes(0, genuine);
            frame.putByte(bit / 8, (byte)(frame.getByte(bit / 8) ^ (1 << (bit % 8))));
            final int result = open(length);
            final boolean epochOrCounter = bit < 8 * PeerSeal.LENGTH_OFFSET;
            if (bit < 8 * PeerSeal.COUNTER_OFFSET) {
                assertEquals(PeerSeal.UNKNOWN_KEY, result, "bit " + bit);
            } else if (epochOrCounter) {
                // a counter changed upward is new, so only the tag refuses it; downward it is a replay
                assertEquals(true, result == PeerSeal.BAD_TAG || result == PeerSeal.REPLAYED, "bit " + bit);
            } else {
                assertEquals(PeerSeal.BAD_TAG, result, "bit " + bit);
            }
        }
        frame.putBytes(0, genuine);
        frame.putInt(PeerSeal.LENGTH_OFFSET, payload.length + 1, PeerSeal.ORDER);
        assertEquals(PeerSeal.BAD_LENGTH, open(length));
        frame.putBytes(0, genuine);
        frame.putInt(PeerSeal.SENDER_OFFSET, 3, PeerSeal.ORDER);
        assertEquals(PeerSeal.WRONG_ENDPOINTS, open(length));
        frame.putBytes(0, genuine);
        frame.putInt(PeerSeal.RECEIVER_OFFSET, 3, PeerSeal.ORDER);
        assertEquals(PeerSeal.WRONG_ENDPOINTS, open(length));
        assertEquals(PeerSeal.TRUNCATED, open(PeerSeal.HEADER_LENGTH));
        // After all that, the genuine frame still opens: no forgery moved the replay mark.
        frame.putBytes(0, genuine);
        assertEquals(payload.length, open(length));
    }

    @Test
    void shouldRefuseAForgedFrameWithAHighCounter() {
        final PeerSeal.Sender forger = new PeerSeal.Sender(1, 2, 7, key()); // right IDs and epoch, wrong key
        seal(forger, new byte[10]);
        for (int i = 0; i < 100; i++) {
            seal(forger, new byte[10]);
        }
        assertEquals(PeerSeal.BAD_TAG, open(PeerSeal.frameLength(10)));
        assertEquals(10, open(seal(sender, new byte[10])), "the genuine counter 1 after a forged 101");
    }

    @Test
    void shouldRefusePlaintextAndForeignFrames() {
        final UnsafeBuffer payload = new UnsafeBuffer(new byte[40]);
        PeerFrame.writeHeader(new CRC32C(), frame, 0, 1, payload, 0, 40);
        frame.putBytes(PeerFrame.HEADER_LENGTH, payload, 0, 40);
        assertEquals(PeerSeal.NOT_SEALED, open(PeerFrame.HEADER_LENGTH + 40));
        frame.putShort(0, (short)0x1234, PeerSeal.ORDER);
        assertEquals(PeerSeal.FOREIGN, open(PeerFrame.HEADER_LENGTH + 40));
        assertEquals("not_sealed", PeerSeal.reason(PeerSeal.NOT_SEALED));
    }

    @Test
    void shouldOpenFramesOfOlderKeysUntilThePeerSealsUnderOneTwoInstallsNewer() {
        final byte[] inFlight = new byte[PeerSeal.frameLength(5)];
        seal(sender, new byte[5]);
        frame.getBytes(0, inFlight);
        final byte[] second = key();
        final PeerSeal.Sender rotated = new PeerSeal.Sender(1, 2, 8, second);
        receiver.install(8, second);
        assertEquals(5, open(seal(rotated, new byte[5])));
        frame.putBytes(0, inFlight);
        assertEquals(5, open(inFlight.length), "sealed under epoch 7 before the rotation");
        final byte[] third = key();
        receiver.install(9, third);
        // Two exchanges overlapped: the sender may still seal under 7 while 9 waits to be used.
        final byte[] stillSeven = new byte[PeerSeal.frameLength(5)];
        seal(sender, new byte[5]);
        frame.getBytes(0, stillSeven);
        assertEquals(5, open(stillSeven.length), "epoch 7 is kept while the peer has not used 9");
        assertEquals(5, open(seal(new PeerSeal.Sender(1, 2, 9, third), new byte[5])));
        seal(sender, new byte[5]);
        assertEquals(PeerSeal.UNKNOWN_KEY, open(inFlight.length), "epoch 7 goes once the peer sealed under 9");
        assertEquals(5, open(seal(rotated, new byte[5])), "epoch 8 stays, for frames still in flight");
        assertEquals(9, receiver.epoch());
        assertThrows(IllegalArgumentException.class, () -> receiver.install(10, new byte[16]));
    }

    @Test
    void shouldHoldAtMostFourKeysUnused() {
        for (int epoch = 8; epoch <= 11; epoch++) {
            receiver.install(epoch, key());
        }
        assertEquals(PeerSeal.UNKNOWN_KEY, open(seal(sender, new byte[5])), "the oldest of five went");
        assertEquals(11, receiver.epoch());
    }
}
