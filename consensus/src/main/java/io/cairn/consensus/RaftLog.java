package io.cairn.consensus;

import io.cairn.engine.check.Check;
import io.cairn.engine.wal.Wal;
import io.cairn.engine.wal.WalBatch;
import io.cairn.engine.wal.WalEntryHandler;
import org.agrona.DirectBuffer;

/**
 * The core's view of its {@link Wal}: stages new entries in one reused {@link WalBatch} and appends them with one
 * call, and tracks what the driver has made durable. The core never syncs: it notes that unsynced writes exist
 * ({@link #persistNeeded()}); its driver syncs and reports {@link #onPersisted()} (thesis §10.2.1).
 */
final class RaftLog {
    private final Wal wal;
    private final WalBatch batch;
    // Invariant: durableIndex <= lastIndex(); entries (baseIndex, durableIndex] survive a crash.
    private long durableIndex;
    private boolean persistNeeded;

    RaftLog(final Wal wal, final int batchBytes) {
        this.wal = wal;
        this.batch = new WalBatch(batchBytes);
        // What recovery found may sit in the page cache only: nothing counts as durable before the first sync.
        this.durableIndex = wal.baseIndex();
        this.persistNeeded = true;
    }

    Wal wal() {
        return wal;
    }

    long lastIndex() {
        return batch.entryCount() > 0 ? batch.lastIndex() : wal.lastIndex();
    }

    long lastTerm() {
        return batch.entryCount() > 0 ? batch.lastTerm() : wal.lastTerm();
    }

    long baseIndex() {
        return wal.baseIndex();
    }

    long firstIndex() {
        return wal.firstIndex();
    }

    /**
     * @return term of a flushed entry (or of the base), -1 when not held.
     */
    long term(final long index) {
        Check.state(batch.entryCount() == 0, "log read with staged entries");
        if (index < wal.baseIndex() || index > wal.lastIndex()) {
            return -1;
        }
        return wal.term(index);
    }

    long durableIndex() {
        return durableIndex;
    }

    boolean persistNeeded() {
        return persistNeeded;
    }

    void stage(final long index, final long term, final byte type, final DirectBuffer payload, final int offset,
        final int length) {
        Check.state(index == lastIndex() + 1, "entries must be contiguous", lastIndex(), index);
        batch.add(index, term, type, payload, offset, length);
    }

    boolean hasStaged() {
        return batch.entryCount() > 0;
    }

    /**
     * Appends the staged entries.
     */
    void flush() {
        if (batch.entryCount() == 0) {
            return;
        }
        wal.append(batch);
        batch.reset();
        persistNeeded = true;
    }

    void truncateAfter(final long index) {
        Check.state(batch.entryCount() == 0, "truncate with staged entries");
        wal.truncateAfter(index);
        durableIndex = Math.min(durableIndex, index);
        persistNeeded = true;
    }

    /**
     * @param mustPersist true for term and vote changes, which must be durable before the messages that depend on
     *                    them leave (§5.1 figure 2); a commit index alone rides along with the next sync.
     */
    void saveHardState(final long term, final int vote, final long commitIndex, final boolean mustPersist) {
        wal.saveHardState(term, vote, commitIndex);
        persistNeeded |= mustPersist;
    }

    void reset(final long index, final long term) {
        Check.state(batch.entryCount() == 0, "reset with staged entries");
        wal.reset(index, term);
        durableIndex = Math.min(durableIndex, index);
        persistNeeded = true;
    }

    void compactBefore(final long index) {
        wal.compactBefore(index);
    }

    void onPersisted() {
        Check.state(batch.entryCount() == 0, "persisted with staged entries");
        durableIndex = wal.lastIndex();
        persistNeeded = false;
    }

    /**
     * @return true if a log ending at (lastIndex, lastTerm) is at least as up to date as this one (§5.4.1).
     */
    boolean isUpToDate(final long lastIndex, final long lastTerm) {
        final long ownLastTerm = lastTerm();
        return lastTerm > ownLastTerm || (lastTerm == ownLastTerm && lastIndex >= lastIndex());
    }

    /**
     * The largest index at or below {@code index} whose term is at most {@code term}, or the base when none is
     * held: where two logs that disagree at {@code index} may still agree (fast backtracking, §5.3).
     */
    long findConflictByTerm(final long index, final long term) {
        long i = Math.min(index, lastIndex());
        final long base = wal.baseIndex();
        while (i > base && wal.term(i) > term) {
            i--;
        }
        return Math.max(i, base);
    }

    int readRange(final long from, final long to, final int countMax, final long bytesMax,
        final WalEntryHandler handler) {
        return wal.readRange(from, to, countMax, bytesMax, handler);
    }
}
