package io.cairn.engine.snapshot;

import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: a snapshot file is sealed with a trailer that tells a whole file from a damaged or truncated one, and a
 * chunked transfer reproduces the file byte for byte or leaves nothing behind. Method: a random "store file" is
 * sealed, damaged in chosen ways, and streamed through {@link SnapshotSender} into {@link SnapshotReceiver}.
 */
class SnapshotStreamTest {
    @TempDir
    Path dir;

    private Path sealed(final int dataBytes) throws IOException {
        final byte[] data = new byte[dataBytes];
        new Random(42).nextBytes(data);
        final Path copy = dir.resolve("copy.mdb");
        Files.write(copy, data);
        final Path snapshot = dir.resolve("snap.db");
        final SnapshotMeta meta = SnapshotFiles.seal(copy, 1234, 7, 99, snapshot);
        assertEquals(dataBytes, meta.dataBytes());
        assertFalse(Files.exists(copy));
        return snapshot;
    }

    @Test
    void shouldVerifySealedFileWhenIntact() throws IOException {
        final Path snapshot = sealed(100_000);
        final SnapshotMeta meta = SnapshotFiles.verify(snapshot);
        assertEquals(1234, meta.appliedIndex());
        assertEquals(7, meta.appliedTerm());
        assertEquals(99, meta.revision());
        assertEquals(100_000 + SnapshotTrailer.LENGTH, Files.size(snapshot));
    }

    @Test
    void shouldRejectWhenTruncatedOrFlippedOrForeign() throws IOException {
        final Path snapshot = sealed(50_000);
        final byte[] whole = Files.readAllBytes(snapshot);

        Files.write(snapshot, Arrays.copyOf(whole, whole.length - 10));
        assertTrue(assertThrows(CorruptSnapshotException.class, () -> SnapshotFiles.verify(snapshot))
            .getMessage().contains("trailer"));

        final byte[] flipped = whole.clone();
        flipped[20_000] ^= 1;
        Files.write(snapshot, flipped);
        assertTrue(assertThrows(CorruptSnapshotException.class, () -> SnapshotFiles.verify(snapshot))
            .getMessage().contains("data checksum mismatch"));

        Files.write(snapshot, Arrays.copyOf(whole, 10));
        assertTrue(assertThrows(CorruptSnapshotException.class, () -> SnapshotFiles.verify(snapshot))
            .getMessage().contains("truncated"));

        final byte[] truncatedData = new byte[whole.length - 1000];
        System.arraycopy(whole, 0, truncatedData, 0, 49_000);
        System.arraycopy(whole, 50_000, truncatedData, 49_000, SnapshotTrailer.LENGTH);
        Files.write(snapshot, truncatedData);
        assertTrue(assertThrows(CorruptSnapshotException.class, () -> SnapshotFiles.verify(snapshot))
            .getMessage().contains("length"));
    }

    @Test
    void shouldReproduceFileByteForByteWhenStreamedInChunks() throws IOException {
        final Path snapshot = sealed(300_001);
        final Path received = dir.resolve("received.db");
        try (SnapshotSender sender = new SnapshotSender(snapshot, 64 * 1024);
             SnapshotReceiver receiver = new SnapshotReceiver(received, 64 * 1024)) {
            assertEquals(5, sender.chunkCount());
            for (long chunk = 0; chunk < sender.chunkCount(); chunk++) {
                final DirectBuffer bytes = sender.chunk(chunk);
                assertEquals(SnapshotReceiver.ACCEPTED, receiver.accept(sender.offset(chunk), bytes, 0,
                    bytes.capacity(), sender.chunkChecksum()));
            }
            assertEquals(1234, receiver.finish().appliedIndex());
        }
        assertArrayEquals(Files.readAllBytes(snapshot), Files.readAllBytes(received));
    }

    @Test
    void shouldRefuseBadChunksAndLeaveNothingWhenTransferIsIncomplete() throws IOException {
        final Path snapshot = sealed(200_000);
        final Path received = dir.resolve("received.db");
        Files.writeString(received, "the previous snapshot");
        try (SnapshotSender sender = new SnapshotSender(snapshot, 64 * 1024);
             SnapshotReceiver receiver = new SnapshotReceiver(received, 64 * 1024)) {
            final DirectBuffer first = sender.chunk(0);
            final UnsafeBuffer damaged = new UnsafeBuffer(new byte[first.capacity()]);
            damaged.putBytes(0, first, 0, first.capacity());
            damaged.putByte(100, (byte)(damaged.getByte(100) ^ 0x10));
            assertEquals(SnapshotReceiver.BAD_CHECKSUM,
                receiver.accept(0, damaged, 0, damaged.capacity(), sender.chunkChecksum()));
            assertEquals(SnapshotReceiver.ACCEPTED,
                receiver.accept(0, first, 0, first.capacity(), sender.chunkChecksum()));
            final DirectBuffer third = sender.chunk(2);
            assertEquals(SnapshotReceiver.OUT_OF_ORDER,
                receiver.accept(sender.offset(2), third, 0, third.capacity(), sender.chunkChecksum()));
            assertEquals(64 * 1024, receiver.expectedOffset());
            assertThrows(CorruptSnapshotException.class, receiver::finish);
        }
        assertEquals("the previous snapshot", Files.readString(received));
        try (var files = Files.list(dir)) {
            assertTrue(files.noneMatch(p -> p.toString().endsWith(".receiving")));
        }
    }

    @Test
    void shouldNotSendWhenTheFileIsCorrupt() throws IOException {
        final Path snapshot = sealed(10_000);
        try (FileChannel channel = FileChannel.open(snapshot, StandardOpenOption.WRITE)) {
            channel.write(ByteBuffer.wrap(new byte[] {1, 2, 3}), 500);
        }
        assertThrows(CorruptSnapshotException.class, () -> new SnapshotSender(snapshot, 4096));
    }
}
