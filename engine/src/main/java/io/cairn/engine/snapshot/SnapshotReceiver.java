package io.cairn.engine.snapshot;

import io.cairn.engine.files.DurableFiles;
import org.agrona.BufferUtil;
import org.agrona.DirectBuffer;
import org.agrona.checksum.Crc32c;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Receives a snapshot as chunks, in order, into a temporary file beside its destination; each chunk's checksum is
 * checked as it arrives, and the whole file (trailer, length, data checksum) before it is moved into place. Until
 * {@link #finish()} succeeds nothing outside the temporary file changes.
 */
public final class SnapshotReceiver implements AutoCloseable {
    /** The chunk was written. */
    public static final int ACCEPTED = 0;
    /** The chunk does not start where the last one ended: ask again from {@link #expectedOffset()}. */
    public static final int OUT_OF_ORDER = 1;
    /** The chunk's bytes do not match its checksum: dropped. */
    public static final int BAD_CHECKSUM = 2;

    private final Path target;
    private final Path temporary;
    private final FileChannel channel;
    private final ByteBuffer staging;
    private long expectedOffset;
    private boolean done;

    /**
     * @param target        where the verified snapshot file will be.
     * @param chunkBytesMax the largest chunk that will be offered.
     * @throws IOException if the temporary file cannot be created.
     */
    public SnapshotReceiver(final Path target, final int chunkBytesMax) throws IOException {
        this.target = target;
        this.temporary = target.resolveSibling(target.getFileName() + ".receiving");
        this.channel = FileChannel.open(temporary, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
            StandardOpenOption.TRUNCATE_EXISTING);
        this.staging = ByteBuffer.allocateDirect(chunkBytesMax);
    }

    /**
     * @return the offset the next chunk must start at.
     */
    public long expectedOffset() {
        return expectedOffset;
    }

    /**
     * @param offset   the chunk's byte offset in the snapshot file.
     * @param buffer   the chunk's bytes.
     * @param index    where they start in {@code buffer}.
     * @param length   how many.
     * @param checksum CRC32C of those bytes, as sent.
     * @return {@link #ACCEPTED}, {@link #OUT_OF_ORDER} or {@link #BAD_CHECKSUM}.
     * @throws IOException if the temporary file cannot be written.
     */
    public int accept(final long offset, final DirectBuffer buffer, final int index, final int length,
        final int checksum) throws IOException {
        if (offset != expectedOffset || length > staging.capacity()) {
            return OUT_OF_ORDER;
        }
        staging.clear();
        buffer.getBytes(index, staging, length);
        staging.flip();
        if (Crc32c.INSTANCE.compute(BufferUtil.address(staging), 0, length) != checksum) {
            return BAD_CHECKSUM;
        }
        long position = offset;
        while (staging.hasRemaining()) {
            position += channel.write(staging, position);
        }
        expectedOffset = position;
        return ACCEPTED;
    }

    /**
     * Verifies the received file whole and moves it, durably, to the target.
     *
     * @return what the snapshot holds.
     * @throws CorruptSnapshotException if what arrived is not a whole, valid snapshot (the temporary file is
     *                                  deleted and the target left as it was).
     * @throws IOException              if the file cannot be finished.
     */
    public SnapshotMeta finish() throws IOException {
        channel.force(true);
        channel.close();
        final SnapshotMeta meta;
        try {
            meta = SnapshotFiles.verify(temporary);
        } catch (final IOException ex) {
            Files.deleteIfExists(temporary);
            done = true;
            throw ex;
        }
        DurableFiles.moveDurably(temporary, target);
        done = true;
        return meta;
    }

    /**
     * Abandons the transfer (the sender went away, a newer snapshot is coming): the temporary file is deleted.
     */
    @Override
    public void close() throws IOException {
        if (channel.isOpen()) {
            channel.close();
        }
        if (!done) {
            Files.deleteIfExists(temporary);
        }
    }
}
