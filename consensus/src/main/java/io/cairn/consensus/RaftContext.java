package io.cairn.consensus;

import io.cairn.engine.wal.Wal;

/**
 * What a {@link RaftCore} is built from: its limits, its log, its random source, its snapshot source and sink, and
 * the point it restarts from. Runtime wiring only; the core copies what it needs at construction.
 *
 * <p>The restart point is the member's latest durable snapshot: its index, term and configuration (index 0, term 0
 * and the initial configuration for a new cluster; an empty configuration for a member that will be added later),
 * and the index the state machine has applied (at least the snapshot's index). The configuration in force is that
 * of the last {@link EntryType#CONFIG} entry after the snapshot in the log, or the snapshot's own.
 */
public final class RaftContext {
    private RaftConfig config;
    private Wal wal;
    private RandomSource random;
    private SnapshotSource snapshotSource;
    private SnapshotSink snapshotSink;
    private long snapshotIndex;
    private long snapshotTerm;
    private Membership snapshotMembership = new Membership();
    private long appliedIndex;
    private RaftCounters counters;

    /**
     * @param counters where the core keeps its counters (the loop shares them with its own); null for a new set.
     * @return this.
     */
    public RaftContext counters(final RaftCounters counters) {
        this.counters = counters;
        return this;
    }

    /**
     * @return where the core keeps its counters, or null for a new set.
     */
    public RaftCounters counters() {
        return counters;
    }

    /**
     * @param config limits and this member's id.
     * @return this.
     */
    public RaftContext config(final RaftConfig config) {
        this.config = config;
        return this;
    }

    /**
     * @param wal the member's log, opened (recovered).
     * @return this.
     */
    public RaftContext wal(final Wal wal) {
        this.wal = wal;
        return this;
    }

    /**
     * @param random seeded random source.
     * @return this.
     */
    public RaftContext random(final RandomSource random) {
        this.random = random;
        return this;
    }

    /**
     * @param source where the leader reads snapshots to send.
     * @return this.
     */
    public RaftContext snapshotSource(final SnapshotSource source) {
        this.snapshotSource = source;
        return this;
    }

    /**
     * @param sink where received snapshots go.
     * @return this.
     */
    public RaftContext snapshotSink(final SnapshotSink sink) {
        this.snapshotSink = sink;
        return this;
    }

    /**
     * @param index      latest durable snapshot's index (0 for none).
     * @param term       its term (0 for none).
     * @param membership configuration as of it (copied).
     * @return this.
     */
    public RaftContext snapshot(final long index, final long term, final Membership membership) {
        this.snapshotIndex = index;
        this.snapshotTerm = term;
        this.snapshotMembership = membership;
        return this;
    }

    /**
     * @param index the state machine's applied index at start.
     * @return this.
     */
    public RaftContext appliedIndex(final long index) {
        this.appliedIndex = index;
        return this;
    }

    RaftConfig config() {
        return config;
    }

    Wal wal() {
        return wal;
    }

    RandomSource random() {
        return random;
    }

    SnapshotSource snapshotSource() {
        return snapshotSource;
    }

    SnapshotSink snapshotSink() {
        return snapshotSink;
    }

    long snapshotIndex() {
        return snapshotIndex;
    }

    long snapshotTerm() {
        return snapshotTerm;
    }

    Membership snapshotMembership() {
        return snapshotMembership;
    }

    long appliedIndex() {
        return appliedIndex;
    }
}
