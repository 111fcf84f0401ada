package io.cairn.consensus;

import io.cairn.engine.check.Check;

/**
 * The append messages in flight to one follower, oldest first: a ring of (last index, payload bytes) bounded by
 * count and by bytes. Acknowledging index i frees every message whose last index is at most i. This is the
 * pipelining window of one follower in replicate mode.
 */
final class Inflights {
    private final long[] lastIndexes;
    private final int[] bytes;
    private final long bytesMax;
    private int start;
    private int count;
    private long totalBytes;

    Inflights(final int messagesMax, final long bytesMax) {
        this.lastIndexes = new long[messagesMax];
        this.bytes = new int[messagesMax];
        this.bytesMax = bytesMax;
    }

    boolean full() {
        return count == lastIndexes.length || totalBytes >= bytesMax;
    }

    int count() {
        return count;
    }

    long totalBytes() {
        return totalBytes;
    }

    void add(final long lastIndex, final int messageBytes) {
        Check.state(count < lastIndexes.length, "inflight window overflow", count);
        final int slot = (start + count) % lastIndexes.length;
        lastIndexes[slot] = lastIndex;
        bytes[slot] = messageBytes;
        count++;
        totalBytes += messageBytes;
    }

    void freeTo(final long index) {
        while (count > 0 && lastIndexes[start] <= index) {
            totalBytes -= bytes[start];
            start = (start + 1) % lastIndexes.length;
            count--;
        }
    }

    void freeFirst() {
        if (count > 0) {
            totalBytes -= bytes[start];
            start = (start + 1) % lastIndexes.length;
            count--;
        }
    }

    void reset() {
        start = 0;
        count = 0;
        totalBytes = 0;
    }
}
