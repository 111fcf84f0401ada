package io.cairn.engine.wal;

import io.cairn.engine.check.Check;
import io.cairn.engine.files.DurableFiles;
import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.bytes.BytesStore;
import net.openhft.chronicle.bytes.MappedBytesStore;
import net.openhft.chronicle.bytes.SyncMode;
import net.openhft.chronicle.core.values.LongValue;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.queue.RollCycle;
import net.openhft.chronicle.queue.RollCycles;
import net.openhft.chronicle.queue.TailerDirection;
import net.openhft.chronicle.queue.impl.TableStore;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder;
import net.openhft.chronicle.queue.rollcycles.TestRollCycles;
import net.openhft.chronicle.wire.DocumentContext;
import net.openhft.posix.MAdviseFlag;
import net.openhft.posix.PosixAPI;
import org.agrona.DirectBuffer;
import org.agrona.collections.IntArrayList;
import org.agrona.collections.LongArrayList;
import org.agrona.concurrent.UnsafeBuffer;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The WAL on Chronicle Queue. Chronicle only appends, so the Raft operations it lacks are built above it: every
 * change to the log is a record appended to the queue, and the logical log is what replaying those records in order
 * yields ({@link WalIndex}, rebuilt on open).
 *
 * <pre>
 * directory/
 *   cairn-wal.properties     format=1 (a directory of an unknown format is refused at open)
 *   wal.lock                 held (flock) by the one process that has the WAL open
 *   metadata.cq4t            Chronicle's own table store
 *   yyyyMMdd-HHmm.cq4        one file per roll cycle, each a sequence of excerpts:
 *
 *   | chronicle hdr | WalRecord ENTRY 1 | chronicle hdr | WalRecord ENTRY 2 | ... | TRUNCATE 1 | ENTRY 2' | ...
 *                     ^ our framing: magic, crc32c, kind, type, format, index, term, length, payload
 *
 *   replay:  ENTRY i          appended when i == last + 1 (the first entry of a compacted log sets the base)
 *            TRUNCATE i       entries after i dropped
 *            BASE i, t        entries at or below i dropped; the log starts after i (term t)
 *            HARD_STATE       the latest one wins
 * </pre>
 *
 * <p>Compaction writes a BASE record and a fresh HARD_STATE into the current file, syncs, then deletes the oldest
 * files whose entries all lie at or below the base: only a prefix of files, never one in the middle, since a
 * TRUNCATE record acts on records before it. Recovery reads every record and checks its checksum; the first bad one
 * (a torn tail after a crash, or corruption) ends the valid log, is reported with its file and position, and is
 * fenced off by a recovery TRUNCATE record so that appends made after it are trusted on the next open. Valid
 * HARD_STATE records past a bad one are still honoured: a vote, once cast, is never forgotten.
 */
public final class ChronicleWal implements Wal {
    /** The WAL's directory format. */
    public static final int DIRECTORY_FORMAT = 1;
    /** The file that marks a directory as a Cairn WAL and names its format. */
    public static final String FORMAT_FILE = "cairn-wal.properties";
    static final String LOCK_FILE = "wal.lock";
    private static final String TABLE_STORE_FILE = "metadata.cq4t";
    /**
     * Beside the queue: the last index a sync made durable, its term, and a check word (a page that is not whole
     * fails it and reads as no note).
     */
    static final String SYNCED_FILE = "synced-through";
    private static final int NOTE_BYTES = 3 * Long.BYTES;
    private static final long NOTE_FORCE_INTERVAL_NS = 1_000_000_000L;
    /** Marks a TRUNCATE record written by recovery to fence off bad records before it. */
    static final byte TYPE_RECOVERY = 1;
    private static final System.Logger LOG = System.getLogger(ChronicleWal.class.getName());
    private static final int STATE_RECORD_BYTES = WalRecord.HEADER_LENGTH + Long.BYTES;

    private final WalConfig config;
    private final FileChannel lockChannel;
    private final FileLock lock;
    private final SingleChronicleQueue queue;
    private ExcerptAppender appender; // made at open, once the clock is past every file (null: read-only)
    private final ExcerptTailer tailer;
    private final RollCycle rollCycle;
    private final WalIndex index = new WalIndex();
    private final HardState hardState = new HardState();
    private final WalRecord record = new WalRecord();
    private final UnsafeBuffer stateRecord = new UnsafeBuffer(ByteBuffer.allocateDirect(STATE_RECORD_BYTES));
    private final UnsafeBuffer payloadView = new UnsafeBuffer(0, 0);
    /**
     * Chronicle's file names (UTC, the roll cycle's pattern). A cycle's file is found by its name: Chronicle's
     * store-file listener reports acquired files late, from its background releaser thread.
     */
    private final java.time.format.DateTimeFormatter fileNames;
    // Cycles in ascending order with the highest entry index written in each (dead entries included).
    private final IntArrayList cycles = new IntArrayList();
    private final LongArrayList cycleIndexMax = new LongArrayList();
    private WalCorruption recoveryReport;
    /** The sync note ({@link #SYNCED_FILE}): mapped, written after each sync, forced to disk at most once a second. */
    private MappedByteBuffer syncedNote;
    private long noted;
    private long notedTerm;
    private long notedAtOpen;
    private long noteForcedNs;
    private long lostSyncedThrough;
    private long lostSyncedTerm;
    /** While the log is still below what it had synced before its loss, the note stays there. */
    private long holdNoteAt;
    private long holdNoteTerm;
    private BytesStore<?, ?> advisedStore;
    private int writtenCycle = Integer.MIN_VALUE;
    /** The highest entry or base index in any valid record at recovery, truncated ones included. */
    private long highestIndexSeen;
    private boolean unsynced;
    private boolean rolledSinceSync;
    private boolean closed;
    /** The earliest time the appender may see: moves it past the last file at open (see {@link #open}). */
    private long clockFloorMs;
    private FileChannel syncChannel;
    private int syncChannelCycle;

    private ChronicleWal(
        final WalConfig config, final FileChannel lockChannel, final FileLock lock, final boolean readOnly) {
        this.config = config;
        this.lockChannel = lockChannel;
        this.lock = lock;
        this.rollCycle = rollCycle(config.rollCycle());
        this.fileNames = java.time.format.DateTimeFormatter.ofPattern(rollCycle.format())
            .withZone(java.time.ZoneOffset.UTC);
        this.queue = SingleChronicleQueueBuilder.binary(config.directory())
            .rollCycle(rollCycle)
            .syncMode(config.durable() ? SyncMode.SYNC : SyncMode.NONE)
            .blockSize(Math.max(64L << 20, 4L * config.entryBytesMax()))
            .timeProvider(this::clockMs)
            .readOnly(readOnly)
            .build();
        this.tailer = queue.createTailer();
    }

    private int lastCycleOnDisk() throws IOException {
        int last = Integer.MIN_VALUE;
        try (var files = Files.list(config.directory())) {
            for (final Path file : files.toList()) {
                final String name = file.getFileName().toString();
                if (!name.endsWith(".cq4")) {
                    continue;
                }
                final long ms = java.time.LocalDateTime.parse(name.substring(0, name.length() - 4), fileNames)
                    .toInstant(java.time.ZoneOffset.UTC).toEpochMilli();
                last = Math.max(last, (int)((ms - rollCycle.defaultEpoch()) / rollCycle.lengthInMillis()));
            }
        }
        return last;
    }

    /** The file Chronicle writes {@code cycle} to (the inverse of {@link #lastCycleOnDisk}'s parsing). */
    private File fileOf(final int cycle) {
        final long ms = rollCycle.defaultEpoch() + (long)cycle * rollCycle.lengthInMillis();
        return config.directory().resolve(fileNames.format(java.time.Instant.ofEpochMilli(ms)) + ".cq4").toFile();
    }

    private long clockMs() {
        return Math.max(config.clockMs().getAsLong(), clockFloorMs);
    }

    /**
     * Makes the appender start a file of its own, after every file there is. Chronicle keeps an index of each file's
     * excerpts and a write position in the file's header, written through the mapping like the excerpts but not in
     * the order they were written: after a power failure a file may hold index entries and a write position for
     * excerpts that never reached the disk. Reading forward is unaffected (recovery reads excerpt headers, and stops
     * at the first that is missing or fails its checksum), but appending into such a file would give new excerpts
     * sequence numbers whose stale index entries point elsewhere. A new file per open costs one file per restart.
     */
    private void appendInNewFile() throws IOException {
        // The files on disk decide, not Chronicle's listing: after a power cut its table store may be rebuilt, and a
        // listing that missed the newest file would send appends into it.
        queue.refreshDirectoryListing();
        final int last = Math.max(queue.lastCycle(), lastCycleOnDisk());
        if (last == Integer.MIN_VALUE || last < 0) {
            return; // no files yet
        }
        clockFloorMs = rollCycle.defaultEpoch() + (long)(last + 1) * rollCycle.lengthInMillis();
        Check.state(queue.cycle() > last, "the appender's cycle moves past the last file", queue.cycle(), last);
    }

    /**
     * Opens (creating if absent) the WAL in {@code config.directory()}, recovers the logical log from its records and
     * fences off a torn or corrupt tail.
     *
     * @param config settings.
     * @return the open WAL.
     * @throws IOException if the directory cannot be used: another process holds it, its format is unknown, or
     *                     durable mode was asked for but Chronicle's native msync is not available.
     */
    public static ChronicleWal open(final WalConfig config) throws IOException {
        final Path directory = config.directory();
        Files.createDirectories(directory);
        checkFormat(directory);
        if (config.durable()) {
            checkNativeSync();
        } else {
            LOG.log(System.Logger.Level.WARNING, "WAL at " + directory + " opened with fsync OFF: acknowledged "
                + "writes can be lost on power failure. For measuring only.");
        }
        final FileChannel lockChannel = FileChannel.open(
            directory.resolve(LOCK_FILE), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock lock = null;
        try {
            lock = lockChannel.tryLock();
        } catch (final OverlappingFileLockException ex) {
            lock = null;
        }
        if (lock == null) {
            lockChannel.close();
            throw new IOException("WAL at " + directory + " is in use by another process or instance");
        }
        final ChronicleWal wal;
        try {
            dropUnwrittenTableStore(directory);
            wal = new ChronicleWal(config, lockChannel, lock, false);
            wal.releaseLeftLocks();
        } catch (final RuntimeException ex) {
            lock.release();
            lockChannel.close();
            throw new IOException("cannot open Chronicle Queue at " + directory + ": " + ex, ex);
        }
        wal.appendInNewFile();
        // Only now: an appender made before the clock moved writes its first records into the newest old file,
        // after whatever a power cut left at its end (PowerLossIT found ~150 synced records hidden that way).
        wal.appender = wal.queue.createAppender();
        final long[] noted = readSyncedNote(directory);
        wal.recover(noted[0]);
        wal.checkSyncedNote(noted, true);
        wal.syncedNote = mapSyncedNote(directory);
        return wal;
    }

    /**
     * Opens a WAL read-only, as a check tool would: replays and validates every record, writes nothing (no
     * recovery fence, no lock), and refuses every write. May run beside the process that owns the WAL.
     *
     * @param directory the WAL's directory.
     * @return the recovered log, read-only; {@link #recoveryReport()} says what is wrong, if anything.
     * @throws IOException if the directory is not a Cairn WAL.
     */
    public static ChronicleWal inspect(final Path directory) throws IOException {
        final Path formatFile = directory.resolve(FORMAT_FILE);
        if (!Files.exists(formatFile)) {
            throw new IOException(directory + " is not a Cairn WAL: no " + FORMAT_FILE);
        }
        checkFormat(directory);
        final WalConfig config = WalConfig.durable(directory).withDurable(false);
        try (FileChannel lockChannel = FileChannel.open(directory.resolve(LOCK_FILE), StandardOpenOption.CREATE,
            StandardOpenOption.WRITE); FileLock free = lockChannel.tryLock()) {
            if (free != null) {
                dropUnwrittenTableStore(directory); // no owner: nobody is about to write it
            }
        } catch (final OverlappingFileLockException ex) {
            // this process owns the WAL: its table store is written
        }
        final ChronicleWal wal;
        try {
            wal = new ChronicleWal(config, null, null, true);
        } catch (final RuntimeException ex) {
            throw new IOException("cannot open Chronicle Queue at " + directory + ": " + ex, ex);
        }
        final long[] noted = readSyncedNote(directory);
        wal.recover(noted[0]);
        wal.checkSyncedNote(noted, false); // the owner reports it when it opens
        return wal;
    }

    /**
     * @return the Chronicle Queue files holding the log, oldest first.
     */
    public int fileCount() {
        return cycles.size();
    }

    /**
     * Chronicle's own write and append locks live in its table store and name their holder by process id. A process
     * killed while appending leaves one held; Chronicle frees it at open only if no process with that id is alive,
     * and otherwise waits 15 s and fails ("Couldn't acquire write lock"). Process ids are reused (32,768 of them on
     * a stock Linux, shared with threads), so a member killed once could be refused for good. This process holds
     * {@value #LOCK_FILE}, so it is the WAL's only writer: any Chronicle lock still held is left by a dead one and is
     * released here, before the first append.
     */
    private void releaseLeftLocks() {
        final TableStore<?> store = queue.metaStore();
        final List<String> keys = new ArrayList<>();
        store.forEachKey(keys, (found, key, value) -> {
            if (key.toString().endsWith(".lock")) {
                found.add(key.toString());
            }
        });
        for (final String key : keys) {
            try (LongValue holder = store.acquireValueFor(key)) {
                final long pid = holder.getVolatileValue();
                if (pid != Long.MIN_VALUE) {
                    holder.setOrderedValue(Long.MIN_VALUE);
                    LOG.log(System.Logger.Level.WARNING, "released Chronicle's " + key + " in " + config.directory()
                        + ", left held by process " + pid + " (this process owns the WAL through " + LOCK_FILE + ")");
                }
            }
        }
    }

    /**
     * Chronicle's table store ({@code metadata.cq4t}: its directory listing, derived from the queue files) is
     * written through a mapping that nothing syncs. A power cut can leave it allocated but never written: Chronicle
     * would then wait for another process to write its header and give up ("Unable to claim exclusive shared lock").
     * Such a file holds nothing; it is deleted and Chronicle builds it again from the files in the directory.
     */
    private static void dropUnwrittenTableStore(final Path directory) throws IOException {
        final Path tableStore = directory.resolve(TABLE_STORE_FILE);
        if (!Files.exists(tableStore)) {
            return;
        }
        final ByteBuffer header = ByteBuffer.allocate(Integer.BYTES);
        try (FileChannel channel = FileChannel.open(tableStore, StandardOpenOption.READ)) {
            while (header.hasRemaining() && channel.read(header) >= 0) {
                continue;
            }
        }
        if (header.position() < Integer.BYTES || header.getInt(0) == 0) {
            LOG.log(System.Logger.Level.WARNING, "Chronicle''s table store {0} was never written to the disk (power"
                + " lost before the kernel wrote it back): deleted; Chronicle rebuilds it from the queue files",
                tableStore);
            Files.delete(tableStore);
            DurableFiles.syncDirectory(directory);
        }
    }

    private static long[] readSyncedNote(final Path directory) throws IOException {
        final Path file = directory.resolve(SYNCED_FILE);
        if (!Files.exists(file)) {
            return new long[2];
        }
        final ByteBuffer note = ByteBuffer.allocate(NOTE_BYTES);
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            while (note.hasRemaining() && channel.read(note) >= 0) {
                continue;
            }
        }
        if (note.hasRemaining()) {
            return new long[2];
        }
        final long index = note.getLong(0);
        final long term = note.getLong(Long.BYTES);
        return index > 0 && note.getLong(2 * Long.BYTES) == noteCheck(index, term) ? new long[] {index, term}
            : new long[2];
    }

    private static long noteCheck(final long index, final long term) {
        return ~(index * 0x9E3779B97F4A7C15L ^ term);
    }

    private static MappedByteBuffer mapSyncedNote(final Path directory) throws IOException {
        try (FileChannel channel = FileChannel.open(directory.resolve(SYNCED_FILE), StandardOpenOption.CREATE,
            StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            return channel.map(FileChannel.MapMode.READ_WRITE, 0, NOTE_BYTES);
        }
    }

    private void checkSyncedNote(final long[] note, final boolean report) {
        this.noted = note[0];
        this.notedTerm = note[1];
        if (note[0] > highestIndexSeen) {
            lostSyncedThrough = note[0];
            lostSyncedTerm = note[1];
            holdNoteAt = note[0];
            holdNoteTerm = note[1];
            if (!report) {
                return;
            }
            LOG.log(System.Logger.Level.ERROR, "WAL at " + config.directory() + " ends at index " + index.lastIndex()
                + " but had synced entries through " + note[0] + " (term " + note[1] + "; " + (recoveryReport == null
                ? "no damage seen" : recoveryReport) + "): records this member may have acknowledged were lost"
                + " after they reached the disk. Until a leader has given it entries through " + note[0] + " again"
                + " it will not campaign, and votes only for a candidate whose log reaches that entry.");
        }
    }

    @Override
    public long lostSyncedThrough() {
        return lostSyncedThrough;
    }

    @Override
    public long lostSyncedTerm() {
        return lostSyncedTerm;
    }

    private static void checkFormat(final Path directory) throws IOException {
        final Path formatFile = directory.resolve(FORMAT_FILE);
        final String expected = "format=" + DIRECTORY_FORMAT;
        if (!Files.exists(formatFile)) {
            try (var files = Files.list(directory)) {
                if (files.anyMatch(p -> p.getFileName().toString().endsWith(".cq4"))) {
                    throw new IOException("WAL directory " + directory + " holds queue files but no " + FORMAT_FILE
                        + ": not a Cairn WAL, or from an unknown version; refusing to open it");
                }
            }
            // Durably: a format file the power cut left empty would refuse a WAL whose records were synced.
            final Path temporary = directory.resolve(FORMAT_FILE + ".writing");
            Files.writeString(temporary, expected + "\n", StandardCharsets.US_ASCII);
            DurableFiles.moveDurably(temporary, formatFile);
            return;
        }
        final String found = Files.readString(formatFile, StandardCharsets.US_ASCII).trim();
        if (!found.equals(expected)) {
            throw new IOException("WAL directory " + directory + " has " + found + " but this Cairn reads "
                + expected + " only; refusing to open it");
        }
    }

    private static void checkNativeSync() throws IOException {
        final String api;
        try {
            api = PosixAPI.posix().getClass().getName();
        } catch (final LinkageError | RuntimeException ex) {
            throw new IOException("Chronicle's native layer failed to load (" + ex + "): msync would do nothing, so "
                + "a durable WAL cannot be opened", ex);
        }
        if (api.contains("NoOp")) {
            throw new IOException("Chronicle's native layer did not load (" + api + "): msync would do nothing, so a"
                + " durable WAL cannot be opened. Check JNA/jnr on this platform, or open with durable=false to"
                + " measure without fsync");
        }
    }

    static RollCycle rollCycle(final String name) {
        for (final RollCycles cycle : RollCycles.values()) {
            if (cycle.name().equals(name)) {
                return cycle;
            }
        }
        for (final TestRollCycles cycle : TestRollCycles.values()) {
            if (cycle.name().equals(name)) {
                return cycle;
            }
        }
        throw new IllegalArgumentException("unknown roll cycle " + name);
    }

    @Override
    public long firstIndex() {
        return index.baseIndex() + 1;
    }

    @Override
    public long lastIndex() {
        return index.lastIndex();
    }

    @Override
    public long lastTerm() {
        return index.lastTerm();
    }

    @Override
    public long baseIndex() {
        return index.baseIndex();
    }

    @Override
    public long baseTerm() {
        return index.baseTerm();
    }

    @Override
    public long term(final long entryIndex) {
        return index.term(entryIndex);
    }

    @Override
    public HardState hardState() {
        return hardState;
    }

    @Override
    public WalCorruption recoveryReport() {
        return recoveryReport;
    }

    @Override
    public void append(final WalBatch batch) {
        checkWritable();
        if (batch.entryCount() == 0) {
            return;
        }
        Check.state(batch.firstIndex() == index.lastIndex() + 1, "append must follow the last index",
            index.lastIndex(), batch.firstIndex());
        final DirectBuffer source = batch.buffer();
        int offset = 0;
        final int end = batch.length();
        long previousTerm = index.lastTerm();
        while (offset < end) {
            record.wrap(source, offset, end - offset);
            final int recordLength = record.recordLength();
            Check.state(record.payloadLength() <= config.entryBytesMax(), "entry larger than entryBytesMax",
                record.payloadLength());
            final long entryTerm = record.term();
            Check.state(entryTerm >= previousTerm, "terms must not decrease", previousTerm, entryTerm);
            final long entryIndex = record.index();
            final long position = write(source, offset, recordLength);
            index.append(entryIndex, entryTerm, position);
            noteCycle(position, entryIndex);
            previousTerm = entryTerm;
            offset += recordLength;
        }
    }

    @Override
    public void truncateAfter(final long entryIndex) {
        checkWritable();
        Check.state(entryIndex >= index.baseIndex(), "cannot truncate below the base", index.baseIndex(), entryIndex);
        if (entryIndex >= index.lastIndex()) {
            return;
        }
        writeStateRecord(WalRecord.KIND_TRUNCATE, (byte)0, entryIndex, 0, 0);
        index.truncateAfter(entryIndex);
    }

    @Override
    public void compactBefore(final long entryIndex) {
        checkWritable();
        Check.state(entryIndex >= firstIndex() && entryIndex <= index.lastIndex() + 1,
            "compaction point outside the log", firstIndex(), entryIndex);
        if (entryIndex == firstIndex()) {
            return;
        }
        final long newBase = entryIndex - 1;
        rebase(newBase, index.term(newBase));
    }

    @Override
    public void reset(final long newBaseIndex, final long newBaseTerm) {
        checkWritable();
        Check.state(newBaseIndex >= index.baseIndex() && newBaseTerm >= 0, "reset below the base",
            index.baseIndex(), newBaseIndex);
        if (index.count() > 0) {
            writeStateRecord(WalRecord.KIND_TRUNCATE, (byte)0, index.baseIndex(), 0, 0);
            index.truncateAfter(index.baseIndex());
        }
        rebase(newBaseIndex, newBaseTerm);
    }

    private void rebase(final long newBase, final long newBaseTerm) {
        writeStateRecord(WalRecord.KIND_BASE, (byte)0, newBase, newBaseTerm, 0);
        writeStateRecord(WalRecord.KIND_HARD_STATE, (byte)0, hardState.commitIndex(), hardState.term(),
            hardState.vote());
        sync();
        index.rebase(newBase, newBaseTerm);
        deleteCompactedFiles(newBase);
    }

    @Override
    public void saveHardState(final long term, final long vote, final long commitIndex) {
        checkWritable();
        writeStateRecord(WalRecord.KIND_HARD_STATE, (byte)0, commitIndex, term, vote);
        hardState.set(term, vote, commitIndex);
    }

    @Override
    public void sync() {
        checkOpen();
        if (!config.durable() || !unsynced || appender == null) {
            return;
        }
        syncFile(writtenCycle);
        if (rolledSinceSync) {
            // A new file's directory entry must be durable too, or a power loss could lose the whole file.
            syncDirectory();
            rolledSinceSync = false;
        }
        unsynced = false;
        if (holdNoteAt != 0 && index.lastIndex() >= holdNoteAt) {
            holdNoteAt = 0; // the entries are back
        }
        final boolean holding = holdNoteAt > index.lastIndex();
        final long last = holding ? holdNoteAt : index.lastIndex();
        final long lastTerm = holding ? holdNoteTerm : index.lastTerm();
        if (syncedNote != null && (last != noted || lastTerm != notedTerm)) {
            // After the sync, never before: the note may lag what is durable, never lead it.
            syncedNote.putLong(0, last);
            syncedNote.putLong(Long.BYTES, lastTerm);
            syncedNote.putLong(2 * Long.BYTES, noteCheck(last, lastTerm));
            noted = last;
            notedTerm = lastTerm;
            final long nowNs = System.nanoTime();
            if (nowNs - noteForcedNs >= NOTE_FORCE_INTERVAL_NS) {
                // At most a second behind on the disk: recovery tells a write-back torn by a power cut (everything
                // past the note) from damage to what was synced (below it).
                syncedNote.force();
                noteForcedNs = nowNs;
            }
        }
    }

    /**
     * Makes the whole file of {@code cycle} durable: {@code fdatasync} of the file, not Chronicle's msync of the range
     * it wrote. Chronicle also writes its index of the file's excerpts and the file's write position through the
     * mapping, outside that range; synced with the excerpts they stay true after a power failure, where a range sync
     * left them to the kernel's write-back (PowerLossIT found a file whose index, half lost, sent a reader past 150
     * synced records). The dirty pages are the same few plus the index's, so the device does the same work.
     */
    private void syncFile(final int cycle) {
        try {
            if (syncChannel == null || syncChannelCycle != cycle) {
                if (syncChannel != null) {
                    syncChannel.close();
                }
                syncChannel = FileChannel.open(fileOf(cycle).toPath(), StandardOpenOption.WRITE);
                syncChannelCycle = cycle;
            }
            syncChannel.force(false);
        } catch (final IOException ex) {
            throw new UncheckedIOException("fdatasync of WAL file " + fileOf(cycle) + " failed", ex);
        }
    }

    private void syncDirectory() {
        try {
            DurableFiles.syncDirectory(config.directory());
        } catch (final IOException ex) {
            throw new UncheckedIOException("fsync of WAL directory " + config.directory() + " failed", ex);
        }
    }

    @Override
    public boolean read(final long entryIndex, final WalEntryHandler handler) {
        checkOpen();
        if (!index.contains(entryIndex)) {
            return false;
        }
        return readAt(entryIndex, index.position(entryIndex), handler) >= 0;
    }

    @Override
    public int readRange(
        final long fromIndex,
        final long toIndex,
        final int entryCountMax,
        final long bytesMax,
        final WalEntryHandler handler) {
        checkOpen();
        final long last = Math.min(toIndex, index.lastIndex());
        int entryCount = 0;
        long bytes = 0;
        for (long i = Math.max(fromIndex, firstIndex()); i <= last && entryCount < entryCountMax; i++) {
            if (entryCount > 0 && bytes >= bytesMax) {
                break;
            }
            final int payloadLength = readAt(i, index.position(i), handler);
            if (payloadLength < 0) {
                break;
            }
            bytes += payloadLength;
            entryCount++;
        }
        return entryCount;
    }

    /**
     * @return payload length handed to the handler, or -1 if the record could not be served.
     */
    private int readAt(final long entryIndex, final long position, final WalEntryHandler handler) {
        if (tailer.index() != position && !tailer.moveToIndex(position)) {
            LOG.log(System.Logger.Level.ERROR, "WAL entry " + entryIndex + " missing from the queue at " + position);
            return -1;
        }
        try (DocumentContext dc = tailer.readingDocument()) {
            if (!dc.isPresent()) {
                LOG.log(System.Logger.Level.ERROR, "WAL entry " + entryIndex + " not readable at " + position);
                return -1;
            }
            final Bytes<?> bytes = dc.wire().bytes();
            final long start = bytes.readPosition();
            final int length = (int)bytes.readRemaining();
            record.wrap(bytes.addressForRead(start, length), length);
            final int validity = record.validate();
            if (validity != WalRecord.VALID || record.kind() != WalRecord.KIND_ENTRY || record.index() != entryIndex) {
                // Valid at open, bad now: the file changed under us. Report, never serve.
                LOG.log(System.Logger.Level.ERROR, "WAL entry " + entryIndex + " failed validation (" + validity
                    + ") in " + tailer.currentFile() + " at byte " + start);
                return -1;
            }
            final int payloadLength = record.payloadLength();
            payloadView.wrap(record.buffer(), WalRecord.HEADER_LENGTH, payloadLength);
            handler.onEntry(entryIndex, record.term(), record.type(), payloadView, 0, payloadLength);
            return payloadLength;
        }
    }

    private long write(final DirectBuffer source, final int offset, final int length) {
        if (unsynced && config.durable() && queue.cycle() != writtenCycle) {
            // The appender is about to roll to a new file: make the old one durable first, since a later sync()
            // reaches the new file only.
            syncFile(writtenCycle);
            rolledSinceSync = true;
        }
        try (DocumentContext dc = appender.writingDocument()) {
            final Bytes<?> bytes = dc.wire().bytes();
            final byte[] array = source.byteArray();
            if (array != null) {
                bytes.write(array, offset, length);
            } else {
                bytes.unsafeWrite(source.addressOffset() + offset, length);
            }
            adviseRandomAccess(bytes.bytesStore());
        }
        final long position = appender.lastIndexAppended();
        final int cycle = rollCycle.toCycle(position);
        if (cycle != writtenCycle) {
            writtenCycle = cycle;
            rolledSinceSync = true;
        }
        unsynced = true;
        return position;
    }

    /**
     * Advises each new mapping of the queue as random access. Measured on ext4 (2 cores, virtio disk), batches of
     * 256 entries of 256 B, one msync each: with the default advice the device wrote 21 bytes per byte logged; with
     * MADV_RANDOM 1.12, against 1.10 for plain write + fdatasync of the same bytes (SyncProbe in bench).
     */
    private void adviseRandomAccess(final BytesStore<?, ?> store) {
        if (store == advisedStore || !(store instanceof MappedBytesStore)) {
            return;
        }
        advisedStore = store;
        final long start = store.start();
        final long address = store.addressForRead(start);
        final long length = store.realCapacity() - start;
        if (length > 0) {
            final int result = PosixAPI.posix().madvise(address, length, MAdviseFlag.MADV_RANDOM);
            if (result != 0) {
                LOG.log(System.Logger.Level.WARNING, "madvise(MADV_RANDOM) on the WAL mapping failed: " + result);
            }
        }
    }

    private void writeStateRecord(
        final byte kind, final byte type, final long entryIndex, final long term, final long value) {
        final int length = WalRecord.encodeLong(stateRecord, 0, kind, type, entryIndex, term, value);
        final long position = write(stateRecord, 0, length);
        noteCycle(position, -1);
    }

    private void noteCycle(final long position, final long entryIndex) {
        final int cycle = rollCycle.toCycle(position);
        final int last = cycles.size() - 1;
        if (last >= 0 && cycles.getInt(last) == cycle) {
            if (entryIndex > cycleIndexMax.getLong(last)) {
                cycleIndexMax.setLong(last, entryIndex);
            }
        } else {
            Check.state(last < 0 || cycles.getInt(last) < cycle, "queue cycles must increase", cycle);
            cycles.addInt(cycle);
            cycleIndexMax.addLong(entryIndex);
        }
    }

    private void deleteCompactedFiles(final long newBase) {
        final int current = rollCycle.toCycle(appender.lastIndexAppended());
        int deleted = 0;
        while (deleted < cycles.size() - 1) {
            final int cycle = cycles.getInt(deleted);
            if (cycle >= current || cycleIndexMax.getLong(deleted) > newBase) {
                break;
            }
            final File file = fileOf(cycle);
            try {
                Files.deleteIfExists(file.toPath());
            } catch (final IOException ex) {
                LOG.log(System.Logger.Level.WARNING, "could not delete compacted WAL file " + file + ": " + ex);
                break;
            }
            deleted++;
        }
        if (deleted > 0) {
            for (int i = 0; i < deleted; i++) {
                cycles.removeAt(0);
                cycleIndexMax.removeAt(0);
            }
            queue.refreshDirectoryListing();
        }
    }

    /**
     * Replays every record from the start of the queue, rebuilding the index and hard state. Stops serving at the
     * first bad record; a later recovery TRUNCATE record (written by an earlier recovery) resumes it. A first pass
     * finds how far compaction went ({@link BaseScan}): the second may then meet entries whose predecessors were in
     * files compaction deleted.
     */
    private void recover(final long noted) {
        notedAtOpen = noted;
        queue.refreshDirectoryListing(); // every file, the newest included, for the walks below
        final BaseScan scan = new BaseScan();
        walk(scan);
        final Recovery recovery = new Recovery(scan.compactedThrough);
        walk(recovery);
        recovery.finish();
    }

    /** Something that reads the queue's records in order, each wrapped in {@link #record} when called. */
    private interface RecordVisitor {
        void onRecord(long position, long bytePosition);

        /** Chronicle's own framing is broken: nothing past here can be read at all. */
        void onUnreadable(RuntimeException ex);
    }

    private void walk(final RecordVisitor visitor) {
        tailer.toStart();
        int lastCycleRead = Integer.MIN_VALUE;
        while (true) {
            try (DocumentContext dc = tailer.readingDocument()) {
                if (!dc.isPresent()) {
                    // The end of a file with no end-of-file mark (a crash or power cut) hides the files after it from
                    // a tailer: go on to the next file explicitly. Records after the end of what was readable in the
                    // old file never reached the disk whole; the next file holds what was appended after a restart.
                    final int next = nextCycleAfter(Math.max(lastCycleRead, tailer.cycle()));
                    if (next == Integer.MIN_VALUE || !tailer.moveToCycle(next)) {
                        break;
                    }
                    lastCycleRead = next;
                    continue;
                }
                lastCycleRead = Math.max(lastCycleRead, rollCycle.toCycle(dc.index()));
                final Bytes<?> bytes = dc.wire().bytes();
                final long start = bytes.readPosition();
                final int length = (int)bytes.readRemaining();
                record.wrap(bytes.addressForRead(start, length), length);
                visitor.onRecord(dc.index(), start);
            } catch (final RuntimeException ex) {
                visitor.onUnreadable(ex);
                break;
            }
        }
    }

    private int nextCycleAfter(final int cycle) {
        if (cycle == Integer.MIN_VALUE || cycle >= queue.lastCycle()) {
            return Integer.MIN_VALUE;
        }
        try {
            final int next = queue.nextCycle(cycle, TailerDirection.FORWARD);
            return next > cycle ? next : Integer.MIN_VALUE;
        } catch (final java.text.ParseException ex) {
            throw new IllegalStateException("a WAL file name Chronicle cannot parse in " + config.directory(), ex);
        }
    }

    /**
     * The first pass: the highest index a BASE record moved the base to, among the records recovery will trust (a
     * bad record fences off what follows it, up to a recovery TRUNCATE, as in {@link Recovery}). A BASE record is
     * written and synced before compaction deletes a file, and deletes only files whose entries are all at or below
     * it, so entries missing at or below this index were compacted away, not lost: a durable snapshot covers them.
     */
    private final class BaseScan implements RecordVisitor {
        private long compactedThrough;
        private boolean fenced;

        @Override
        public void onRecord(final long position, final long bytePosition) {
            if (record.validate() != WalRecord.VALID) {
                fenced = true;
            } else if (record.kind() == WalRecord.KIND_TRUNCATE && record.type() == TYPE_RECOVERY) {
                fenced = false;
            } else if (record.kind() == WalRecord.KIND_BASE && !fenced) {
                compactedThrough = Math.max(compactedThrough, record.index());
            }
        }

        @Override
        public void onUnreadable(final RuntimeException ex) {
            fenced = true;
        }
    }

    private final class Recovery implements RecordVisitor {
        /** See {@link BaseScan}. */
        private final long compactedThrough;
        /** The base comes from the first entry found, not from a BASE record: the files before were deleted. */
        private boolean baseGuessed = true;
        private boolean fenced;
        private File badFile;
        private long badPosition;
        private String badReason;
        private long discarded;

        Recovery(final long compactedThrough) {
            this.compactedThrough = compactedThrough;
        }

        @Override
        public void onRecord(final long position, final long bytePosition) {
            final int validity = record.validate();
            if (validity != WalRecord.VALID) {
                onBad(bytePosition, reason(validity));
                return;
            }
            final byte kind = record.kind();
            if (fenced) {
                if (kind == WalRecord.KIND_HARD_STATE) {
                    // Term and vote stand on their own (checksummed, independent of the entries before them):
                    // forgetting a vote could let this node vote twice in one term (§5.2), so keep it.
                    apply(position, bytePosition, kind);
                    return;
                }
                if (kind == WalRecord.KIND_TRUNCATE && record.type() == TYPE_RECOVERY) {
                    fenced = false;
                    LOG.log(System.Logger.Level.INFO, "WAL: a bad record at byte " + badPosition + " of " + badFile
                        + " was fenced off by an earlier recovery");
                    badReason = null;
                } else {
                    discarded++;
                    return;
                }
            }
            apply(position, bytePosition, kind);
        }

        private void apply(final long position, final long bytePosition, final byte kind) {
            final long recordIndex = record.index();
            final long recordTerm = record.term();
            if (kind == WalRecord.KIND_ENTRY || kind == WalRecord.KIND_BASE) {
                highestIndexSeen = Math.max(highestIndexSeen, recordIndex);
            }
            switch (kind) {
                case WalRecord.KIND_ENTRY -> {
                    if (compactedAway(recordIndex)) {
                        // The entries before this one were in files compaction deleted (a BASE record later on, at
                        // or above recordIndex - 1, settles the base); until then this entry starts the log.
                        index.truncateAfter(index.baseIndex());
                        index.restart(recordIndex - 1, 0);
                        baseGuessed = true;
                    }
                    if (recordIndex != index.lastIndex() + 1 || recordTerm < index.lastTerm()) {
                        onBad(bytePosition, "entry " + recordIndex + " (term " + recordTerm
                            + ") does not follow index " + index.lastIndex() + " (term " + index.lastTerm() + ")");
                        return;
                    }
                    index.append(recordIndex, recordTerm, position);
                    noteCycle(position, recordIndex);
                }
                case WalRecord.KIND_TRUNCATE -> {
                    index.truncateAfter(Math.max(recordIndex, index.baseIndex()));
                    noteCycle(position, -1);
                }
                case WalRecord.KIND_BASE -> {
                    baseGuessed = false;
                    index.rebase(recordIndex, recordTerm);
                    noteCycle(position, -1);
                }
                case WalRecord.KIND_HARD_STATE -> {
                    hardState.set(recordTerm, record.payloadLong(), recordIndex);
                    noteCycle(position, -1);
                }
                default -> throw new IllegalStateException("validated kind " + kind);
            }
        }

        /**
         * Whether an entry that does not follow the log may start it again: the entries missing before it are all at
         * or below what compaction went to, and either some are missing (a gap) or the log is empty at a base guessed
         * from an earlier entry (a truncation below it, replayed before the BASE record that came after).
         */
        private boolean compactedAway(final long recordIndex) {
            final long next = index.lastIndex() + 1;
            return recordIndex != next && recordIndex - 1 <= compactedThrough
                && (recordIndex > next || index.count() == 0 && baseGuessed);
        }

        void onBad(final long bytePosition, final String reason) {
            if (fenced) {
                discarded++;
                return;
            }
            fenced = true;
            badFile = tailer.currentFile();
            badPosition = bytePosition;
            badReason = reason;
            discarded = 0;
        }

        @Override
        public void onUnreadable(final RuntimeException ex) {
            if (!fenced) {
                onBad(-1, "queue framing unreadable: " + ex);
            }
        }

        void finish() {
            if (!fenced) {
                return;
            }
            // A note (synced at least every second) at or below where the log now ends: the bad record and the valid
            // ones after it all came after the last sync it records.
            recoveryReport = new WalCorruption(
                badFile == null ? config.directory() : badFile.toPath(), badPosition, badReason, index.lastIndex(),
                discarded, discarded > 0 && notedAtOpen > 0 && notedAtOpen <= index.lastIndex());
            if (recoveryReport.tornTail()) {
                LOG.log(System.Logger.Level.INFO, "WAL recovered: " + recoveryReport);
            } else {
                LOG.log(System.Logger.Level.ERROR, "WAL recovered past " + recoveryReport);
            }
            if (appender != null) {
                writeStateRecord(WalRecord.KIND_TRUNCATE, TYPE_RECOVERY, index.lastIndex(), 0, 0);
                sync();
            }
        }

        private String reason(final int validity) {
            return switch (validity) {
                case WalRecord.TRUNCATED -> "record truncated";
                case WalRecord.BAD_MAGIC -> "not a Cairn WAL record (bad magic)";
                case WalRecord.BAD_CHECKSUM -> "checksum mismatch";
                case WalRecord.UNKNOWN_FORMAT -> "unknown record format " + record.format() + " kind "
                    + record.kind();
                default -> "invalid (" + validity + ")";
            };
        }
    }

    private void checkOpen() {
        Check.state(!closed, "WAL is closed");
    }

    private void checkWritable() {
        checkOpen();
        Check.state(appender != null, "WAL is open read-only");
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (syncChannel != null) {
            try {
                syncChannel.close();
            } catch (final IOException ex) {
                LOG.log(System.Logger.Level.WARNING, "closing the WAL's sync channel: " + ex);
            }
        }
        tailer.close();
        if (appender != null) {
            appender.close();
        }
        queue.close();
        if (lock == null) {
            return;
        }
        try {
            lock.release();
            lockChannel.close();
        } catch (final IOException ex) {
            LOG.log(System.Logger.Level.WARNING, "closing WAL lock: " + ex);
        }
    }
}
