package io.cairn.transport.aeron;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.Random;
import java.util.zip.CRC32C;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/**
 * Goal: the frame check accepts exactly the frames that were written and rejects every mutation of them and random
 * bytes, without ever throwing; heap and off-heap buffers agree. Method: seeded fuzzing of real frames.
 */
class PeerFrameTest {
    @Test
    void shouldRejectEveryMutationAndRandomBytesWithoutThrowing() {
        final Random random = new Random(3);
        final CRC32C crc = new CRC32C();
        final UnsafeBuffer direct = new UnsafeBuffer(ByteBuffer.allocateDirect(4096));
        final UnsafeBuffer heap = new UnsafeBuffer(new byte[4096]);
        for (int round = 0; round < 20_000; round++) {
            final int payloadLength = random.nextInt(200);
            final int length = PeerFrame.HEADER_LENGTH + payloadLength;
            for (int i = PeerFrame.HEADER_LENGTH; i < length; i++) {
                direct.putByte(i, (byte)random.nextInt());
            }
            PeerFrame.writeHeader(crc, direct, 0, 1 + random.nextInt(5), direct, PeerFrame.HEADER_LENGTH,
                payloadLength);
            heap.putBytes(0, direct, 0, length);
            assertEquals(PeerFrame.VALID, PeerFrame.check(crc, direct, 0, length));
            assertEquals(PeerFrame.VALID, PeerFrame.check(crc, heap, 0, length));
            final int at = random.nextInt(length);
            direct.putByte(at, (byte)(direct.getByte(at) ^ (1 << random.nextInt(8))));
            assertNotEquals(PeerFrame.VALID, PeerFrame.check(crc, direct, 0, length), "flip at " + at);
            assertNotEquals(PeerFrame.VALID, PeerFrame.check(crc, direct, 0, length - 1 - random.nextInt(length)));
            for (int i = 0; i < length; i++) {
                direct.putByte(i, (byte)random.nextInt());
            }
            assertNotEquals(PeerFrame.VALID, PeerFrame.check(crc, direct, 0, length));
        }
    }
}
