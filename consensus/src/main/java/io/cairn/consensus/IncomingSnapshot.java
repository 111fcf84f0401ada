package io.cairn.consensus;

/**
 * The snapshot transfer a follower is receiving: who sends it and which snapshot (its last index, that entry's term,
 * its size). A chunk of another transfer starts a new one; the same sender going on with the same snapshot in a later
 * term does not (under term churn — a disruptive server, no PreVote — restarting at every term would never finish a
 * large snapshot; its chunks come from the same file, and the whole is verified at the end anyway).
 */
final class IncomingSnapshot {
    private static final int NONE = 0;

    private int from = NONE;
    private long index;
    private long term;
    private long bytes;

    /**
     * @param sender        who sent the chunk.
     * @param snapshotIndex the snapshot's last index.
     * @param snapshotTerm  that entry's term.
     * @param totalBytes    the snapshot's size.
     * @return true if the chunk belongs to the transfer under way.
     */
    boolean continues(final int sender, final long snapshotIndex, final long snapshotTerm, final long totalBytes) {
        return from == sender && index == snapshotIndex && term == snapshotTerm && bytes == totalBytes;
    }

    /**
     * A new transfer.
     *
     * @param sender        who sends it.
     * @param snapshotIndex the snapshot's last index.
     * @param snapshotTerm  that entry's term.
     * @param totalBytes    the snapshot's size.
     */
    void start(final int sender, final long snapshotIndex, final long snapshotTerm, final long totalBytes) {
        from = sender;
        index = snapshotIndex;
        term = snapshotTerm;
        bytes = totalBytes;
    }

    /** None under way: finished, or not needed (the log already holds the snapshot's last entry). */
    void clear() {
        from = NONE;
    }
}
