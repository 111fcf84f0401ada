package io.cairn.consensus.memory;

import io.cairn.engine.check.Check;
import io.cairn.engine.wal.HardState;
import io.cairn.engine.wal.Wal;
import io.cairn.engine.wal.WalBatch;
import io.cairn.engine.wal.WalCorruption;
import io.cairn.engine.wal.WalEntryHandler;
import io.cairn.engine.wal.WalRecord;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Goal: an in-memory {@link Wal} with the engine WAL's contract and its failure model, as the simulator's
 * disk and for the core's tests (etcd-io/raft's {@code MemoryStorage} plays this part there).
 * Method: two states, the volatile one every call sees and the durable one as of the last {@link #sync()}, plus the
 * operations written since. {@link #crash(Random)} keeps the durable state and a random prefix of those operations
 * (the real WAL writes records in order and recovery stops at the first torn or corrupt one): optionally cutting the
 * first lost append in the middle, a torn write. {@link #loseSyncedTail} loses synced entries at the end of the log
 * too (a damaged disk; the real WAL fences the log at the bad record and, from its sync note, reports the loss:
 * {@link #lostSyncedThrough()}). As in {@code ChronicleWal},
 * {@link #compactBefore} and {@link #reset} sync first.
 */
public final class MemoryWal implements Wal {
    /** One log entry; the payload is a private copy. */
    public record Entry(long index, long term, byte type, byte[] payload) {
    }

    private interface Op {
    }

    private record AppendOp(List<Entry> entries) implements Op {
    }

    private record TruncateOp(long index) implements Op {
    }

    private record HardStateOp(long term, long vote, long commit) implements Op {
    }

    private static final class State {
        final ArrayList<Entry> entries = new ArrayList<>();
        long baseIndex;
        long baseTerm;
        long term;
        long vote;
        long commit;

        State copy() {
            final State copy = new State();
            copy.entries.addAll(entries);
            copy.baseIndex = baseIndex;
            copy.baseTerm = baseTerm;
            copy.term = term;
            copy.vote = vote;
            copy.commit = commit;
            return copy;
        }

        long lastIndex() {
            return baseIndex + entries.size();
        }

        void apply(final Op op) {
            if (op instanceof AppendOp append) {
                entries.addAll(append.entries());
            } else if (op instanceof TruncateOp truncate) {
                truncate(truncate.index());
            } else if (op instanceof HardStateOp hard) {
                term = hard.term();
                vote = hard.vote();
                commit = hard.commit();
            }
        }

        void truncate(final long index) {
            final int keep = (int)(index - baseIndex);
            if (keep < entries.size()) {
                entries.subList(keep, entries.size()).clear();
            }
        }
    }

    private final WalRecord record = new WalRecord();
    private final UnsafeBuffer view = new UnsafeBuffer(new byte[0]);
    private final HardState hardState = new HardState();
    private final ArrayList<Op> pending = new ArrayList<>();
    private State current = new State();
    private State durable = new State();
    // Lowest index whose entry changed since the checkers last looked (Long.MAX_VALUE when none).
    private long changedFrom = Long.MAX_VALUE;
    private long syncCount;
    private long tornWrites;
    private long lostOperations;
    /** As {@code ChronicleWal}'s sync note: held at what was synced before a loss until the log is back there. */
    private long holdNoteAt;
    private long holdNoteTerm;
    private long lostSyncedThrough;
    private long lostSyncedTerm;
    private long syncedTailsLost;

    @Override
    public long firstIndex() {
        return current.baseIndex + 1;
    }

    @Override
    public long lastIndex() {
        return current.lastIndex();
    }

    @Override
    public long lastTerm() {
        return current.entries.isEmpty() ? current.baseTerm : current.entries.get(current.entries.size() - 1).term();
    }

    @Override
    public long baseIndex() {
        return current.baseIndex;
    }

    @Override
    public long baseTerm() {
        return current.baseTerm;
    }

    @Override
    public long term(final long index) {
        if (index == current.baseIndex) {
            return current.baseTerm;
        }
        if (index < current.baseIndex || index > current.lastIndex()) {
            return -1;
        }
        return entry(index).term();
    }

    /**
     * @param index an index in {@code (baseIndex, lastIndex]}.
     * @return the entry there.
     */
    public Entry entry(final long index) {
        return current.entries.get((int)(index - current.baseIndex - 1));
    }

    @Override
    public void append(final WalBatch batch) {
        if (batch.entryCount() == 0) {
            return;
        }
        Check.state(batch.firstIndex() == lastIndex() + 1, "append must follow the last index", lastIndex(),
            batch.firstIndex());
        final DirectBuffer bytes = batch.buffer();
        final List<Entry> entries = new ArrayList<>(batch.entryCount());
        long previousTerm = lastTerm();
        int offset = 0;
        while (offset < batch.length()) {
            record.wrap(bytes, offset, batch.length() - offset);
            Check.state(record.validate() == WalRecord.VALID, "batch record invalid", offset);
            Check.state(record.term() >= previousTerm, "terms must not decrease", previousTerm, record.term());
            final byte[] payload = new byte[record.payloadLength()];
            record.buffer().getBytes(WalRecord.HEADER_LENGTH, payload);
            entries.add(new Entry(record.index(), record.term(), record.type(), payload));
            previousTerm = record.term();
            offset += record.recordLength();
        }
        changedFrom = Math.min(changedFrom, batch.firstIndex());
        current.entries.addAll(entries);
        pending.add(new AppendOp(entries));
    }

    @Override
    public void truncateAfter(final long index) {
        Check.state(index >= current.baseIndex, "cannot truncate below the base", current.baseIndex, index);
        if (index >= lastIndex()) {
            return;
        }
        changedFrom = Math.min(changedFrom, index + 1);
        current.truncate(index);
        pending.add(new TruncateOp(index));
    }

    @Override
    public void compactBefore(final long index) {
        Check.state(index >= firstIndex() && index <= lastIndex() + 1, "compaction point outside the log",
            firstIndex(), index);
        if (index == firstIndex()) {
            return;
        }
        sync();
        final long newBase = index - 1;
        final long newBaseTerm = term(newBase);
        for (final State state : new State[] {current, durable}) {
            state.entries.subList(0, (int)(newBase - state.baseIndex)).clear();
            state.baseIndex = newBase;
            state.baseTerm = newBaseTerm;
        }
    }

    @Override
    public void reset(final long baseIndex, final long baseTerm) {
        Check.state(baseIndex >= current.baseIndex && baseTerm >= 0, "reset below the base", current.baseIndex,
            baseIndex);
        sync();
        changedFrom = Math.min(changedFrom, baseIndex + 1);
        for (final State state : new State[] {current, durable}) {
            state.entries.clear();
            state.baseIndex = baseIndex;
            state.baseTerm = baseTerm;
        }
    }

    @Override
    public void saveHardState(final long term, final long vote, final long commitIndex) {
        current.term = term;
        current.vote = vote;
        current.commit = commitIndex;
        hardState.set(term, vote, commitIndex);
        pending.add(new HardStateOp(term, vote, commitIndex));
    }

    @Override
    public HardState hardState() {
        return hardState;
    }

    @Override
    public void sync() {
        for (final Op op : pending) {
            durable.apply(op);
        }
        pending.clear();
        syncCount++;
        if (holdNoteAt != 0 && durable.lastIndex() >= holdNoteAt) {
            holdNoteAt = 0;
        }
    }

    @Override
    public boolean read(final long index, final WalEntryHandler handler) {
        if (index <= current.baseIndex || index > current.lastIndex()) {
            return false;
        }
        final Entry entry = entry(index);
        view.wrap(entry.payload());
        handler.onEntry(index, entry.term(), entry.type(), view, 0, entry.payload().length);
        return true;
    }

    @Override
    public int readRange(final long fromIndex, final long toIndex, final int entryCountMax, final long bytesMax,
        final WalEntryHandler handler) {
        int count = 0;
        long bytes = 0;
        final long last = Math.min(toIndex, lastIndex());
        for (long i = Math.max(fromIndex, firstIndex()); i <= last && count < entryCountMax; i++) {
            if (count > 0 && bytes >= bytesMax) {
                break;
            }
            final Entry entry = entry(i);
            view.wrap(entry.payload());
            handler.onEntry(i, entry.term(), entry.type(), view, 0, entry.payload().length);
            bytes += entry.payload().length;
            count++;
        }
        return count;
    }

    @Override
    public WalCorruption recoveryReport() {
        return null;
    }

    @Override
    public long lostSyncedThrough() {
        return lostSyncedThrough;
    }

    @Override
    public long lostSyncedTerm() {
        return lostSyncedTerm;
    }

    @Override
    public void close() {
        // Nothing to release: the log lives on across a simulated restart.
    }

    /**
     * A process crash or power loss: writes after the last sync are lost, except a random prefix of them (records
     * reach the device in order); the first lost append may be torn, keeping some of its entries.
     *
     * @param random the simulator's random source.
     */
    public void crash(final Random random) {
        final int kept = random.nextInt(pending.size() + 1);
        final State recovered = durable.copy();
        for (int i = 0; i < kept; i++) {
            recovered.apply(pending.get(i));
        }
        if (kept < pending.size() && pending.get(kept) instanceof AppendOp append && append.entries().size() > 1
            && random.nextBoolean()) {
            recovered.entries.addAll(append.entries().subList(0, 1 + random.nextInt(append.entries().size() - 1)));
            tornWrites++;
        }
        lostOperations += pending.size() - kept;
        pending.clear();
        lostSyncedThrough = holdNoteAt > recovered.lastIndex() ? holdNoteAt : 0;
        lostSyncedTerm = lostSyncedThrough != 0 ? holdNoteTerm : 0;
        current = recovered;
        durable = recovered.copy();
        hardState.set(recovered.term, recovered.vote, recovered.commit);
        changedFrom = Math.min(changedFrom, recovered.baseIndex + 1);
    }

    /**
     * After a {@link #crash}: synced entries at the end of the log are lost too (a damaged disk), not below
     * {@code floor} (what the state machine already applied); the sync note, written after the sync that made them
     * durable, says how far the log reached, so {@link #lostSyncedThrough()} reports the loss.
     *
     * @param random the simulator's random source.
     * @param floor  the lowest last index the log may be cut to.
     * @return true if entries were lost.
     */
    public boolean loseSyncedTail(final Random random, final long floor) {
        final long from = Math.max(floor, current.baseIndex);
        if (current.lastIndex() <= from) {
            return false;
        }
        final long note = current.lastIndex();
        final long noteTerm = lastTerm();
        final long cut = from + random.nextInt((int)Math.min(current.lastIndex() - from, 64));
        current.truncate(cut);
        durable = current.copy();
        holdNoteAt = note;
        holdNoteTerm = noteTerm;
        lostSyncedThrough = note;
        lostSyncedTerm = noteTerm;
        changedFrom = Math.min(changedFrom, cut + 1);
        syncedTailsLost++;
        return true;
    }

    /**
     * @return true while the log is below what it had synced before a loss of synced entries.
     */
    public boolean holdingLostEntries() {
        return holdNoteAt != 0;
    }

    /**
     * @return while {@link #holdingLostEntries()}: the last index synced before the loss, and its term.
     */
    public long[] lostEntriesNote() {
        return new long[] {holdNoteAt, holdNoteTerm};
    }

    /**
     * Losses of synced entries.
     *
     * @return the count.
     */
    public long syncedTailsLost() {
        return syncedTailsLost;
    }

    /**
     * For a checker that keeps a copy of the log: the lowest index written, truncated or lost since the last call.
     *
     * @return that index, or {@link Long#MAX_VALUE} if nothing changed.
     */
    public long takeChangedFrom() {
        final long from = changedFrom;
        changedFrom = Long.MAX_VALUE;
        return from;
    }

    /**
     * Syncs so far.
     *
     * @return the count.
     */
    public long syncCount() {
        return syncCount;
    }

    /**
     * Crashes that tore an append.
     *
     * @return the count.
     */
    public long tornWrites() {
        return tornWrites;
    }

    /**
     * Unsynced operations crashes lost.
     *
     * @return the count.
     */
    public long lostOperations() {
        return lostOperations;
    }

    /**
     * Whether writes wait for a sync, which a crash could lose.
     *
     * @return true if anything was written since the last {@link #sync()}.
     */
    public boolean hasUnsynced() {
        return !pending.isEmpty();
    }
}
