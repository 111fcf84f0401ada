package io.cairn.engine.wal;

import io.cairn.engine.check.Check;

/**
 * The logical view over the physical queue: for each live Raft index, its term and where its record sits in the
 * queue. Rebuilt on open by replaying the queue's records in order; kept up to date by every write. Pure: no I/O.
 *
 * <p>Live entries are {@code (baseIndex, baseIndex + count]}, stored from {@code head} in two parallel arrays.
 * Invariant: {@code 0 <= head}, {@code head + count <= positions.length}, and live entries appear in the queue in
 * index order (a truncation is always followed by appends at higher queue positions).
 */
final class WalIndex {
    private static final int INITIAL_CAPACITY = 1024;

    private long baseIndex;
    private long baseTerm;
    private long[] positions = new long[INITIAL_CAPACITY];
    private long[] terms = new long[INITIAL_CAPACITY];
    private int head;
    private int count;

    long baseIndex() {
        return baseIndex;
    }

    long baseTerm() {
        return baseTerm;
    }

    long lastIndex() {
        return baseIndex + count;
    }

    long lastTerm() {
        return count == 0 ? baseTerm : terms[head + count - 1];
    }

    int count() {
        return count;
    }

    boolean contains(final long index) {
        return index > baseIndex && index <= baseIndex + count;
    }

    long term(final long index) {
        if (index == baseIndex) {
            return baseTerm;
        }
        return contains(index) ? terms[head + (int)(index - baseIndex - 1)] : -1;
    }

    long position(final long index) {
        Check.state(contains(index), "index not held", index);
        return positions[head + (int)(index - baseIndex - 1)];
    }

    void append(final long index, final long term, final long position) {
        Check.state(index == lastIndex() + 1, "append must follow the last index", lastIndex(), index);
        if (head + count == positions.length) {
            grow();
        }
        positions[head + count] = position;
        terms[head + count] = term;
        count++;
    }

    void truncateAfter(final long index) {
        if (index >= lastIndex()) {
            return;
        }
        count = (int)Math.max(0, index - baseIndex);
    }

    /**
     * Moves the base to {@code index} (whose term is {@code term}): entries at or below it go; entries above it stay
     * if the log reaches that far, otherwise the log becomes empty.
     */
    void rebase(final long index, final long term) {
        if (index < baseIndex) {
            return;
        }
        if (index == baseIndex) {
            baseTerm = term;
            return;
        }
        if (index >= lastIndex()) {
            head = 0;
            count = 0;
        } else {
            final int dropped = (int)(index - baseIndex);
            head += dropped;
            count -= dropped;
        }
        baseIndex = index;
        baseTerm = term;
    }

    /**
     * Starts an empty log again at a new base, which may be lower than the current one (recovery of a log whose
     * first files were deleted by compaction: the real base is only known once the BASE record is replayed).
     */
    void restart(final long index, final long term) {
        Check.state(count == 0, "restart of a non-empty log", count);
        head = 0;
        baseIndex = index;
        baseTerm = term;
    }

    private void grow() {
        if (head > positions.length / 2) {
            System.arraycopy(positions, head, positions, 0, count);
            System.arraycopy(terms, head, terms, 0, count);
            head = 0;
            return;
        }
        final int capacity = positions.length * 2;
        Check.state(capacity > 0, "WAL index capacity overflow", positions.length);
        final long[] newPositions = new long[capacity];
        final long[] newTerms = new long[capacity];
        System.arraycopy(positions, head, newPositions, 0, count);
        System.arraycopy(terms, head, newTerms, 0, count);
        positions = newPositions;
        terms = newTerms;
        head = 0;
    }
}
