package io.cairn.simulator;

import io.cairn.consensus.Membership;
import io.cairn.consensus.MembershipChange;
import io.cairn.consensus.RaftCore;
import io.cairn.consensus.RaftResult;
import io.cairn.consensus.Role;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.stream.Stream;

/**
 * Goal: a deterministic simulation of a Raft cluster under faults, laid out like TigerBeetle's VOPR, that checks
 * safety after every step and liveness once faults heal, and replays any run exactly from its seed. Method: one
 * thread and one {@link Random} per seed; time is simulated in milliseconds ({@link #nowMs}) and every source of
 * nondeterminism (options swarm, delays, faults, election timeouts, client choices) draws from that one random.
 *
 * <p>Each run: draw {@link SimOptions} from the seed; start {@code clusterSize} voters and some spare servers;
 * <b>safety phase</b>: clients issue put / compare-and-set / get (via ReadIndex) while the simulator injects
 * faults (packet loss, duplication, reordering through random delays, partitions, asymmetric link cuts, crashes
 * losing unsynced writes and tearing the last one, restarts, membership changes, leadership transfers, slow syncs,
 * snapshots and compaction); <b>liveness phase</b>: faults heal and every server restarts; a leader must be elected
 * and a new write acknowledged within a bound, and the members must converge. Then the history is checked for
 * linearizability and every acknowledged write for presence.
 *
 * <p>Two modes, chosen by the caller: members replicate the small register map ({@link KvApplication}, in memory:
 * thousands of seeds a minute), or, in keyspace mode, the real keyspace ({@link KeyspaceApplication}: LMDB stores,
 * snapshot files and the production {@code KeyspaceStateMachine}, under a temporary directory per seed that the run
 * deletes at its end; {@code -Dcairn.sim.dir} picks where, by default {@code /dev/shm} when there is one, so that the
 * snapshots' fsyncs cost nothing). The seed draws the same options and faults in both.
 */
public final class Simulator {
    /** What one seed's run found. */
    public record Result(long seed, SimOptions options, long stepsMs, List<String> violations,
        Map<String, Long> counters) {
        /**
         * @return true if no check failed.
         */
        public boolean passed() {
            return violations.isEmpty();
        }
    }

    private static final class Client {
        final int id;
        final long[] lastSeen;
        // The mod revision of each lastSeen value (keyspace mode; 0 for an absent key, and in plain mode).
        final long[] lastSeenRevision;
        History.Op inFlight;
        long giveUpAtMs;
        int leaderHint;
        long sequence;

        Client(final int id, final int keys) {
            this.id = id;
            this.lastSeen = new long[keys];
            this.lastSeenRevision = new long[keys];
        }
    }

    private final long seed;
    private final Random random;
    private final SimOptions options;
    private final SimNetwork network;
    private final History history = new History();
    private final SafetyChecker checker = new SafetyChecker();
    private final SimNode[] nodes;
    private final long[] restartAtMs;
    private final List<Client> clients = new ArrayList<>();
    private final Map<String, Long> counters = new LinkedHashMap<>();
    private final SimClock clock = new SimClock();
    // Keyspace mode: the run's directory (every member's files below it), deleted at the end of run(); else null.
    private final Path directory;
    // Mirrors clock.nowMs() for brevity; written only by advance().
    private long nowMs;
    private boolean clientsActive = true;

    /**
     * @param seed everything in the run derives from it.
     */
    public Simulator(final long seed) {
        this(seed, false);
    }

    /**
     * @param seed     everything in the run derives from it.
     * @param keyspace members replicate the real keyspace (files under a temporary directory that {@link #run()}
     *                 deletes) rather than the in-memory register map.
     */
    public Simulator(final long seed, final boolean keyspace) {
        this.seed = seed;
        this.random = new Random(seed);
        this.options = SimOptions.swarm(random, keyspace);
        this.directory = keyspace ? createDirectory(seed) : null;
        final int nodeCount = options.nodeCount();
        this.network = new SimNetwork(random, options, nodeCount);
        this.nodes = new SimNode[nodeCount + 1];
        this.restartAtMs = new long[nodeCount + 1];
        final int[] founders = new int[options.clusterSize()];
        for (int i = 0; i < founders.length; i++) {
            founders[i] = i + 1;
        }
        for (int id = 1; id <= nodeCount; id++) {
            final Membership bootstrap = id <= options.clusterSize() ? Membership.ofVoters(founders)
                : new Membership();
            final SimApplication app = keyspace
                ? new KeyspaceApplication(directory.resolve("node-" + id), options.keyspaceChunkBytes(), options.keys())
                : new KvApplication(options.snapshotChunkBytes());
            nodes[id] = new SimNode(id, this, bootstrap, app);
            checker.register(nodes[id]);
        }
        for (int c = 0; c < options.clients(); c++) {
            clients.add(new Client(c, options.keys()));
        }
    }

    /**
     * @param seed the seed.
     * @return what the run found.
     */
    public static Result run(final long seed) {
        return new Simulator(seed).run();
    }

    /**
     * @param seed     the seed.
     * @param keyspace replicate the real keyspace.
     * @return what the run found.
     */
    public static Result run(final long seed, final boolean keyspace) {
        return new Simulator(seed, keyspace).run();
    }

    private static Path createDirectory(final long seed) {
        final String configured = System.getProperty("cairn.sim.dir");
        final Path shm = Path.of("/dev/shm");
        final Path base = configured != null ? Path.of(configured)
            : Files.isDirectory(shm) && Files.isWritable(shm) ? shm : Path.of(System.getProperty("java.io.tmpdir"));
        try {
            Files.createDirectories(base);
            return Files.createTempDirectory(base, "cairn-sim-" + seed + "-");
        } catch (final IOException ex) {
            throw new UncheckedIOException("cannot create the simulator's directory in " + base, ex);
        }
    }

    /**
     * Runs the safety phase, then the liveness phase, then the end checks.
     *
     * @return what the run found.
     */
    public Result run() {
        final List<String> violations = new ArrayList<>();
        // The engine logs every store restored and snapshot installed (INFO, WARNING), which keyspace runs do by the
        // thousand on purpose; what matters is checked. Quiet it for the run (the reference keeps the level set)
        // unless -Dcairn.sim.engineLogs=true asks for it (replaying a seed).
        final Logger engineLog = Logger.getLogger("io.cairn");
        final Level logLevel = engineLog.getLevel();
        if (directory != null && !Boolean.getBoolean("cairn.sim.engineLogs")) {
            engineLog.setLevel(Level.SEVERE);
        }
        try {
            for (int id = 1; id < nodes.length; id++) {
                nodes[id].start(0);
            }
            for (advance(); nowMs <= options.safetyMs() && checker.violations().isEmpty(); advance()) {
                step(true);
            }
            if (checker.violations().isEmpty()) {
                livenessPhase(violations);
            }
            if (checker.violations().isEmpty() && violations.isEmpty()) {
                finalChecks(violations);
            }
        } catch (final RuntimeException | AssertionError ex) {
            final StringWriter trace = new StringWriter();
            ex.printStackTrace(new PrintWriter(trace));
            violations.add("exception at " + nowMs + " ms: " + trace);
        } finally {
            engineLog.setLevel(logLevel);
        }
        release(violations);
        violations.addAll(0, checker.violations());
        collectCounters();
        return new Result(seed, options, nowMs, violations, counters);
    }

    /** Closes every member's files and deletes the run's directory (keyspace mode). */
    private void release(final List<String> violations) {
        for (int id = 1; id < nodes.length; id++) {
            try {
                nodes[id].app().close();
            } catch (final RuntimeException ex) {
                violations.add("closing node " + id + " failed: " + ex);
            }
        }
        if (directory == null) {
            return;
        }
        try (Stream<Path> paths = Files.walk(directory)) {
            for (final Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(path);
            }
        } catch (final IOException | UncheckedIOException ex) {
            violations.add("deleting " + directory + " failed: " + ex);
        }
    }

    private void advance() {
        clock.advance();
        nowMs = clock.nowMs();
    }

    private void step(final boolean faults) {
        if (faults) {
            injectFaults();
        }
        for (int id = 1; id < nodes.length; id++) {
            final SimNode node = nodes[id];
            if (!node.up() && restartAtMs[id] != 0 && restartAtMs[id] <= nowMs) {
                restartAtMs[id] = 0;
                count("restarts");
                node.start(nowMs);
            }
            if (node.up() && node.busy() && node.syncDoneAtMs() <= nowMs) {
                node.onSyncDone(nowMs);
            }
        }
        SimNetwork.Packet packet;
        while ((packet = network.poll(nowMs)) != null) {
            final SimNode node = nodes[packet.to()];
            if (!node.up()) {
                count("packets to crashed nodes");
            } else if (node.busy()) {
                network.defer(packet, node.syncDoneAtMs());
            } else {
                node.receive(packet.bytes(), nowMs);
            }
        }
        for (int id = 1; id < nodes.length; id++) {
            final SimNode node = nodes[id];
            if (node.up() && !node.busy() && node.tickDue(nowMs)) {
                node.tick(nowMs);
            }
        }
        runClients();
    }

    // ----------------------------------------------------------------------------------------------------------
    // Faults
    // ----------------------------------------------------------------------------------------------------------

    private void injectFaults() {
        if (random.nextDouble() < options.crashPerMs()) {
            // Leaders are where the interesting histories start (uncommitted tails, figure 8), and members in the
            // middle of a sync are where unsynced writes are lost and torn: aim at both often.
            final int aim = random.nextInt(4);
            final SimNode target = aim < 2 ? leader() : aim == 2 ? syncingNode() : null;
            final SimNode node = target != null ? target : nodes[1 + random.nextInt(nodes.length - 1)];
            if (node.up()) {
                // Now and then the crash damages the disk too: synced entries at the end of the log are lost (the
                // WAL reports it). One member at a time, until it has its entries back: more is beyond what a
                // majority-based protocol can survive.
                if (node.crash(random.nextInt(8) == 0 && noneHoldingLostEntries())) {
                    count("synced tails lost");
                }
                count("crashes");
                restartAtMs[node.id()] = nowMs + 1 + random.nextInt(options.restartDelayMaxMs());
            }
        }
        if (random.nextDouble() < options.partitionPerMs()) {
            final int[] groupOf = new int[nodes.length];
            for (int id = 1; id < nodes.length; id++) {
                groupOf[id] = random.nextInt(2);
            }
            final SimNode leader = random.nextBoolean() ? leader() : null;
            if (leader != null) {
                // Isolate the leader, alone or with a minority.
                for (int id = 1; id < nodes.length; id++) {
                    groupOf[id] = id == leader.id() || random.nextInt(4) == 0 ? 1 : 0;
                }
            }
            network.partition(groupOf);
            count("partitions");
        }
        if (random.nextDouble() < options.asymmetricPerMs()) {
            final int from = 1 + random.nextInt(nodes.length - 1);
            final int to = 1 + random.nextInt(nodes.length - 1);
            if (from != to) {
                network.cutLink(from, to);
                count("asymmetric link cuts");
            }
        }
        if (random.nextDouble() < options.healPerMs() && network.anyLinkDown()) {
            network.healPartitions();
            count("network heals");
        }
        if (random.nextDouble() < options.membershipPerMs()) {
            changeMembership();
        }
        if (random.nextDouble() < options.transferPerMs()) {
            transferLeadership();
        }
    }

    private boolean noneHoldingLostEntries() {
        for (int id = 1; id < nodes.length; id++) {
            if (nodes[id].wal().holdingLostEntries()) {
                return false;
            }
        }
        return true;
    }

    private SimNode leader() {
        SimNode leader = null;
        for (int id = 1; id < nodes.length; id++) {
            final SimNode node = nodes[id];
            if (node.up() && !node.busy() && node.core().role() == Role.LEADER
                && (leader == null || node.core().term() > leader.core().term())) {
                leader = node;
            }
        }
        return leader;
    }

    private SimNode syncingNode() {
        final int start = random.nextInt(nodes.length - 1);
        for (int i = 0; i < nodes.length - 1; i++) {
            final SimNode node = nodes[1 + (start + i) % (nodes.length - 1)];
            if (node.up() && node.busy()) {
                return node;
            }
        }
        return null;
    }

    private void changeMembership() {
        final SimNode leader = leader();
        if (leader == null) {
            return;
        }
        final Membership membership = leader.core().membership();
        final int target = 1 + random.nextInt(nodes.length - 1);
        final int change;
        if (!membership.contains(target)) {
            change = random.nextBoolean() ? MembershipChange.ADD_LEARNER : MembershipChange.ADD_VOTER;
        } else if (membership.isLearner(target)) {
            change = random.nextInt(3) == 0 ? MembershipChange.REMOVE : MembershipChange.PROMOTE_LEARNER;
        } else if (membership.voterCount() > 2) {
            change = MembershipChange.REMOVE;
        } else {
            return;
        }
        final long verdict = leader.core().proposeMembership(change, target);
        count(verdict > 0 ? "membership changes" : "membership changes refused");
        leader.drive(nowMs);
    }

    private void transferLeadership() {
        final SimNode leader = leader();
        if (leader == null) {
            return;
        }
        final Membership membership = leader.core().membership();
        if (membership.voterCount() < 2) {
            return;
        }
        final int target = membership.voter(random.nextInt(membership.voterCount()));
        if (target != leader.id() && leader.core().transferLeadership(target) == RaftResult.ACCEPTED) {
            count("leadership transfers");
            leader.drive(nowMs);
        }
    }

    // ----------------------------------------------------------------------------------------------------------
    // Clients
    // ----------------------------------------------------------------------------------------------------------

    private void runClients() {
        for (final Client client : clients) {
            if (client.inFlight != null) {
                final History.Op op = client.inFlight;
                if (op.status == History.OK) {
                    if (op.kind == History.GET) {
                        client.lastSeen[op.key] = op.output;
                        client.lastSeenRevision[op.key] = op.revision;
                    } else if (op.kind == History.PUT || op.output == KvStateMachine.CAS_OK) {
                        client.lastSeen[op.key] = op.value;
                        client.lastSeenRevision[op.key] = op.revision;
                    }
                    client.inFlight = null;
                } else if (op.status != History.PENDING) {
                    client.inFlight = null;
                } else if (nowMs >= client.giveUpAtMs) {
                    history.abandon(op);
                    count("client timeouts");
                    client.inFlight = null;
                }
            }
            if (client.inFlight == null && clientsActive && random.nextDouble() < options.clientOpPerMs()) {
                issue(client);
            }
        }
    }

    private void issue(final Client client) {
        final int roll = random.nextInt(10);
        final byte kind = roll < 4 ? History.PUT : roll < 6 ? History.CAS : History.GET;
        final int key = random.nextInt(options.keys());
        final long value = ((long)(client.id + 1) << 32) | ++client.sequence;
        final History.Op op = history.invoke(client.id, kind, key, kind == History.GET ? 0 : value,
            client.lastSeen[key]);
        op.expectedRevision = client.lastSeenRevision[key];
        client.inFlight = op;
        client.giveUpAtMs = nowMs + options.clientTimeoutMs();
        final int target = client.leaderHint != 0 && random.nextInt(10) < 7 ? client.leaderHint
            : 1 + random.nextInt(nodes.length - 1);
        final SimNode node = nodes[target];
        if (!node.up() || node.busy()) {
            history.fail(op);
            client.leaderHint = 0;
            return;
        }
        final boolean accepted = kind == History.GET ? node.submitRead(op, nowMs) : node.submitWrite(op, nowMs);
        if (!accepted) {
            history.fail(op);
            client.leaderHint = node.core().leaderId();
        }
        count(kind == History.GET ? "client reads" : "client writes");
    }

    void onAcknowledged(final History.Op op) {
        count("writes acknowledged");
    }

    // ----------------------------------------------------------------------------------------------------------
    // Liveness and end checks
    // ----------------------------------------------------------------------------------------------------------

    private void livenessPhase(final List<String> violations) {
        network.healAll();
        clientsActive = false;
        for (int id = 1; id < nodes.length; id++) {
            if (!nodes[id].up()) {
                restartAtMs[id] = 0;
                nodes[id].start(nowMs);
                count("restarts");
            }
        }
        final long healedAtMs = nowMs;
        final long deadlineMs = nowMs + options.livenessMs();
        History.Op probe = null;
        long probeTries = 0;
        for (; nowMs <= deadlineMs && checker.violations().isEmpty(); advance()) {
            step(false);
            if (probe != null && probe.status == History.OK) {
                break;
            }
            if (probe == null || probe.status != History.PENDING || nowMs % 500 == 0) {
                if (probe != null) {
                    history.abandon(probe);
                }
                probe = submitProbe(++probeTries);
            }
        }
        if ((probe == null || probe.status != History.OK) && lostEntriesHeldNowhere()) {
            // A member lost synced entries that no member able to lead holds: it will not vote for a candidate
            // lacking them (they may have been committed), so no election can succeed. Unavailable, not unsafe;
            // in a deployment the operator replaces the member (etcd's disaster recovery).
            count("seeds stalled on lost entries held nowhere else");
            return;
        }
        if (probe == null || probe.status != History.OK) {
            violations.add("liveness: no write acknowledged within " + options.livenessMs()
                + " ms after faults healed at " + healedAtMs + " ms; " + describeNodes());
            return;
        }
        count("liveness ms to first commit", nowMs - healedAtMs);
        awaitConvergence(violations, deadlineMs);
    }

    private boolean lostEntriesHeldNowhere() {
        for (int id = 1; id < nodes.length; id++) {
            if (!nodes[id].wal().holdingLostEntries()) {
                continue;
            }
            final long[] note = nodes[id].wal().lostEntriesNote();
            boolean held = false;
            for (int other = 1; other < nodes.length; other++) {
                final RaftCore core = nodes[other].core();
                if (other != id && core != null && core.membership().isVoter(other)) {
                    final long lastTerm = nodes[other].wal().lastTerm();
                    held |= lastTerm > note[1] || (lastTerm == note[1] && core.lastIndex() >= note[0]);
                }
            }
            if (!held) {
                return true;
            }
        }
        return false;
    }

    private History.Op submitProbe(final long attempt) {
        final SimNode leader = leader();
        if (leader == null) {
            return null;
        }
        final History.Op op = history.invoke(-1, History.PUT, 0, -attempt, 0);
        if (!leader.submitWrite(op, nowMs)) {
            history.fail(op);
        }
        return op;
    }

    private void awaitConvergence(final List<String> violations, final long deadlineMs) {
        for (; nowMs <= deadlineMs && checker.violations().isEmpty(); advance()) {
            final SimNode leader = leader();
            if (leader != null && converged(leader)) {
                return;
            }
            step(false);
        }
        violations.add("liveness: members did not converge on the leader's commit index within "
            + options.livenessMs() + " ms; " + describeNodes());
    }

    private boolean converged(final SimNode leader) {
        final Membership membership = leader.core().membership();
        final long commit = leader.core().commitIndex();
        for (int i = 0; i < membership.memberCount(); i++) {
            final SimNode node = nodes[membership.member(i)];
            if (!node.up() || node.busy() || node.core().appliedIndex() != commit) {
                return false;
            }
        }
        final long leaderHash = leader.app().contentHash();
        for (int i = 0; i < membership.memberCount(); i++) {
            final SimNode node = nodes[membership.member(i)];
            if (node.app().contentHash() != leaderHash) {
                checker.violations().add("state machines differ at applied index " + commit + ": node "
                    + leader.id() + " " + leader.app() + " vs node " + node.id() + " " + node.app());
                return true;
            }
        }
        return true;
    }

    private void finalChecks(final List<String> violations) {
        for (final History.Op op : history.ops()) {
            if (op.status == History.OK && op.isWrite()) {
                checker.checkAcknowledged(op);
            }
        }
        final LinearizabilityChecker.Result result = LinearizabilityChecker.check(history.ops());
        if (!result.linearizable()) {
            violations.add("history not linearizable for key " + result.key() + ":\n" + result.explanation());
        } else if (result.inconclusive()) {
            // Neither shown linearizable nor refuted: a check that passes this way proves nothing, so it fails.
            violations.add("linearizability check inconclusive for key " + result.key() + ": the search ran out of"
                + " its budget (" + LinearizabilityChecker.STEP_BUDGET + " steps)");
        }
    }

    private String describeNodes() {
        final StringBuilder text = new StringBuilder();
        for (int id = 1; id < nodes.length; id++) {
            text.append("\n  ").append(nodes[id]);
            final RaftCore core = nodes[id].core();
            if (core != null && core.role() == Role.LEADER) {
                for (int member = 1; member < nodes.length; member++) {
                    if (core.progressState(member) != null) {
                        text.append("\n    progress ").append(member).append(' ').append(core.progressState(member))
                            .append(" match=").append(core.matchIndex(member));
                    }
                }
                text.append("\n    snapshots unavailable ").append(core.snapshotsUnavailableCount())
                    .append(", outbox overflows ").append(core.outboxOverflowCount());
            }
        }
        return text.toString();
    }

    private void collectCounters() {
        count("seeds with faults", options.faulty() ? 1 : 0);
        count("seeds with fault storms", options.storm() ? 1 : 0);
        count("packets sent", network.sent());
        count("packets lost", network.lost());
        count("packets duplicated", network.duplicated());
        count("packets dropped by cut links", network.cut());
        count("packets delayed beyond an election timeout", network.longDelayed());
        long torn = 0;
        long lost = 0;
        long taken = 0;
        long installed = 0;
        long rollbacks = 0;
        for (int id = 1; id < nodes.length; id++) {
            torn += nodes[id].wal().tornWrites();
            lost += nodes[id].wal().lostOperations();
            taken += nodes[id].snapshotsTaken();
            installed += nodes[id].snapshotsLoaded();
            rollbacks += nodes[id].app().rollbacks();
        }
        if (directory != null) {
            count("stores taken back to a snapshot", rollbacks);
        }
        count("torn writes", torn);
        count("unsynced writes lost", lost);
        count("snapshots taken", taken);
        count("snapshots installed from leader", installed);
        count("leader terms", checker.leaderTerms());
        count("entries committed", checker.committedCount());
        count("client ops", history.ops().size());
    }

    private void count(final String what) {
        count(what, 1);
    }

    private void count(final String what, final long amount) {
        counters.merge(what, amount, Long::sum);
    }

    Random random() {
        return random;
    }

    SimOptions options() {
        return options;
    }

    SimNetwork network() {
        return network;
    }

    History history() {
        return history;
    }

    SafetyChecker checker() {
        return checker;
    }

    RaftCore core(final int id) {
        return nodes[id].core();
    }
}
