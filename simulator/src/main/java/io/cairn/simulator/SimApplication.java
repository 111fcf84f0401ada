package io.cairn.simulator;

import io.cairn.consensus.SnapshotSink;
import io.cairn.consensus.SnapshotSource;
import io.cairn.consensus.StateMachine;
import org.agrona.DirectBuffer;

import java.util.Random;

/**
 * Goal: one simulated member's replicated application and the storage behind it that outlives a crash, behind one
 * seam, so that the same {@link SimNode} drives either the simulator's small register map ({@link KvApplication})
 * or the real keyspace ({@link KeyspaceApplication}: LMDB, snapshot files, {@code KeyspaceStateMachine}). Method: the
 * production {@link StateMachine} protocol (runs of committed entries, snapshots taken and installed) plus what the
 * simulator adds around it: the member's life (open, crash, close), its clients' commands and local reads, and
 * fingerprints of its state for the state machine safety check.
 */
interface SimApplication extends StateMachine {
    /**
     * @return the latest durable snapshot, as the core streams it.
     */
    SnapshotSource snapshotSource();

    /**
     * @return where the core receives a snapshot into.
     */
    SnapshotSink snapshotSink();

    /**
     * (Re)builds the member's state from what survived: at the first start and after every crash. Afterwards
     * {@link #appliedIndex()} says where applying resumes and {@link #snapshotSource()} holds the latest snapshot.
     */
    void open();

    /**
     * The member crashed: everything volatile is gone; {@code random} may decide what unsynced state is lost too.
     *
     * @param random the run's random.
     */
    void crash(Random random);

    /**
     * The run is over: releases everything and deletes any files.
     */
    void close();

    /**
     * Encodes a client's write (put or compare-and-set) as a log entry's payload in {@link #command()}.
     *
     * @param op the write.
     * @return the payload's length.
     */
    int encodeWrite(History.Op op);

    /**
     * @return the buffer {@link #encodeWrite} wrote.
     */
    DirectBuffer command();

    /**
     * Reads what the write's entry did, inside the run that applied it (a result may point into a buffer the next
     * run reuses); sets the op's revision.
     *
     * @param op     the write.
     * @param result what {@link #apply} returned for its entry.
     * @return the client's output: 0 for a put, {@link KvStateMachine#CAS_OK} or {@link KvStateMachine#CAS_FAILED}.
     */
    long writeOutput(History.Op op, long result);

    /**
     * Serves a linearizable get locally, once the applied index has reached its read index; sets the op's revision.
     *
     * @param op        the get.
     * @param readIndex the index the read must reflect at least.
     * @return the value (0 when the key is absent).
     */
    long read(History.Op op, long readIndex);

    /**
     * @return a cheap number every member must agree on at the same applied index (checked after every run).
     */
    long fingerprint();

    /**
     * @return a hash of the whole state every member must agree on at the same applied index (checked at snapshots
     *     and at convergence; may cost a scan).
     */
    long contentHash();

    /**
     * @return times a crash took the state back further than the last applied run (0 where nothing models it).
     */
    default long rollbacks() {
        return 0;
    }
}
