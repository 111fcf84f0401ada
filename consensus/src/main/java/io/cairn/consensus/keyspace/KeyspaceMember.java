package io.cairn.consensus.keyspace;

import io.cairn.consensus.Membership;
import io.cairn.consensus.RaftConfig;
import io.cairn.consensus.RaftContext;
import io.cairn.consensus.Transport;
import io.cairn.consensus.loop.LoopDuty;
import io.cairn.consensus.loop.RaftAgent;
import io.cairn.consensus.loop.RaftAgentContext;
import io.cairn.consensus.loop.RaftListener;
import io.cairn.consensus.loop.RaftRequests;
import io.cairn.consensus.loop.SplitDuty;
import io.cairn.engine.check.Check;
import io.cairn.engine.mvcc.MvccConfig;
import io.cairn.engine.mvcc.MvccStore;
import io.cairn.engine.mvcc.StoreFiles;
import io.cairn.engine.wal.ChronicleWal;
import io.cairn.engine.wal.WalConfig;
import io.cairn.engine.wal.WalCorruption;
import org.agrona.ErrorHandler;
import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.NanoClock;
import org.agrona.concurrent.SystemNanoClock;
import org.agrona.concurrent.UnsafeBuffer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * One Cairn member's replicated keyspace, assembled: under its data directory the WAL ({@code wal/}), the keyspace
 * ({@code kv/}) and the snapshots ({@code snapshots/}); the Raft core and its event loop over a {@link Transport};
 * the keyspace state machine and the leader's lease keeper. Other threads talk to it through {@link #requests()}
 * (proposals of keyspace commands, linearizable reads, lease keep-alives) and hear back through the
 * {@link RaftListener} and {@link LeaseKeeper.Responder} given here, on the loop's thread; they read the keyspace with
 * their own {@code MvccReader}s ({@link #store()}).
 *
 * <pre>
 * data/
 *   wal/         ChronicleWal: the Raft log and hard state
 *   kv/          MvccStore: LMDB's data.mdb, the applied index inside
 *   snapshots/   SnapshotDirectory: sealed store copies and their configurations
 * </pre>
 */
public final class KeyspaceMember implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(KeyspaceMember.class.getName());
    /**
     * What a member is made of.
     *
     * @param nodeId                    this member's ID.
     * @param dataDirectory             where its files live.
     * @param initial                   the configuration to start from when the log and snapshots hold none: the
     *                                  initial voters (with their attributes), or an empty one for a member that
     *                                  joins a running cluster and learns its configuration from the leader.
     * @param walDurable                false only for measuring (the WAL then never syncs: said loudly at open).
     * @param tickIntervalNs            one Raft tick (elections take 10, heartbeats 1).
     * @param snapshotIntervalEntries   entries applied between snapshots.
     * @param compactionTrailingEntries entries kept in the log behind a snapshot (for followers slightly behind).
     * @param mvcc                      the keyspace's limits (its directory is replaced by {@code data/kv}).
     */
    public record Settings(int nodeId, Path dataDirectory, Membership initial, boolean walDurable, long tickIntervalNs,
        long snapshotIntervalEntries, long compactionTrailingEntries, MvccConfig mvcc, int electionTicks) {
        /** etcd's default election timeout in ticks: 1,000 ms over 100-ms heartbeats. */
        public static final int ELECTION_TICKS_DEFAULT = 10;
        /** Largest snapshot chunk, and the chunk size snapshots are streamed in. */
        public static final int SNAPSHOT_CHUNK_BYTES = 256 << 10;
        /** Largest entry at etcd's default 1.5 MiB request: {@link #entryBytesMax(int)}. */
        public static final int ENTRY_BYTES_MAX = 1600 << 10;
        /** Room beside a request's bytes for the command's own framing (a txn's is the largest). */
        static final int ENTRY_FRAMING_BYTES = 64 << 10;

        /**
         * @param requestBytesMax etcd's {@code --max-request-bytes}.
         * @return the largest entry: the request with room for our command framing.
         */
        public static int entryBytesMax(final int requestBytesMax) {
            return requestBytesMax + ENTRY_FRAMING_BYTES;
        }

        /**
         * @return the largest entry this member's requests make ({@link #entryBytesMax(int)}).
         */
        public int entryBytesMax() {
            return entryBytesMax(mvcc.requestBytesMax());
        }

        /**
         * Checks the settings.
         */
        public Settings {
            Check.state(nodeId != 0 && dataDirectory != null && initial != null, "member settings");
            Check.state(tickIntervalNs > 0 && snapshotIntervalEntries >= 0 && compactionTrailingEntries >= 0,
                "member timing", tickIntervalNs);
        }

        /**
         * @param nodeId        this member.
         * @param dataDirectory its files.
         * @param voters        the initial voters.
         * @return defaults: durable WAL, 100 ms ticks (etcd's 100 ms heartbeat, 1 s election), a snapshot every
         *     10,000 entries keeping 5,000 behind it, etcd's keyspace limits.
         */
        public static Settings of(final int nodeId, final Path dataDirectory, final int... voters) {
            return of(nodeId, dataDirectory, Membership.ofVoters(voters));
        }

        /**
         * @param nodeId        this member.
         * @param dataDirectory its files.
         * @param initial       the initial configuration (empty: join a running cluster).
         * @return the defaults of {@link #of(int, Path, int...)}.
         */
        public static Settings of(final int nodeId, final Path dataDirectory, final Membership initial) {
            return new Settings(nodeId, dataDirectory, initial, true, TimeUnit.MILLISECONDS.toNanos(100), 10_000,
                5_000, MvccConfig.defaults(dataDirectory.resolve("kv")), ELECTION_TICKS_DEFAULT);
        }

        /**
         * @param durable      sync the WAL (false: measuring only).
         * @param tickNs       tick length.
         * @param snapshotEvery entries between snapshots.
         * @param trailing      entries kept behind a snapshot.
         * @return a copy with those changed.
         */
        public Settings with(final boolean durable, final long tickNs, final long snapshotEvery, final long trailing) {
            return new Settings(nodeId, dataDirectory, initial, durable, tickNs, snapshotEvery, trailing, mvcc,
                electionTicks);
        }

        /**
         * @param config the keyspace's limits.
         * @return a copy with them.
         */
        public Settings withMvcc(final MvccConfig config) {
            return new Settings(nodeId, dataDirectory, initial, walDurable, tickIntervalNs, snapshotIntervalEntries,
                compactionTrailingEntries, config, electionTicks);
        }

        /**
         * @param ticks a follower's election timeout in ticks (etcd: {@code --election-timeout} over
         *              {@code --heartbeat-interval}, 10).
         * @return a copy with it.
         */
        public Settings withElectionTicks(final int ticks) {
            return new Settings(nodeId, dataDirectory, initial, walDurable, tickIntervalNs, snapshotIntervalEntries,
                compactionTrailingEntries, mvcc, ticks);
        }
    }

    private final Settings settings;
    private final MvccStore store;
    private final SnapshotDirectory snapshots;
    /** Local request types from here on belong to the application's duty; below, to the lease keeper. */
    public static final byte APPLICATION_TYPE_MIN = 16;
    private final LeaseKeeper leases;
    private final KeyspaceStateMachine stateMachine;
    private final RaftRequests requests;
    private final Defragmenter defragmenter;
    private final RaftAgent agent;
    private AgentRunner runner;

    /**
     * A member that nobody asks about leases or watches (an embedder's writer, a benchmark, a test), on the system
     * clock: lease keep-alive answers and new revisions go nowhere.
     *
     * @param settings  what it is.
     * @param transport how it reaches its peers.
     * @param listener  told of proposals, reads and role changes.
     * @throws IOException if the files cannot be opened.
     */
    public KeyspaceMember(final Settings settings, final Transport transport, final RaftListener listener)
        throws IOException {
        this(settings, transport, listener, (correlation, code, lease, ttl) -> { }, revision -> { },
            SystemNanoClock.INSTANCE);
    }

    /**
     * Opens (or creates) the member's files and wires it; nothing runs until {@link #start} (or a test drives
     * {@link #agent()} itself).
     *
     * @param settings   what it is.
     * @param transport  how it reaches its peers.
     * @param listener   told of proposals, reads and role changes.
     * @param responder  told the answers to lease keep-alives and TTL questions.
     * @param revisions  told of new revisions (watchers).
     * @param clock      the loop's clock.
     * @throws IOException if the files cannot be opened (a damaged or foreign data directory is refused).
     */
    public KeyspaceMember(final Settings settings, final Transport transport, final RaftListener listener,
        final LeaseKeeper.Responder responder, final KeyspaceStateMachine.RevisionListener revisions,
        final NanoClock clock) throws IOException {
        this(settings, transport, listener, responder, revisions, clock, LoopDuty.NONE);
    }

    /**
     * Opens (or creates) the member's files and wires it, with loop work of the application's own beside the lease
     * keeper: local and relayed requests of types from {@link #APPLICATION_TYPE_MIN} go to {@code application}, the
     * lease keeper's to it; both run every cycle and both hear every relayed answer (each knows its own ids).
     *
     * @param settings    what it is.
     * @param transport   how it reaches its peers.
     * @param listener    told of proposals, reads and role changes.
     * @param responder   told the answers to lease keep-alives and TTL questions.
     * @param revisions   told of new revisions (watchers).
     * @param clock       the loop's clock.
     * @param application the application's loop work.
     * @throws IOException if the files cannot be opened (a damaged or foreign data directory is refused).
     */
    public KeyspaceMember(final Settings settings, final Transport transport, final RaftListener listener,
        final LeaseKeeper.Responder responder, final KeyspaceStateMachine.RevisionListener revisions,
        final NanoClock clock, final LoopDuty application) throws IOException {
        this.settings = settings;
        final Path data = settings.dataDirectory();
        PowerLossGuard.check(data.resolve("kv"));
        this.snapshots = SnapshotDirectory.open(data.resolve("snapshots"), Settings.SNAPSHOT_CHUNK_BYTES);
        try {
            discardStoreAheadOfLog(data.resolve("kv"), preflight(settings, snapshots));
            this.store = MvccStore.open(new MvccConfig(data.resolve("kv"), settings.mvcc().mapBytes(),
                settings.mvcc().quotaBytes(), settings.mvcc().requestBytesMax(), settings.mvcc().txnOpsMax(),
                settings.mvcc().readersMax()));
        } catch (final IOException | RuntimeException ex) {
            snapshots.close();
            throw ex;
        }
        try {
            this.leases = new LeaseKeeper(store, responder);
            this.stateMachine = new KeyspaceStateMachine(store, snapshots, leases, revisions);
        } catch (final IOException | RuntimeException ex) {
            store.close();
            snapshots.close();
            throw ex;
        }
        this.requests = new RaftRequests(
            new UnsafeBuffer(ByteBuffer.allocateDirect(RaftRequests.bufferLength(Math.max(16 << 20,
                Integer.highestOneBit(8 * (settings.entryBytesMax() + Settings.ENTRY_FRAMING_BYTES)) << 1)))));
        this.defragmenter = new Defragmenter(store, requests);
        final Membership initial = snapshots.latest() != null ? snapshots.membership()
            : settings.initial();
        final SplittableRandom random = new SplittableRandom(System.nanoTime() ^ ((long)settings.nodeId() << 32));
        final RaftContext raft = new RaftContext()
            .config(RaftConfig.builder(settings.nodeId())
                .electionTimeoutTicks(settings.electionTicks())
                .snapshotChunkBytesMax(Settings.SNAPSHOT_CHUNK_BYTES)
                .entryBytesMax(settings.entryBytesMax())
                .outboxBytes(Math.max(32 << 20, 2 * RaftConfig.messageBytesMaxFor(settings.entryBytesMax())))
                .build())
            .random(random::nextInt)
            .snapshotSource(snapshots)
            .snapshotSink(snapshots)
            .snapshot(snapshots.index(), snapshots.term(), initial);
        final WalConfig wal = WalConfig.durable(data.resolve("wal")).withDurable(settings.walDurable())
            .withEntryBytesMax(Math.max(WalConfig.ENTRY_BYTES_MAX_DEFAULT, settings.entryBytesMax()));
        this.agent = new RaftAgent(new RaftAgentContext()
            .raftContext(raft)
            .walOpener(() -> openWal(wal))
            .transport(transport)
            .stateMachine(stateMachine)
            .requests(requests)
            .listener(listener)
            .duty(new SplitDuty(new SplitDuty(leases, Defragmenter.DEFRAGMENT, defragmenter), APPLICATION_TYPE_MIN,
                application))
            .clock(clock)
            .tickIntervalNs(settings.tickIntervalNs())
            .snapshotPolicy(settings.snapshotIntervalEntries(), settings.compactionTrailingEntries()));
    }

    /**
     * Refuses to start a member whose files cannot be trusted, before it takes part in anything: a WAL damaged in
     * the middle (a torn, unsynced tail is normal and recovered; losing records after it would lose entries this
     * member acknowledged, and a quorum counted on them), or no valid snapshot covering the start of a compacted log
     * (the state below it is gone). Either way the member must be replaced, as etcd's are.
     */
    private static long preflight(final Settings settings, final SnapshotDirectory snapshots) throws IOException {
        final Path walDirectory = settings.dataDirectory().resolve("wal");
        if (!Files.exists(walDirectory.resolve(ChronicleWal.FORMAT_FILE))) {
            return -1; // a new member
        }
        final String replace = " This member's files cannot be trusted; replace it (its peers keep the data):"
            + " etcdctl member remove " + Integer.toHexString(settings.nodeId()) + ", move "
            + settings.dataDirectory().toAbsolutePath() + " away, etcdctl member add NAME --peer-urls=URL, then"
            + " start it with --initial-cluster-state existing.";
        try (ChronicleWal wal = ChronicleWal.inspect(walDirectory)) {
            final WalCorruption report = wal.recoveryReport();
            if (report != null && !report.tornTail()) {
                throw new IOException("WAL " + report + "." + replace);
            }
            final long covered = snapshots.latest() == null ? 0 : snapshots.index();
            if (wal.baseIndex() > covered) {
                throw new IOException("the WAL holds entries after index " + wal.baseIndex() + " only, and no"
                    + " valid snapshot covers it (the latest is "
                    + (covered == 0 ? "missing or damaged" : "at " + covered) + ": see the warnings above)." + replace);
            }
            return wal.lastIndex();
        }
    }

    /**
     * A keyspace that applied entries its log no longer holds (the log lost records after they were synced, and
     * reports it) is discarded: the member rebuilds it from its latest snapshot and the log, as after a power
     * failure, and the leader sends the rest. (Applied entries were committed, so nothing is lost by this; keeping
     * the store would leave its applied index beyond the log, which the Raft core cannot start from.)
     *
     * @param kvDirectory the keyspace's directory.
     * @param walLast     the WAL's last index, or -1 for a new member.
     */
    private static void discardStoreAheadOfLog(final Path kvDirectory, final long walLast) throws IOException {
        if (walLast < 0 || !Files.exists(kvDirectory.resolve(StoreFiles.DATA_FILE))) {
            return;
        }
        final long applied = StoreFiles.readState(kvDirectory).appliedIndex();
        if (applied > walLast) {
            LOG.log(System.Logger.Level.WARNING, "the keyspace in {0} applied entries through {1} but the log ends"
                + " at {2}: discarding it; it is rebuilt from the latest snapshot and the log", kvDirectory,
                applied, walLast);
            Files.delete(kvDirectory.resolve(StoreFiles.DATA_FILE));
            Files.deleteIfExists(kvDirectory.resolve("lock.mdb"));
        }
    }

    private static ChronicleWal openWal(final WalConfig config) {
        try {
            return ChronicleWal.open(config);
        } catch (final IOException ex) {
            throw new UncheckedIOException("cannot open the WAL in " + config.directory(), ex);
        }
    }

    /**
     * Runs the event loop on its own thread.
     *
     * @param errorHandler told if the loop stops on an error (fail-stop).
     * @return this.
     */
    public KeyspaceMember start(final ErrorHandler errorHandler) {
        Check.state(runner == null, "already started");
        runner = agent.startOnThread(errorHandler);
        return this;
    }

    /**
     * @return the settings.
     */
    public Settings settings() {
        return settings;
    }

    /**
     * @return where other threads offer proposals, reads and lease requests.
     */
    public RaftRequests requests() {
        return requests;
    }

    /**
     * @return the keyspace (open readers on it; never write it).
     */
    public MvccStore store() {
        return store;
    }

    /**
     * @return the state machine (its responses are read in proposal completions).
     */
    public KeyspaceStateMachine stateMachine() {
        return stateMachine;
    }

    /**
     * @return the leader's lease keeper.
     */
    public LeaseKeeper leases() {
        return leases;
    }

    /**
     * @return this member's defragmenter ({@link Defragmenter#request()} is etcd's {@code Maintenance.Defragment}).
     */
    public Defragmenter defragmenter() {
        return defragmenter;
    }

    /**
     * @return the event loop (drive it by hand in tests; started by {@link #start} otherwise).
     */
    public RaftAgent agent() {
        return agent;
    }

    /**
     * Stops the loop (waiting for it) and closes the files: the keyspace and any snapshot being streamed or received.
     * The WAL closes with the loop.
     */
    @Override
    public void close() {
        if (runner != null) {
            runner.close();
            runner = null;
        } else {
            agent.onClose(); // driven by hand: close the WAL the agent opened
        }
        leases.close();
        defragmenter.close();
        stateMachine.close();
        snapshots.close();
        store.sync();
        store.close();
        try {
            PowerLossGuard.closedSynced(settings.dataDirectory().resolve("kv"));
        } catch (final IOException ex) {
            LOG.log(System.Logger.Level.WARNING, "could not record the keyspace as synced ({0}): after a reboot it"
                + " will be rebuilt from the latest snapshot and the log", ex.getMessage());
        }
    }
}
