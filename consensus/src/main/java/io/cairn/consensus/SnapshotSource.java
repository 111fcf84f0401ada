package io.cairn.consensus;

import org.agrona.DirectBuffer;

/**
 * Where the leader reads the snapshot it streams to a follower whose log is behind the compacted prefix (§7). The
 * core never interprets the bytes. Production adapts the engine's {@code SnapshotSender} (a view per fixed-size
 * chunk, with its CRC32C); the simulator keeps snapshots in memory.
 *
 * <p>The source offers the latest snapshot the member holds; when it changes (a newer one was taken) the core
 * restarts any transfer from offset 0. Chunks are asked for at offset 0 and then at the offsets the follower reports
 * as expected, which are always sums of chunk lengths this source returned.
 */
public interface SnapshotSource {
    /** {@link #index()} when no snapshot is held. */
    long NULL_INDEX = 0;

    /**
     * @return the last log index the snapshot covers, or {@link #NULL_INDEX}.
     */
    long index();

    /**
     * @return the term of {@link #index()}.
     */
    long term();

    /**
     * @return the configuration as of {@link #index()} (carried with the snapshot so the receiver knows it).
     */
    Membership membership();

    /**
     * @return the snapshot's size in bytes.
     */
    long totalBytes();

    /**
     * @param offset    where the chunk starts.
     * @param lengthMax most bytes wanted; the source may return fewer (its own chunk size), but at least one unless
     *                  the snapshot ends at {@code offset}.
     * @return a view of the chunk's bytes (capacity = chunk length), valid until the next call; or null if the
     *     bytes cannot be read now (the core retries later).
     */
    DirectBuffer chunk(long offset, int lengthMax);

    /**
     * @return CRC32C of the chunk last returned by {@link #chunk}.
     */
    int chunkChecksum();
}
