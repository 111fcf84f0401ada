package io.cairn.engine.snapshot;

import io.cairn.engine.check.Check;
import org.agrona.DirectBuffer;
import org.agrona.IoUtil;
import org.agrona.checksum.Crc32c;
import org.agrona.concurrent.UnsafeBuffer;

import java.io.IOException;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Streams a snapshot file in chunks without copying it: each chunk is a view of the memory-mapped file, with its
 * CRC32C, for the transport to frame (InstallSnapshot, §7) or for the Maintenance.Snapshot stream. The file is
 * verified whole before the first chunk leaves.
 */
public final class SnapshotSender implements AutoCloseable {
    private final SnapshotMeta meta;
    private final FileChannel channel;
    private final int chunkBytes;
    private final UnsafeBuffer view = new UnsafeBuffer(0, 0);
    private MappedByteBuffer segment;
    private long segmentOffset = -1;
    private int chunkChecksum;

    /**
     * @param file       a snapshot file.
     * @param chunkBytes bytes per chunk: a power of two, at most 64 MiB (so no chunk spans two mapped segments).
     * @throws IOException if the file is corrupt or cannot be read.
     */
    public SnapshotSender(final Path file, final int chunkBytes) throws IOException {
        Check.state(chunkBytes > 0 && Integer.bitCount(chunkBytes) == 1 && chunkBytes <= 64 << 20,
            "chunkBytes must be a power of two up to 64 MiB", chunkBytes);
        this.meta = SnapshotFiles.verify(file);
        this.chunkBytes = chunkBytes;
        this.channel = FileChannel.open(file, StandardOpenOption.READ);
    }

    /**
     * @return what the snapshot holds.
     */
    public SnapshotMeta meta() {
        return meta;
    }

    /**
     * @return the number of chunks the file makes.
     */
    public long chunkCount() {
        return (meta.fileBytes() + chunkBytes - 1) / chunkBytes;
    }

    /**
     * @param chunk a chunk number in {@code [0, chunkCount())}.
     * @return a view of the chunk's bytes, valid until the next call or {@link #close()}.
     * @throws IOException if the file cannot be mapped.
     */
    public DirectBuffer chunk(final long chunk) throws IOException {
        Check.state(chunk >= 0 && chunk < chunkCount(), "chunk out of range", chunk);
        final long offset = chunk * chunkBytes;
        final long segmentStart = offset - offset % SnapshotFiles.SEGMENT_BYTES;
        if (segmentStart != segmentOffset) {
            final long length = Math.min(SnapshotFiles.SEGMENT_BYTES, meta.fileBytes() - segmentStart);
            unmapSegment();
            segment = channel.map(FileChannel.MapMode.READ_ONLY, segmentStart, length);
            segmentOffset = segmentStart;
        }
        final int length = (int)Math.min(chunkBytes, meta.fileBytes() - offset);
        view.wrap(segment, (int)(offset - segmentStart), length);
        chunkChecksum = Crc32c.INSTANCE.compute(view.addressOffset(), 0, length);
        return view;
    }

    /**
     * @param chunk a chunk number.
     * @return the chunk's byte offset in the file.
     */
    public long offset(final long chunk) {
        return chunk * chunkBytes;
    }

    /**
     * @return CRC32C of the chunk last returned by {@link #chunk(long)}.
     */
    public int chunkChecksum() {
        return chunkChecksum;
    }

    @Override
    public void close() throws IOException {
        unmapSegment();
        channel.close();
    }

    /** The previous segment goes at once, not when a GC finds it (it holds up to a GiB of the file resident). */
    private void unmapSegment() {
        if (segment != null) {
            view.wrap(new byte[0]);
            IoUtil.unmap(segment);
            segment = null;
            segmentOffset = -1;
        }
    }
}
