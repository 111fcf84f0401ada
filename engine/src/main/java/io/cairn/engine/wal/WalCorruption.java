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
 */
public record WalCorruption(Path file, long position, String reason, long lastValidIndex, long recordsDiscarded) {
    /**
     * @return true when nothing valid followed the bad record: an unsynced tail torn by a crash.
     */
    public boolean tornTail() {
        return recordsDiscarded == 0;
    }

    @Override
    public String toString() {
        return (tornTail() ? "torn tail" : "CORRUPTION") + " in " + file + " at byte " + position + ": " + reason
            + "; log ends at index " + lastValidIndex
            + (tornTail() ? "" : "; " + recordsDiscarded + " later records ignored");
    }
}
