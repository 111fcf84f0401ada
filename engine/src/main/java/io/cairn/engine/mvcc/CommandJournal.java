package io.cairn.engine.mvcc;

import org.agrona.DirectBuffer;
import org.agrona.ExpandableDirectByteBuffer;
import org.agrona.MutableDirectBuffer;

import java.nio.ByteOrder;

/**
 * The batches a store committed while a copy of it was being made ({@link Defragmentation}): each command as
 * {@link MvccStore#apply} received it, and each commit's index and term, in order, so that the copy can be brought up
 * to the store by applying the same commands (the store is deterministic: the same commands on the same state give
 * the same state). An abandoned batch leaves nothing. Loop thread only: the store writes it, the defragmentation reads
 * it, between batches.
 *
 * <p>Layout: a command is {@code int length, bytes}; a commit is {@code int -1, long index, long term}.
 */
final class CommandJournal {
    private static final ByteOrder ORDER = ByteOrder.LITTLE_ENDIAN;
    private static final int COMMIT = -1;
    private static final int COMMIT_BYTES = Integer.BYTES + 2 * Long.BYTES;

    private final ExpandableDirectByteBuffer bytes = new ExpandableDirectByteBuffer(1 << 20);
    private final long bytesMax;
    private int written;
    private int batchStart;
    private int read;
    private int batches;
    private boolean overflowed;
    private boolean cancelled;

    /**
     * @param bytesMax most bytes held unread; past it the journal is overflowed and the copy cannot catch up.
     */
    CommandJournal(final long bytesMax) {
        this.bytesMax = Math.min(bytesMax, Integer.MAX_VALUE - (1 << 20));
    }

    void command(final DirectBuffer source, final int offset, final int length) {
        if (overflowed) {
            return;
        }
        if ((long)written + Integer.BYTES + length + COMMIT_BYTES > bytesMax) {
            overflowed = true;
            return;
        }
        bytes.putInt(written, length, ORDER);
        bytes.putBytes(written + Integer.BYTES, source, offset, length);
        written += Integer.BYTES + length;
    }

    void commit(final long index, final long term) {
        if (overflowed) {
            return;
        }
        if ((long)written + COMMIT_BYTES > bytesMax) {
            overflowed = true;
            return;
        }
        bytes.putInt(written, COMMIT, ORDER);
        bytes.putLong(written + Integer.BYTES, index, ORDER);
        bytes.putLong(written + Integer.BYTES + Long.BYTES, term, ORDER);
        written += COMMIT_BYTES;
        batchStart = written;
        batches++;
    }

    void abort() {
        written = batchStart;
    }

    void cancel() {
        cancelled = true;
    }

    boolean cancelled() {
        return cancelled;
    }

    boolean overflowed() {
        return overflowed;
    }

    /**
     * @return committed batches not yet replayed.
     */
    int batches() {
        return batches;
    }

    /**
     * @return bytes held (replayed ones are reused once all are replayed).
     */
    int bytes() {
        return written;
    }

    /**
     * Applies up to {@code batchesMax} journalled batches to {@code copy}, each in one batch of its own with the same
     * commit index and term; a batch the copy already holds (its commit index at or below the copy's applied index:
     * committed before the copy's read transaction began) is skipped. Between batches of the store only.
     *
     * @param copy       the store being brought up to date.
     * @param batchesMax most batches.
     * @param responses  scratch for the responses (discarded).
     * @return batches replayed or skipped.
     */
    int replay(final MvccStore copy, final int batchesMax, final MutableDirectBuffer responses) {
        int done = 0;
        while (done < batchesMax && batches > 0) {
            int end = read;
            int length = bytes.getInt(end, ORDER);
            while (length != COMMIT) {
                end += Integer.BYTES + length;
                length = bytes.getInt(end, ORDER);
            }
            final long index = bytes.getLong(end + Integer.BYTES, ORDER);
            final long term = bytes.getLong(end + Integer.BYTES + Long.BYTES, ORDER);
            if (index > copy.appliedIndex()) {
                copy.beginBatch();
                int at = read;
                while (at < end) {
                    final int commandLength = bytes.getInt(at, ORDER);
                    copy.apply(bytes, at + Integer.BYTES, commandLength, responses, 0);
                    at += Integer.BYTES + commandLength;
                }
                copy.commit(index, term);
            }
            read = end + COMMIT_BYTES;
            batches--;
            done++;
        }
        if (batches == 0 && read == written && batchStart == written) {
            read = 0;
            written = 0;
            batchStart = 0;
        }
        return done;
    }
}
