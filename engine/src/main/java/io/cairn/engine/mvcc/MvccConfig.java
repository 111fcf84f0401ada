package io.cairn.engine.mvcc;

import io.cairn.engine.check.Check;

import java.nio.file.Path;

/**
 * Validated, immutable settings of one keyspace.
 *
 * @param directory        where LMDB's {@code data.mdb} and {@code lock.mdb} live (created when absent).
 * @param mapBytes         LMDB's map size: the most the file may ever grow to (virtual; the file grows as written).
 *                         Kept well above {@code quotaBytes} so that the NOSPACE alarm, raised at the quota, fires long
 *                         before LMDB itself runs out of room.
 * @param quotaBytes       etcd's {@code --quota-backend-bytes}: past it the owner raises the NOSPACE alarm.
 * @param requestBytesMax  largest request, counted as etcd counts it (its Raft request encoding): etcd's 1.5 MiB.
 * @param txnOpsMax        most operations in one txn branch (and most compares): etcd's 128.
 * @param readersMax       most concurrent read transactions (one per reading thread).
 */
public record MvccConfig(
    Path directory, long mapBytes, long quotaBytes, int requestBytesMax, int txnOpsMax, int readersMax) {
    /** etcd's default quota: 2 GiB. */
    public static final long QUOTA_BYTES_DEFAULT = 2L << 30;
    /** Default map: four times the default quota. */
    public static final long MAP_BYTES_DEFAULT = 8L << 30;
    /** etcd's {@code --max-request-bytes} default: 1.5 MiB. */
    public static final int REQUEST_BYTES_MAX_DEFAULT = 1536 * 1024;
    /** etcd's {@code --max-txn-ops} default. */
    public static final int TXN_OPS_MAX_DEFAULT = 128;
    /** Default reader slots. */
    public static final int READERS_MAX_DEFAULT = 126;

    /**
     * Checks the limits.
     */
    public MvccConfig {
        Check.state(directory != null, "keyspace directory required");
        Check.state(quotaBytes > 0 && mapBytes >= quotaBytes, "mapBytes must be at least quotaBytes", mapBytes,
            quotaBytes);
        Check.state(requestBytesMax > 0, "requestBytesMax", requestBytesMax);
        Check.state(txnOpsMax > 0, "txnOpsMax", txnOpsMax);
        Check.state(readersMax > 0, "readersMax", readersMax);
    }

    /**
     * @param directory where the store lives.
     * @return etcd's defaults.
     */
    public static MvccConfig defaults(final Path directory) {
        return new MvccConfig(directory, MAP_BYTES_DEFAULT, QUOTA_BYTES_DEFAULT, REQUEST_BYTES_MAX_DEFAULT,
            TXN_OPS_MAX_DEFAULT, READERS_MAX_DEFAULT);
    }

    /**
     * @param mapBytes   LMDB map size.
     * @param quotaBytes NOSPACE quota.
     * @return a copy with the sizes changed.
     */
    public MvccConfig withSizes(final long mapBytes, final long quotaBytes) {
        return new MvccConfig(directory, mapBytes, quotaBytes, requestBytesMax, txnOpsMax, readersMax);
    }

    /**
     * @param requestBytes etcd's {@code --max-request-bytes}.
     * @param txnOps       etcd's {@code --max-txn-ops}.
     * @return a copy with the request limits changed.
     */
    public MvccConfig withRequestLimits(final int requestBytes, final int txnOps) {
        return new MvccConfig(directory, mapBytes, quotaBytes, requestBytes, txnOps, readersMax);
    }

    /**
     * @param other another directory (a copy of the store being made).
     * @return a copy of this configuration for a store there.
     */
    public MvccConfig withDirectory(final Path other) {
        return new MvccConfig(other, mapBytes, quotaBytes, requestBytesMax, txnOpsMax, readersMax);
    }
}
