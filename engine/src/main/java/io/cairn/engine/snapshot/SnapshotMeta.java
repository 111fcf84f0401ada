package io.cairn.engine.snapshot;

/**
 * What a snapshot file holds, from its trailer.
 *
 * @param appliedIndex the last Raft index the snapshot reflects.
 * @param appliedTerm  that entry's term.
 * @param revision     the keyspace's revision in it.
 * @param dataBytes    length of the store file inside (the file is this plus {@link SnapshotTrailer#LENGTH}).
 * @param dataChecksum CRC32C of those bytes.
 */
public record SnapshotMeta(long appliedIndex, long appliedTerm, long revision, long dataBytes, int dataChecksum) {
    /**
     * @return the snapshot file's whole length.
     */
    public long fileBytes() {
        return dataBytes + SnapshotTrailer.LENGTH;
    }
}
