package io.cairn.consensus;

import org.agrona.DirectBuffer;

/**
 * Where a follower writes the snapshot chunks it receives (§7). Production adapts the engine's
 * {@code SnapshotReceiver} (a temporary file beside the store, checked per chunk and whole before it is moved into
 * place durably); the simulator keeps bytes in memory. Chunks arrive in order; a gap or a damaged chunk is refused
 * and the leader resends from {@link #expectedOffset()}.
 *
 * <p>Only one transfer is open at a time: {@link #begin} abandons any other. Until {@link #finish} returns true
 * nothing outside the transfer changes.
 */
public interface SnapshotSink {
    /** The chunk was written. */
    int ACCEPTED = 0;
    /** The chunk does not start at {@link #expectedOffset()}. */
    int OUT_OF_ORDER = 1;
    /** The chunk's bytes do not match its checksum. */
    int BAD_CHECKSUM = 2;

    /**
     * Starts receiving a snapshot, abandoning any transfer in progress.
     *
     * @param index      the snapshot's last index.
     * @param term       its term.
     * @param totalBytes its size.
     */
    void begin(long index, long term, long totalBytes);

    /**
     * @return where the next chunk must start.
     */
    long expectedOffset();

    /**
     * @param offset       the chunk's offset in the snapshot.
     * @param buffer       the chunk's bytes (valid during the call only).
     * @param bufferOffset where they start.
     * @param length       how many.
     * @param checksum     CRC32C of those bytes, as sent.
     * @return {@link #ACCEPTED}, {@link #OUT_OF_ORDER} or {@link #BAD_CHECKSUM}.
     */
    int accept(long offset, DirectBuffer buffer, int bufferOffset, int length, int checksum);

    /**
     * Verifies the whole snapshot and makes it durable as this member's latest snapshot, together with the
     * configuration it carries (the member must find both again after a restart).
     *
     * @param membership the configuration as of the snapshot's index.
     * @return false if what arrived is not a whole, valid snapshot (the transfer is abandoned).
     */
    boolean finish(Membership membership);

    /**
     * Abandons the transfer in progress, if any.
     */
    void abort();
}
