package io.cairn.engine.wal;

import java.nio.file.Path;

/**
 * What recovery found wrong in the WAL: where (file and byte position in it) and why. A torn tail (the last records
 * written before a crash, never synced) is expected after a kill and cut off quietly; corruption followed by valid
 * records is not, and is reported loudly. Either way nothing from the first bad record on is served as valid.
 *
 * @param file             the Chronicle Queue file holding the bad record.
 * @param position         byte position of the record in that file.
 * @param reason           what was wrong, in words.
 * @param lastValidIndex   the last Raft index served after recovery.
 * @param recordsDiscarded well-formed records found after the bad one and ignored with it.
 * @param afterLastSync    the log up to the bad record holds everything the WAL's sync note says was synced: the bad
 *                         record and the well-formed ones after it were never synced, and a power cut wrote some of
 *                         their pages back and not others (the kernel writes a mapping's pages in no order).
 */
public record WalCorruption(Path file, long position, String reason, long lastValidIndex, long recordsDiscarded,
    boolean afterLastSync) {
    /**
     * @return true when what follows the bad record was never synced: nothing valid after it, or only records
     *         written after the last sync the note records (an unsynced tail torn by a crash or a power cut).
     */
    public boolean tornTail() {
        return recordsDiscarded == 0 || afterLastSync;
    }

    @Override
    public String toString() {
        return (tornTail() ? "torn tail" : "CORRUPTION") + " in " + file + " at byte " + position + ": " + reason
            + "; log ends at index " + lastValidIndex
            + (recordsDiscarded == 0 ? "" : "; " + recordsDiscarded + " later records ignored"
            + (afterLastSync ? " (written after the last sync: survivors of an unsynced write-back)" : ""));
    }
}
