package io.cairn.consensus;

import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.status.AtomicCounter;
import org.agrona.concurrent.status.CountersManager;
import org.agrona.concurrent.status.CountersReader;

import java.nio.ByteBuffer;

/**
 * A member's counters, the core's and its loop's, in one Agrona {@link CountersManager}: the loop's thread is the
 * only writer (each increment an ordered write, no allocation, no lock), and any other thread — a metrics scrape —
 * reads them whole and current (plain {@code long} fields, as they were, could be read stale or torn). Made once per
 * member: a core rebuilt on the same counters (a restart in the simulator) counts on.
 */
public final class RaftCounters {
    /** WAL sync duration buckets: bucket {@code i} counts syncs of at most 1 ms × 2^i, the last one the rest. */
    public static final int SYNC_BUCKETS = 15;
    private static final int CAPACITY = 64;

    public final AtomicCounter malformedMessages;
    public final AtomicCounter misaddressedMessages;
    public final AtomicCounter outboxOverflows;
    public final AtomicCounter readStatesDropped;
    public final AtomicCounter duplicateForwards;
    public final AtomicCounter appendMessagesSent;
    public final AtomicCounter appendEntriesSent;
    public final AtomicCounter snapshotChunksRejected;
    public final AtomicCounter snapshotsInstalled;
    public final AtomicCounter snapshotsUnavailable;
    public final AtomicCounter checkQuorumStepDowns;
    public final AtomicCounter transfersAborted;
    public final AtomicCounter electionsStarted;
    public final AtomicCounter unreadableEntries;
    public final AtomicCounter messagesSent;
    public final AtomicCounter messagesDropped;
    public final AtomicCounter syncs;
    public final AtomicCounter ticks;
    public final AtomicCounter runsApplied;
    public final AtomicCounter entriesApplied;
    public final AtomicCounter entriesSynced;
    public final AtomicCounter syncNanosTotal;
    private final AtomicCounter[] syncBuckets = new AtomicCounter[SYNC_BUCKETS];
    public final AtomicCounter commitNanosTotal;
    private final AtomicCounter[] commitBuckets = new AtomicCounter[SYNC_BUCKETS];
    private final CountersManager manager = new CountersManager(
        new UnsafeBuffer(ByteBuffer.allocateDirect(CAPACITY * CountersReader.METADATA_LENGTH)),
        new UnsafeBuffer(ByteBuffer.allocateDirect(CAPACITY * CountersReader.COUNTER_LENGTH)));

    /** A member's counters, all at 0. */
    public RaftCounters() {
        malformedMessages = manager.newCounter("raft: malformed messages dropped");
        misaddressedMessages = manager.newCounter("raft: misaddressed messages dropped");
        outboxOverflows = manager.newCounter("raft: messages dropped on a full outbox");
        readStatesDropped = manager.newCounter("raft: read states dropped");
        duplicateForwards = manager.newCounter("raft: forwarded proposals dropped as copies");
        appendMessagesSent = manager.newCounter("raft: append messages sent");
        appendEntriesSent = manager.newCounter("raft: entries carried by append messages");
        snapshotChunksRejected = manager.newCounter("raft: snapshot chunks rejected");
        snapshotsInstalled = manager.newCounter("raft: snapshots installed");
        snapshotsUnavailable = manager.newCounter("raft: snapshots unavailable to send");
        checkQuorumStepDowns = manager.newCounter("raft: CheckQuorum step-downs");
        transfersAborted = manager.newCounter("raft: leadership transfers aborted");
        electionsStarted = manager.newCounter("raft: elections started");
        unreadableEntries = manager.newCounter("raft: unreadable log entries");
        messagesSent = manager.newCounter("loop: messages handed to the transport");
        messagesDropped = manager.newCounter("loop: messages the transport refused");
        syncs = manager.newCounter("loop: WAL syncs");
        ticks = manager.newCounter("loop: ticks");
        runsApplied = manager.newCounter("loop: apply transactions");
        entriesApplied = manager.newCounter("loop: entries applied");
        entriesSynced = manager.newCounter("loop: entries made durable");
        syncNanosTotal = manager.newCounter("loop: nanoseconds in WAL syncs");
        for (int i = 0; i < SYNC_BUCKETS; i++) {
            syncBuckets[i] = manager.newCounter("loop: WAL syncs in bucket " + i);
        }
        commitNanosTotal = manager.newCounter("loop: nanoseconds in keyspace commits");
        for (int i = 0; i < SYNC_BUCKETS; i++) {
            commitBuckets[i] = manager.newCounter("loop: keyspace commits in bucket " + i);
        }
    }

    /**
     * @param bucket 0 .. {@link #SYNC_BUCKETS} - 1.
     * @return the keyspace commits (the end of an apply run) that took at most 1 ms × 2^bucket (the last: the rest).
     */
    public AtomicCounter commitBucket(final int bucket) {
        return commitBuckets[bucket];
    }

    /**
     * @param bucket 0 .. {@link #SYNC_BUCKETS} - 1.
     * @return the WAL syncs that took at most 1 ms × 2^bucket (the last: the rest).
     */
    public AtomicCounter syncBucket(final int bucket) {
        return syncBuckets[bucket];
    }

    /**
     * @return every counter, labelled, for a reader on another thread.
     */
    public CountersReader reader() {
        return manager;
    }
}
