package io.cairn.consensus.memory;

import io.cairn.consensus.Membership;
import io.cairn.consensus.SnapshotSink;
import io.cairn.consensus.SnapshotSource;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.util.zip.CRC32C;

/**
 * Goal: one member's durable snapshot storage in memory, for the simulator and the core's tests: the latest snapshot
 * (index, term, configuration, bytes), which survives crashes, served to the core as its {@link SnapshotSource} and
 * filled by a {@link Sink}.
 * Method: byte arrays; chunks are views of fixed, small size so that transfers take several messages and can be
 * interrupted and resumed.
 */
public final class MemorySnapshotStore implements SnapshotSource {
    private final int chunkBytes;
    private final UnsafeBuffer chunkView = new UnsafeBuffer(new byte[0]);
    private final Membership membership = new Membership();
    private long index;
    private long term;
    private byte[] data;
    private int chunkChecksum;

    /**
     * An empty store.
     *
     * @param chunkBytes the size of the chunks it serves a snapshot in.
     */
    public MemorySnapshotStore(final int chunkBytes) {
        this.chunkBytes = chunkBytes;
    }

    /**
     * Makes a snapshot the latest, as a completed transfer or a local snapshot does.
     *
     * @param index      the last entry it covers.
     * @param term       that entry's term.
     * @param membership the configuration at that index (copied).
     * @param data       the state machine's bytes (kept, not copied).
     */
    public void save(final long index, final long term, final Membership membership, final byte[] data) {
        this.index = index;
        this.term = term;
        this.membership.copyFrom(membership);
        this.data = data;
    }

    /**
     * The latest snapshot's bytes.
     *
     * @return them, or null before the first snapshot.
     */
    public byte[] data() {
        return data;
    }

    @Override
    public long index() {
        return data == null ? NULL_INDEX : index;
    }

    @Override
    public long term() {
        return term;
    }

    @Override
    public Membership membership() {
        return membership;
    }

    @Override
    public long totalBytes() {
        return data == null ? 0 : data.length;
    }

    @Override
    public DirectBuffer chunk(final long offset, final int lengthMax) {
        if (data == null || offset > data.length) {
            return null;
        }
        final int length = (int)Math.min(Math.min(chunkBytes, lengthMax), data.length - offset);
        chunkView.wrap(data, (int)offset, length);
        chunkChecksum = crc(data, (int)offset, length);
        return chunkView;
    }

    @Override
    public int chunkChecksum() {
        return chunkChecksum;
    }

    static int crc(final byte[] bytes, final int offset, final int length) {
        final CRC32C crc = new CRC32C();
        crc.update(bytes, offset, length);
        return (int)crc.getValue();
    }

    /**
     * Receives a snapshot into memory and, on {@link #finish}, makes it this store's latest (durable at once).
     */
    public static final class Sink implements SnapshotSink {
        private final MemorySnapshotStore store;
        private final java.util.function.Predicate<byte[]> validator;
        private byte[] buffer;
        private long index;
        private long term;
        private long expectedOffset;
        private long chunksAccepted;

        /**
         * A sink that completes transfers into a store.
         *
         * @param store     where a completed snapshot goes.
         * @param validator decides whether the assembled bytes are a snapshot the state machine can load.
         */
        public Sink(final MemorySnapshotStore store, final java.util.function.Predicate<byte[]> validator) {
            this.store = store;
            this.validator = validator;
        }

        @Override
        public void begin(final long index, final long term, final long totalBytes) {
            this.index = index;
            this.term = term;
            this.buffer = new byte[(int)totalBytes];
            this.expectedOffset = 0;
        }

        @Override
        public long expectedOffset() {
            return expectedOffset;
        }

        @Override
        public int accept(final long offset, final DirectBuffer source, final int sourceOffset, final int length,
            final int checksum) {
            if (buffer == null || offset != expectedOffset || offset + length > buffer.length) {
                return OUT_OF_ORDER;
            }
            final byte[] chunk = new byte[length];
            source.getBytes(sourceOffset, chunk);
            if (crc(chunk, 0, length) != checksum) {
                return BAD_CHECKSUM;
            }
            System.arraycopy(chunk, 0, buffer, (int)offset, length);
            expectedOffset += length;
            chunksAccepted++;
            return ACCEPTED;
        }

        @Override
        public boolean finish(final Membership membership) {
            if (buffer == null || expectedOffset != buffer.length) {
                abort();
                return false;
            }
            if (!validator.test(buffer)) {
                abort();
                return false;
            }
            store.save(index, term, membership, buffer);
            buffer = null;
            return true;
        }

        @Override
        public void abort() {
            buffer = null;
            expectedOffset = 0;
        }

        /**
         * Chunks taken in order, over every transfer.
         *
         * @return the count.
         */
        public long chunksAccepted() {
            return chunksAccepted;
        }
    }
}
