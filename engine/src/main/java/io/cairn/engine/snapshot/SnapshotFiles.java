package io.cairn.engine.snapshot;

import io.cairn.engine.files.DurableFiles;
import org.agrona.IoUtil;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32C;

/**
 * Sealing a store copy into a snapshot file and checking one: checksums over mapped file regions, the trailer, and
 * moving a finished one into place durably.
 */
public final class SnapshotFiles {
    /** Bytes mapped at a time when checksumming. */
    static final int SEGMENT_BYTES = 1 << 30;

    private SnapshotFiles() {
    }

    /**
     * Appends a trailer to a finished store copy and moves it, durably, to {@code target}.
     *
     * @param storeCopy    a consistent copy of the store file; consumed.
     * @param appliedIndex the Raft index the copy reflects.
     * @param appliedTerm  that entry's term.
     * @param revision     the keyspace revision in the copy.
     * @param target       where the snapshot file goes (replaced atomically if present).
     * @return what the snapshot holds.
     * @throws IOException if it cannot be written.
     */
    public static SnapshotMeta seal(
        final Path storeCopy, final long appliedIndex, final long appliedTerm, final long revision, final Path target)
        throws IOException {
        final SnapshotMeta meta;
        try (FileChannel channel = FileChannel.open(storeCopy, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            final long dataBytes = channel.size();
            meta = new SnapshotMeta(appliedIndex, appliedTerm, revision, dataBytes, checksum(channel, dataBytes));
            final ByteBuffer trailer = SnapshotTrailer.encode(meta);
            long position = dataBytes;
            while (trailer.hasRemaining()) {
                position += channel.write(trailer, position);
            }
            channel.force(true);
        }
        DurableFiles.moveDurably(storeCopy, target);
        return meta;
    }

    /**
     * Checks a snapshot file whole: trailer, length and the checksum of every byte.
     *
     * @param file the snapshot.
     * @return what it holds.
     * @throws CorruptSnapshotException if it is truncated, damaged or of an unknown format.
     * @throws IOException if it cannot be read.
     */
    public static SnapshotMeta verify(final Path file) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            final long fileBytes = channel.size();
            if (fileBytes < SnapshotTrailer.LENGTH) {
                throw new CorruptSnapshotException(file, "only " + fileBytes + " bytes: truncated");
            }
            final ByteBuffer trailer = ByteBuffer.allocateDirect(SnapshotTrailer.LENGTH);
            long position = fileBytes - SnapshotTrailer.LENGTH;
            while (trailer.hasRemaining()) {
                final int read = channel.read(trailer, position);
                if (read < 0) {
                    throw new CorruptSnapshotException(file, "ended while reading the trailer");
                }
                position += read;
            }
            trailer.flip();
            final String[] why = new String[1];
            final SnapshotMeta meta = SnapshotTrailer.decode(trailer, fileBytes, why);
            if (meta == null) {
                throw new CorruptSnapshotException(file, why[0]);
            }
            final int computed = checksum(channel, meta.dataBytes());
            if (computed != meta.dataChecksum()) {
                throw new CorruptSnapshotException(file, "data checksum mismatch (expected "
                    + Integer.toHexString(meta.dataChecksum()) + ", computed " + Integer.toHexString(computed) + ")");
            }
            return meta;
        }
    }

    /**
     * @return CRC32C of the first {@code length} bytes of the channel's file.
     */
    static int checksum(final FileChannel channel, final long length) throws IOException {
        final CRC32C crc = new CRC32C();
        for (long offset = 0; offset < length; offset += SEGMENT_BYTES) {
            final long segment = Math.min(SEGMENT_BYTES, length - offset);
            final MappedByteBuffer mapped = channel.map(FileChannel.MapMode.READ_ONLY, offset, segment);
            try {
                crc.update(mapped);
            } finally {
                // Unmapped now, not when a GC finds the buffer: a snapshot as large as the keyspace stayed resident
                // (and a deleted one stayed on disk) until then.
                IoUtil.unmap(mapped);
            }
        }
        return (int)crc.getValue();
    }
}
