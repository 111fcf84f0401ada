package io.cairn.engine.mvcc;

import java.io.IOException;

/**
 * Receives a whole keyspace from one consistent view ({@link MvccReader#exportTo}), in the order etcd's snapshot
 * lays it out: the state first, then the alarms, the authentication table, the history and the leases, each in
 * order.
 */
public interface KeyspaceExport {
    /**
     * @param appliedIndex    the Raft index the view reflects.
     * @param revision        its revision.
     * @param compactRevision its compacted revision (0: never compacted).
     * @throws IOException to stop the export.
     */
    void state(long appliedIndex, long revision, long compactRevision) throws IOException;

    /**
     * @param memberId the member that raised it (the Raft ID the store keeps).
     * @param alarm    {@link MvccCommand#ALARM_NOSPACE} or {@link MvccCommand#ALARM_CORRUPT}.
     * @throws IOException to stop the export.
     */
    void alarm(long memberId, int alarm) throws IOException;

    /**
     * @param key   an authentication table key, in byte order.
     * @param value its value.
     * @throws IOException to stop the export.
     */
    void auth(byte[] key, byte[] value) throws IOException;

    /**
     * One record of the history as etcd's {@code key} bucket holds it, in revision order: those above the compacted
     * revision, and at or below it the value each key had then (what etcd's compaction keeps).
     *
     * @param bytes     the bucket key (17 bytes: main and sub big-endian around '_'; 18 with a deletion's 't')
     *                  followed by the marshalled {@code mvccpb.KeyValue}; valid during the call only.
     * @param keyLength the bucket key's length.
     * @param length    the whole length.
     * @throws IOException to stop the export.
     */
    void record(byte[] bytes, int keyLength, int length) throws IOException;

    /**
     * @param leaseId a lease, in ID order.
     * @param ttl     its granted TTL in seconds.
     * @throws IOException to stop the export.
     */
    void lease(long leaseId, long ttl) throws IOException;
}
