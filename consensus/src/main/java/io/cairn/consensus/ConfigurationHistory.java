package io.cairn.consensus;

import io.cairn.engine.check.Check;
import io.cairn.engine.wal.WalEntryHandler;
import org.agrona.DirectBuffer;

/**
 * Which configuration was in force at an index: a base point whose configuration is known (the latest snapshot, or
 * the point the log was compacted to) plus the CONFIG entries the log holds after it — configurations take effect
 * when appended (thesis §4.1), so the one in force at index i is the last CONFIG entry at or below i, or the base's.
 * Reading it means scanning the log from the base, so the core asks only when it must (start, a rollback, a
 * snapshot taken below the latest change).
 */
final class ConfigurationHistory {
    private static final int SCAN_ENTRIES_MAX = 4096;

    private final Membership base = new Membership();
    private final WalEntryHandler scanner = this::onEntry;
    private long baseIndex;
    private Membership target;
    private long foundIndex;

    /**
     * Moves the base point (a snapshot installed or taken, the log compacted).
     *
     * @param index      the base index.
     * @param membership the configuration in force there (copied).
     */
    void rebase(final long index, final Membership membership) {
        baseIndex = index;
        base.copyFrom(membership);
    }

    /**
     * @return the base index: no configuration can be read below it.
     */
    long baseIndex() {
        return baseIndex;
    }

    /**
     * @param log  the log, holding the entries after the base.
     * @param upTo the index asked about, at least the base index.
     * @param out  receives the configuration in force at {@code upTo}.
     * @return the index of the entry that set it (the base index if none after it did).
     */
    long scan(final RaftLog log, final long upTo, final Membership out) {
        out.copyFrom(base);
        target = out;
        foundIndex = baseIndex;
        long from = baseIndex + 1;
        while (from <= upTo) {
            final int read = log.readRange(from, upTo, SCAN_ENTRIES_MAX, Long.MAX_VALUE, scanner);
            if (read == 0) {
                break;
            }
            from += read;
        }
        target = null;
        return foundIndex;
    }

    private void onEntry(final long index, final long entryTerm, final byte type, final DirectBuffer buffer,
        final int offset, final int length) {
        if (type == EntryType.CONFIG) {
            Check.state(target.decode(buffer, offset, length), "unreadable configuration entry", index);
            foundIndex = index;
        }
    }
}
