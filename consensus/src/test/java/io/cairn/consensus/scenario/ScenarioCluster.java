package io.cairn.consensus.scenario;

import io.cairn.consensus.EntryType;
import io.cairn.consensus.Membership;
import io.cairn.consensus.Outbox;
import io.cairn.consensus.RaftConfig;
import io.cairn.consensus.RaftContext;
import io.cairn.consensus.RaftCore;
import io.cairn.consensus.RaftMessage;
import io.cairn.consensus.RaftMessageDecoder;
import io.cairn.consensus.RaftResult;
import io.cairn.consensus.Ready;
import io.cairn.consensus.Role;
import io.cairn.consensus.memory.MemorySnapshotStore;
import io.cairn.consensus.memory.MemoryWal;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;

/**
 * Goal: drive real {@link RaftCore}s step by step for focused tests and text scenarios, with full control over time,
 * delivery and durability, and no randomness. Method: every member is a core over a {@link MemoryWal} and an in-memory
 * snapshot store; its driver follows the {@link Ready} contract (send, sync, onPersisted, apply, advance), syncing at
 * once unless a test turns that off to hold a member's writes volatile. Messages wait in one FIFO queue until a test
 * delivers them; isolated members and cut links lose them. Each member's election timeout is fixed and distinct
 * (its random source returns {@code 3 * id mod bound}), so runs never depend on chance; {@link #campaign(int)} ticks
 * one member until it starts a campaign.
 * The state machine is the list of applied NORMAL payloads (as text); snapshots serialise that list.
 */
public final class ScenarioCluster {
    /** A message in flight. */
    public record Message(int from, int to, byte kind, byte[] bytes) {
        @Override
        public String toString() {
            return from + "->" + to + " " + RaftMessage.kindName(kind);
        }
    }

    /** One member. */
    public final class Node {
        final int id;
        final Membership bootstrap;
        final MemoryWal wal = new MemoryWal();
        final MemorySnapshotStore store;
        final MemorySnapshotStore.Sink sink;
        final List<String> applied = new ArrayList<>();
        final Map<Long, Long> readStates = new TreeMap<>();
        final Map<Long, String> forwardStates = new TreeMap<>();
        final List<Integer> rolesSeen = new ArrayList<>();
        RaftCore core;
        boolean up;
        boolean autoSync = true;

        Node(final int id, final Membership bootstrap) {
            this.id = id;
            this.bootstrap = bootstrap;
            this.store = new MemorySnapshotStore(chunkBytes);
            this.sink = new MemorySnapshotStore.Sink(store, ScenarioCluster::isSnapshot);
        }

        /**
         * @return the member's core.
         */
        public RaftCore core() {
            return core;
        }

        /**
         * @return the member's log.
         */
        public MemoryWal wal() {
            return wal;
        }

        /**
         * @return NORMAL payloads applied, in order (reset to the snapshot's list on install).
         */
        public List<String> applied() {
            return applied;
        }

        /**
         * @return answered reads: request id to read index ({@link Ready#READ_FAILED} if refused).
         */
        public Map<Long, Long> readStates() {
            return readStates;
        }

        /**
         * @return the leader's answers to forwarded proposals: request id to "index@term" (or a refusal's name).
         */
        public Map<Long, String> forwardStates() {
            return forwardStates;
        }

        /**
         * @return the snapshot store's sink, for counting chunks.
         */
        public MemorySnapshotStore.Sink sink() {
            return sink;
        }

        /**
         * @return the snapshot store.
         */
        public MemorySnapshotStore store() {
            return store;
        }

        /**
         * @param enabled false to keep this member's writes unsynced until {@link #sync()}.
         */
        public void autoSync(final boolean enabled) {
            autoSync = enabled;
            if (enabled) {
                drive(this);
            }
        }

        /**
         * Completes a sync now (the driver's {@code wal.sync(); core.onPersisted()}).
         */
        public void sync() {
            wal.sync();
            core.onPersisted();
            drive(this);
        }

        void start() {
            final boolean fromSnapshot = store.index() != 0;
            applied.clear();
            if (fromSnapshot) {
                applied.addAll(decodeSnapshot(store.data()));
            }
            core = new RaftCore(new RaftContext()
                .config(configure.apply(RaftConfig.builder(id)).build())
                .wal(wal)
                .random(bound -> (id * 3) % bound)
                .snapshotSource(store)
                .snapshotSink(sink)
                .snapshot(store.index(), fromSnapshot ? store.term() : 0, fromSnapshot ? store.membership() : bootstrap)
                .appliedIndex(store.index()));
            up = true;
            drive(this);
        }
    }

    private final Map<Integer, Node> nodes = new TreeMap<>();
    private final ArrayDeque<Message> queue = new ArrayDeque<>();
    private final Set<Integer> isolated = new HashSet<>();
    private final Set<Long> cutLinks = new HashSet<>();
    private final Map<Byte, Integer> sentByKind = new HashMap<>();
    private final RaftMessageDecoder decoder = new RaftMessageDecoder();
    private final UnaryOperator<RaftConfig.Builder> configure;
    private final int chunkBytes;
    private Predicate<Message> dropFilter = message -> false;

    /**
     * @param voters    the initial voters (every one started).
     * @param spares    servers started with an empty configuration, to be added later.
     * @param configure adjusts each member's {@link RaftConfig} (starting from small test limits).
     */
    public ScenarioCluster(final int[] voters, final int[] spares, final UnaryOperator<RaftConfig.Builder> configure) {
        this.configure = builder -> configure.apply(builder
            .electionTimeoutTicks(10)
            .heartbeatIntervalTicks(1)
            .entryBytesMax(256)
            .appendLimits(4096, 64)
            .snapshotChunkBytesMax(64)
            .readRequestsMax(64)
            .uncommittedEntriesMax(1024)
            .outbox(1 << 20, 4096));
        this.chunkBytes = 16;
        for (final int id : voters) {
            nodes.put(id, new Node(id, Membership.ofVoters(voters)));
        }
        for (final int id : spares) {
            nodes.put(id, new Node(id, new Membership()));
        }
        for (final Node node : nodes.values()) {
            node.start();
        }
    }

    /**
     * @param voters the initial voters, default limits, no spares.
     */
    public ScenarioCluster(final int... voters) {
        this(voters, new int[0], builder -> builder);
    }

    /**
     * @param id a member.
     * @return it.
     */
    public Node node(final int id) {
        return nodes.get(id);
    }

    /**
     * @param id a member.
     * @return its core.
     */
    public RaftCore core(final int id) {
        return nodes.get(id).core;
    }

    /**
     * Ticks one member once.
     */
    public void tick(final int id) {
        tick(id, 1);
    }

    /**
     * @param id    a member.
     * @param count ticks.
     */
    public void tick(final int id, final int count) {
        final Node node = nodes.get(id);
        for (int i = 0; i < count && node.up; i++) {
            node.core.tick();
            drive(node);
        }
    }

    /**
     * Ticks every live member {@code count} times, delivering messages after each round.
     */
    public void tickAll(final int count) {
        for (int i = 0; i < count; i++) {
            for (final Node node : nodes.values()) {
                if (node.up) {
                    node.core.tick();
                    drive(node);
                }
            }
            stabilize();
        }
    }

    /**
     * Lets a member's election timer expire (it starts a pre-vote or an election); nothing is delivered.
     */
    public void campaign(final int id) {
        final Node node = nodes.get(id);
        final long elections = node.core.electionsStartedCount();
        for (int i = 0; i < 100 && node.core.electionsStartedCount() == elections
            && node.core.role() != Role.LEADER; i++) {
            tick(id);
        }
    }

    /**
     * Campaigns and delivers until the member leads (at most a few rounds: a first pre-vote may only teach it a
     * higher term).
     */
    public void electUntilLeader(final int id) {
        for (int round = 0; round < 5 && nodes.get(id).core.role() != Role.LEADER; round++) {
            elect(id);
        }
        if (nodes.get(id).core.role() != Role.LEADER) {
            throw new AssertionError("node " + id + " did not win:\n" + status());
        }
    }

    /**
     * Runs a member's driver once (to flush proposals made directly on its core).
     */
    public void drive(final int id) {
        drive(nodes.get(id));
    }

    /**
     * Campaigns and delivers until quiet; the member should then lead.
     */
    public void elect(final int id) {
        campaign(id);
        stabilize();
    }

    /**
     * @param id    the member that proposes.
     * @param value the payload, as text.
     * @return what {@link RaftCore#propose} returned.
     */
    public long propose(final int id, final String value) {
        final byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
        final Node node = nodes.get(id);
        final long result = node.core.propose(EntryType.NORMAL, new UnsafeBuffer(bytes), 0, bytes.length);
        drive(node);
        return result;
    }

    /**
     * @param id        the member asked (a follower forwards to its leader).
     * @param requestId the proposal's id.
     * @param value     the payload.
     * @return what {@link RaftCore#proposeOrForward} returned.
     */
    public long proposeOrForward(final int id, final long requestId, final String value) {
        final byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
        final Node node = nodes.get(id);
        final long result = node.core.proposeOrForward(requestId, EntryType.NORMAL, new UnsafeBuffer(bytes), 0,
            bytes.length);
        drive(node);
        return result;
    }

    /**
     * @param id        the member asked.
     * @param requestId the read's id.
     * @return what {@link RaftCore#readIndex} returned.
     */
    public long read(final int id, final long requestId) {
        final Node node = nodes.get(id);
        final long result = node.core.readIndex(requestId);
        drive(node);
        return result;
    }

    /**
     * @param id       the member asked (the leader).
     * @param change   a {@code MembershipChange} constant.
     * @param memberId the server concerned.
     * @return what {@link RaftCore#proposeMembership} returned.
     */
    public long changeMembership(final int id, final int change, final int memberId) {
        final Node node = nodes.get(id);
        final long result = node.core.proposeMembership(change, memberId);
        drive(node);
        return result;
    }

    /**
     * @param id     the leader.
     * @param target the voter that should lead.
     * @return what {@link RaftCore#transferLeadership} returned.
     */
    public long transfer(final int id, final int target) {
        final Node node = nodes.get(id);
        final long result = node.core.transferLeadership(target);
        drive(node);
        return result;
    }

    /**
     * Delivers queued messages, in order, until none is left.
     *
     * @return messages delivered.
     */
    public int stabilize() {
        int delivered = 0;
        while (!queue.isEmpty()) {
            if (deliverOne()) {
                delivered++;
            }
            if (delivered > 1_000_000) {
                throw new IllegalStateException("no quiescence");
            }
        }
        return delivered;
    }

    /**
     * Delivers the oldest queued message (or drops it if its link is down).
     *
     * @return true if delivered.
     */
    public boolean deliverOne() {
        final Message message = queue.poll();
        if (message == null) {
            return false;
        }
        final Node target = nodes.get(message.to());
        if (target == null || !target.up || blocked(message.from(), message.to()) || dropFilter.test(message)) {
            return false;
        }
        target.core.onMessage(new UnsafeBuffer(message.bytes()), 0, message.bytes().length);
        drive(target);
        return true;
    }

    /**
     * @return messages waiting, oldest first (the live queue: tests may remove from it).
     */
    public ArrayDeque<Message> queue() {
        return queue;
    }

    /**
     * @param filter messages it accepts are dropped at delivery.
     */
    public void dropWhen(final Predicate<Message> filter) {
        dropFilter = filter;
    }

    /**
     * @param kind a message kind.
     * @return how many were sent since the cluster started (or {@link #resetCounts()}).
     */
    public int sent(final byte kind) {
        return sentByKind.getOrDefault(kind, 0);
    }

    /**
     * Zeroes {@link #sent(byte)}.
     */
    public void resetCounts() {
        sentByKind.clear();
    }

    /**
     * Cuts a member off from every other in both directions.
     */
    public void isolate(final int id) {
        isolated.add(id);
    }

    /**
     * Cuts one direction of one link.
     */
    public void cut(final int from, final int to) {
        cutLinks.add(((long)from << 32) | to);
    }

    /**
     * Restores every link.
     */
    public void heal() {
        isolated.clear();
        cutLinks.clear();
    }

    /**
     * Crashes a member: unsynced writes are lost (all of them: a deterministic worst case).
     */
    public void crash(final int id) {
        final Node node = nodes.get(id);
        node.up = false;
        node.core = null;
        node.sink.abort();
        node.wal.crash(new Random(0) {
            private static final long serialVersionUID = 1L;

            @Override
            public int nextInt(final int bound) {
                return 0;
            }

            @Override
            public boolean nextBoolean() {
                return false;
            }
        });
    }

    /**
     * Restarts a crashed member from its WAL and latest snapshot.
     */
    public void restart(final int id) {
        nodes.get(id).start();
    }

    /**
     * @return one line per member: role, term, leader, commit, applied, last index/term, configuration.
     */
    public String status() {
        final StringBuilder text = new StringBuilder();
        for (final Node node : nodes.values()) {
            text.append(statusOf(node)).append('\n');
        }
        return text.toString();
    }

    String statusOf(final Node node) {
        if (!node.up) {
            return node.id + ": down";
        }
        final RaftCore core = node.core;
        return node.id + ": " + Role.name(core.role()) + " term=" + core.term() + " lead=" + core.leaderId()
            + " commit=" + core.commitIndex() + " applied=" + core.appliedIndex() + " last="
            + node.wal.lastIndex() + "/" + node.wal.lastTerm() + " base=" + node.wal.baseIndex() + " "
            + core.membership();
    }

    /**
     * @return the member's log as {@code index/term:type[payload]} items.
     */
    public String log(final int id) {
        final MemoryWal wal = nodes.get(id).wal;
        final StringBuilder text = new StringBuilder();
        for (long i = wal.firstIndex(); i <= wal.lastIndex(); i++) {
            final MemoryWal.Entry entry = wal.entry(i);
            text.append(i == wal.firstIndex() ? "" : " ").append(i).append('/').append(entry.term());
            if (entry.type() == EntryType.NOOP) {
                text.append(":noop");
            } else if (entry.type() == EntryType.CONFIG) {
                final Membership membership = new Membership();
                membership.decode(new UnsafeBuffer(entry.payload()), 0, entry.payload().length);
                text.append(":config[").append(membership).append(']');
            } else {
                text.append(':').append(new String(entry.payload(), StandardCharsets.UTF_8));
            }
        }
        return text.toString();
    }

    /**
     * @return the leader with the highest term among live members, or 0.
     */
    public int leader() {
        int leader = 0;
        long term = -1;
        for (final Node node : nodes.values()) {
            if (node.up && node.core.role() == Role.LEADER && node.core.term() > term) {
                leader = node.id;
                term = node.core.term();
            }
        }
        return leader;
    }

    private boolean blocked(final int from, final int to) {
        return isolated.contains(from) || isolated.contains(to) || cutLinks.contains(((long)from << 32) | to);
    }

    private void drive(final Node node) {
        while (node.up) {
            node.core.checkInvariants(); // after the input that led here, and after each sync below
            final Ready ready = node.core.ready();
            final Outbox messages = ready.messages();
            for (int i = 0; i < messages.count(); i++) {
                final byte[] bytes = new byte[messages.length(i)];
                messages.buffer().getBytes(messages.offset(i), bytes);
                decoder.wrap(new UnsafeBuffer(bytes), 0, bytes.length);
                sentByKind.merge(decoder.kind(), 1, Integer::sum);
                queue.add(new Message(node.id, messages.destination(i), decoder.kind(), bytes));
            }
            if (ready.snapshotIndex() != Ready.NO_SNAPSHOT) {
                node.applied.clear();
                node.applied.addAll(decodeSnapshot(node.store.data()));
            }
            apply(node, ready.applyIndex());
            for (int i = 0; i < ready.readStateCount(); i++) {
                node.readStates.put(ready.readRequestId(i), ready.readIndex(i));
            }
            for (int i = 0; i < ready.forwardStateCount(); i++) {
                final long result = ready.forwardResult(i);
                node.forwardStates.put(ready.forwardRequestId(i),
                    result > 0 ? result + "@" + ready.forwardTerm(i) : RaftResult.name(result));
            }
            final boolean persist = ready.persistNeeded();
            if (ready.softStateChanged()) {
                node.rolesSeen.add(ready.role());
            }
            node.core.advance();
            node.core.checkInvariants();
            if (!persist || !node.autoSync) {
                return;
            }
            node.wal.sync();
            node.core.onPersisted();
        }
    }

    private static void apply(final Node node, final long applyIndex) {
        final long from = node.core.appliedIndex() + 1;
        if (applyIndex < from) {
            return;
        }
        node.wal.readRange(from, applyIndex, Integer.MAX_VALUE, Long.MAX_VALUE,
            (index, term, type, buffer, offset, length) -> {
                if (type == EntryType.NORMAL) {
                    node.applied.add(buffer.getStringWithoutLengthUtf8(offset, length));
                }
            });
        node.core.onApplied(applyIndex);
    }

    /**
     * Takes a snapshot of the member's applied state, stores it, and compacts its log up to that point.
     */
    public void snapshotAndCompact(final int id) {
        final Node node = nodes.get(id);
        final long applied = node.core.appliedIndex();
        final Membership membership = new Membership();
        node.core.membershipAt(applied, membership);
        node.store.save(applied, node.wal.term(applied), membership, encodeSnapshot(node.applied));
        node.core.compact(applied);
        node.core.checkInvariants();
    }

    static byte[] encodeSnapshot(final List<String> values) {
        return ("SM\n" + String.join("\n", values)).getBytes(StandardCharsets.UTF_8);
    }

    static List<String> decodeSnapshot(final byte[] bytes) {
        final String text = new String(bytes, StandardCharsets.UTF_8);
        final List<String> values = new ArrayList<>(List.of(text.substring(3).split("\n", -1)));
        if (values.size() == 1 && values.get(0).isEmpty()) {
            values.clear();
        }
        return values;
    }

    static boolean isSnapshot(final byte[] bytes) {
        return new String(bytes, StandardCharsets.UTF_8).startsWith("SM\n");
    }
}
