package io.cairn.engine.wal;

import org.agrona.DirectBuffer;

/**
 * Receives WAL entries as views: {@code buffer} points into the memory-mapped log and is valid only for the duration
 * of the call. Copy what must outlive it.
 */
@FunctionalInterface
public interface WalEntryHandler {
    /**
     * @param index  the entry's Raft index.
     * @param term   the entry's Raft term.
     * @param type   the entry type given when it was appended.
     * @param buffer the payload's bytes (a view, valid during this call only).
     * @param offset where the payload starts in {@code buffer}.
     * @param length payload bytes.
     */
    void onEntry(long index, long term, byte type, DirectBuffer buffer, int offset, int length);
}
