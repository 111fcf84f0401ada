package io.cairn.consensus.loop;

import io.cairn.consensus.RaftContext;
import io.cairn.consensus.StateMachine;
import io.cairn.consensus.Transport;
import io.cairn.engine.check.Check;
import io.cairn.engine.wal.Wal;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.NanoClock;
import org.agrona.concurrent.SystemNanoClock;

import java.util.concurrent.TimeUnit;

/**
 * What a {@link RaftAgent} is wired from: how to open its WAL, the rest of its core's wiring, the transport, the
 * state machine, the request ring, the listener, the clock and the loop's limits. Runtime wiring only (Aeron's
 * {@code *Context} idea): validated once by {@link #conclude()}.
 *
 * <p>The agent opens the WAL and builds its {@code RaftCore} in {@code onStart()}, on its own thread: the WAL is
 * single-threaded, and Chronicle Queue binds its appender and tailer to the first thread that uses them.
 */
public final class RaftAgentContext {
    /** Default {@link #snapshotCopyFreeBytes}: a copy this small takes a fraction of a second. */
    public static final long SNAPSHOT_COPY_FREE_BYTES_DEFAULT = 64L << 20;
    /**
     * Opens the member's WAL (recovering it), on the agent's thread.
     */
    @FunctionalInterface
    public interface WalOpener {
        /**
         * @return the opened WAL; the agent closes it when it stops.
         */
        Wal open();
    }

    private RaftContext raftContext;
    private WalOpener walOpener;
    private Transport transport;
    private StateMachine stateMachine;
    private RaftRequests requests;
    private RaftListener listener;
    private LoopDuty duty = LoopDuty.NONE;
    private NanoClock clock = SystemNanoClock.INSTANCE;
    private IdleStrategy idleStrategy;
    private long tickIntervalNs = TimeUnit.MILLISECONDS.toNanos(100);
    private long snapshotIntervalEntries = 100_000;
    private long snapshotCopyFreeBytes = SNAPSHOT_COPY_FREE_BYTES_DEFAULT;
    private long compactionTrailingEntries = 10_000;
    private int fragmentLimit = 256;
    private int requestBatchMax = 1024;
    private int applyEntriesMax = 4096;
    private int pendingProposalsMax = 64 * 1024;
    private long proposalTimeoutNs = TimeUnit.SECONDS.toNanos(7);
    private int pendingReadsMax = 4096;

    /**
     * Checks that everything needed is there and consistent.
     *
     * @return this.
     */
    public RaftAgentContext conclude() {
        Check.state(raftContext != null && walOpener != null && transport != null && stateMachine != null
            && requests != null && listener != null && clock != null && duty != null,
            "agent context incomplete");
        if (idleStrategy == null) {
            idleStrategy = IdleDefaults.loop(transport.idleStrategy());
        }
        requests.wakeWith(ParkingIdleStrategy.wakerOf(idleStrategy));
        Check.state(tickIntervalNs > 0 && fragmentLimit > 0 && requestBatchMax > 0 && applyEntriesMax > 0,
            "loop limits", tickIntervalNs);
        Check.state(pendingProposalsMax > 0 && pendingReadsMax > 0 && proposalTimeoutNs > 0, "pending limits",
            pendingProposalsMax);
        Check.state(compactionTrailingEntries >= 0 && snapshotIntervalEntries >= 0, "snapshot policy",
            snapshotIntervalEntries);
        return this;
    }

    /**
     * @param raftContext the core's wiring (limits, random source, snapshot source and sink, latest snapshot); the
     *                    agent adds the WAL and the state machine's applied index.
     * @return this.
     */
    public RaftAgentContext raftContext(final RaftContext raftContext) {
        this.raftContext = raftContext;
        return this;
    }

    /**
     * @param walOpener opens the WAL the core uses; the agent syncs it, reads committed entries from it, closes it.
     * @return this.
     */
    public RaftAgentContext walOpener(final WalOpener walOpener) {
        this.walOpener = walOpener;
        return this;
    }

    /**
     * @param transport how messages reach peers.
     * @return this.
     */
    public RaftAgentContext transport(final Transport transport) {
        this.transport = transport;
        return this;
    }

    /**
     * @param stateMachine the application.
     * @return this.
     */
    public RaftAgentContext stateMachine(final StateMachine stateMachine) {
        this.stateMachine = stateMachine;
        return this;
    }

    /**
     * @param requests the ring other threads offer proposals and reads to.
     * @return this.
     */
    public RaftAgentContext requests(final RaftRequests requests) {
        this.requests = requests;
        return this;
    }

    /**
     * @param listener told of completions and role changes, on the loop's thread.
     * @return this.
     */
    public RaftAgentContext listener(final RaftListener listener) {
        this.listener = listener;
        return this;
    }

    /**
     * @param duty the application's work on the loop's thread (lease expiry, local requests); none by default.
     * @return this.
     */
    public RaftAgentContext duty(final LoopDuty duty) {
        this.duty = duty;
        return this;
    }

    LoopDuty duty() {
        return duty;
    }

    /**
     * @param clock the loop's only clock (tests inject one).
     * @return this.
     */
    public RaftAgentContext clock(final NanoClock clock) {
        this.clock = clock;
        return this;
    }

    /**
     * @param idleStrategy how the runner idles between duty cycles; by default {@link IdleDefaults#loop} of the
     *                     transport's own wait (sleep until a message arrives or a request wakes the loop).
     * @return this.
     */
    public RaftAgentContext idleStrategy(final IdleStrategy idleStrategy) {
        this.idleStrategy = idleStrategy;
        return this;
    }

    /**
     * @param nanos length of one Raft tick (100 ms by default: with 10-tick elections, etcd's 1 s and 100 ms).
     * @return this.
     */
    public RaftAgentContext tickIntervalNs(final long nanos) {
        this.tickIntervalNs = nanos;
        return this;
    }

    /**
     * @param entries take a snapshot after this many entries applied since the last one (0: never).
     * @param trailing entries kept in the log behind a snapshot, for followers slightly behind.
     * @return this.
     */
    public RaftAgentContext snapshotPolicy(final long entries, final long trailing) {
        this.snapshotIntervalEntries = entries;
        this.compactionTrailingEntries = trailing;
        return this;
    }

    /**
     * A snapshot copies the whole state; the log it lets go is what was applied since the last one. Beyond this many
     * bytes of state, a snapshot due by count waits until the log applied since the last one holds at least as many
     * bytes as the copy beyond them: copying an 800 MB keyspace every 100,000 puts of 700 B (70 MB of log) took 15 %
     * of the three members' CPU and 57 MB/s of disk writes per member on two cores (2026-12-02 NOTES). The log then
     * keeps up to about the state's size behind the latest snapshot; a restart replays only what the store lacks.
     *
     * @param bytes state size up to which snapshots go by count alone ({@link #SNAPSHOT_COPY_FREE_BYTES_DEFAULT}).
     * @return this.
     */
    public RaftAgentContext snapshotCopyFreeBytes(final long bytes) {
        Check.state(bytes >= 0, "snapshot copy allowance must not be negative", bytes);
        this.snapshotCopyFreeBytes = bytes;
        return this;
    }

    /**
     * @param messages most peer messages polled per duty cycle.
     * @param requests most ring requests drained per duty cycle (one proposal burst).
     * @param applied  most entries applied per duty cycle (one state machine run).
     * @return this.
     */
    public RaftAgentContext batchLimits(final int messages, final int requests, final int applied) {
        this.fragmentLimit = messages;
        this.requestBatchMax = requests;
        this.applyEntriesMax = applied;
        return this;
    }

    /**
     * @param proposals most proposals awaiting their outcome.
     * @param reads     most reads awaiting their read index to be applied.
     * @return this.
     */
    public RaftAgentContext pendingLimits(final int proposals, final int reads) {
        this.pendingProposalsMax = proposals;
        this.pendingReadsMax = reads;
        return this;
    }

    /**
     * @param nanos how long a proposal may wait for its outcome (etcd's request timeout is about 7 s with its default
     *              election timeout): one proposed under a leader that lost its office may never see its index
     *              applied (the new leader's log may stay shorter); past this it completes as
     *              {@link RaftListener#UNKNOWN}, which is what it is.
     * @return this.
     */
    public RaftAgentContext proposalTimeoutNs(final long nanos) {
        this.proposalTimeoutNs = nanos;
        return this;
    }

    long proposalTimeoutNs() {
        return proposalTimeoutNs;
    }

    RaftContext raftContext() {
        return raftContext;
    }

    WalOpener walOpener() {
        return walOpener;
    }

    Transport transport() {
        return transport;
    }

    StateMachine stateMachine() {
        return stateMachine;
    }

    RaftRequests requests() {
        return requests;
    }

    RaftListener listener() {
        return listener;
    }

    NanoClock clock() {
        return clock;
    }

    IdleStrategy idleStrategy() {
        return idleStrategy;
    }

    long tickIntervalNs() {
        return tickIntervalNs;
    }

    long snapshotIntervalEntries() {
        return snapshotIntervalEntries;
    }

    long snapshotCopyFreeBytes() {
        return snapshotCopyFreeBytes;
    }

    long compactionTrailingEntries() {
        return compactionTrailingEntries;
    }

    int fragmentLimit() {
        return fragmentLimit;
    }

    int requestBatchMax() {
        return requestBatchMax;
    }

    int applyEntriesMax() {
        return applyEntriesMax;
    }

    int pendingProposalsMax() {
        return pendingProposalsMax;
    }

    int pendingReadsMax() {
        return pendingReadsMax;
    }
}
