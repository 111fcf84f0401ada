package io.cairn.engine.wal;

/**
 * The Raft log as Raft needs it: append a batch, make it durable, read entries by index, drop a conflicting suffix
 * (§5.3) and discard a prefix covered by a snapshot (§7), plus the hard state (term, vote, commit).
 *
 * <p>The log covers indexes {@code (baseIndex, lastIndex]}; {@code baseIndex}/{@code baseTerm} describe the entry
 * just below the first one kept (the snapshot point, or 0/0 for a new log). An empty log has
 * {@code lastIndex == baseIndex}.
 *
 * <p>Writes are not durable until {@link #sync()} returns: a crash may lose anything appended, truncated, compacted
 * or saved after the last sync, and recovery then serves the log as of some point at or after that sync (never a
 * torn or corrupt record). Single-threaded: one owner thread calls every method.
 */
public interface Wal extends AutoCloseable {
    /** Index and term of the empty log's base. */
    long NULL_INDEX = 0;

    /**
     * @return index of the first entry held, {@code baseIndex() + 1} (also when the log is empty).
     */
    long firstIndex();

    /**
     * @return index of the last entry held, or {@link #baseIndex()} when empty.
     */
    long lastIndex();

    /**
     * @return term of the last entry held, or {@link #baseTerm()} when empty.
     */
    long lastTerm();

    /**
     * @return the index just below the first entry held (snapshot point).
     */
    long baseIndex();

    /**
     * @return the term of {@link #baseIndex()}.
     */
    long baseTerm();

    /**
     * @param index an index in {@code [baseIndex, lastIndex]}.
     * @return the term of that entry (of the base for {@code baseIndex}), or -1 when the index is not held.
     */
    long term(long index);

    /**
     * Appends entries. The batch must start at {@code lastIndex() + 1} and its terms must not be below
     * {@link #lastTerm()}; to overwrite a conflicting suffix call {@link #truncateAfter(long)} first.
     *
     * @param batch staged entries; left as it was.
     */
    void append(WalBatch batch);

    /**
     * Drops every entry after {@code index} (a conflicting suffix, §5.3).
     *
     * @param index the last index kept, at least {@link #baseIndex()}.
     */
    void truncateAfter(long index);

    /**
     * Discards the entries before {@code index} (covered by a snapshot, §7) and deletes whole files that hold only
     * discarded entries. Syncs before deleting anything.
     *
     * @param index the first index kept, in {@code [firstIndex, lastIndex + 1]}.
     */
    void compactBefore(long index);

    /**
     * Discards the whole log and starts it again after a snapshot point (installing a snapshot from the leader).
     * Syncs before deleting anything.
     *
     * @param baseIndex the snapshot's last index.
     * @param baseTerm  the snapshot's last term.
     */
    void reset(long baseIndex, long baseTerm);

    /**
     * Records term, vote and commit index; durable with the next {@link #sync()}.
     *
     * @param term        current term.
     * @param vote        member voted for in it, or {@link HardState#NO_VOTE}.
     * @param commitIndex highest index known committed.
     */
    void saveHardState(long term, long vote, long commitIndex);

    /**
     * @return the hard state last saved (or recovered at open).
     */
    HardState hardState();

    /**
     * Makes everything written so far durable: returns only once the device has it (in durable mode).
     */
    void sync();

    /**
     * Reads one entry.
     *
     * @param index   index in {@code [firstIndex, lastIndex]}.
     * @param handler receives the entry as a view.
     * @return false when the index is not held or the record fails its checksum (reported, not served).
     */
    boolean read(long index, WalEntryHandler handler);

    /**
     * Reads entries in order from {@code fromIndex}, stopping after {@code toIndex}, after {@code entryCountMax}
     * entries, or once {@code bytesMax} payload bytes have been handed over (at least one entry is always read when
     * available).
     *
     * @param fromIndex     first index wanted.
     * @param toIndex       last index wanted (inclusive).
     * @param entryCountMax most entries to read.
     * @param bytesMax      payload byte budget.
     * @param handler       receives each entry as a view.
     * @return entries read.
     */
    int readRange(long fromIndex, long toIndex, int entryCountMax, long bytesMax, WalEntryHandler handler);

    /**
     * @return what recovery found wrong at open, or null if the log was clean.
     */
    WalCorruption recoveryReport();

    /**
     * Records this log had made durable and no longer has: after a sync the WAL notes how far it reached (forcing
     * the note to disk at most once a second, so the note may lag, never lead); a log that recovers to below that
     * point lost records after they were synced — a damaged disk, not a crash, whose torn tail holds only records
     * nobody was told of. This
     * member may have acknowledged those entries and a quorum may have counted on them: until it has them back it
     * must not campaign, nor vote for a candidate whose log is not at least as up to date as the log it had
     * (protocol-aware recovery, Alagappan et al., FAST '18).
     *
     * @return the last index synced before, when the log now ends below it; 0 when nothing synced was lost (or the
     *         note did not reach the disk).
     */
    default long lostSyncedThrough() {
        return 0;
    }

    /**
     * @return the term of the entry at {@link #lostSyncedThrough()} (0 when nothing synced was lost): a candidate
     *         whose log is not at least as up to date as that entry may lack what this member acknowledged.
     */
    default long lostSyncedTerm() {
        return 0;
    }

    /**
     * Closes the files. Unsynced writes reach the page cache and so survive a process crash, but not a power loss.
     */
    @Override
    void close();
}
