package io.cairn.server;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.CompactionRequest;
import io.etcd.jetcd.api.Compare;
import io.etcd.jetcd.api.DeleteRangeRequest;
import io.etcd.jetcd.api.DeleteRangeResponse;
import io.etcd.jetcd.api.Event;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.KeyValue;
import io.etcd.jetcd.api.LeaseGrantRequest;
import io.etcd.jetcd.api.LeaseGrpc;
import io.etcd.jetcd.api.LeaseRevokeRequest;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.RangeResponse;
import io.etcd.jetcd.api.RequestOp;
import io.etcd.jetcd.api.TxnRequest;
import io.etcd.jetcd.api.TxnResponse;
import io.etcd.jetcd.api.WatchCreateRequest;
import io.etcd.jetcd.api.WatchGrpc;
import io.etcd.jetcd.api.WatchProgressRequest;
import io.etcd.jetcd.api.WatchRequest;
import io.etcd.jetcd.api.WatchResponse;
import io.grpc.stub.StreamObserver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: the whole keyspace stays right under faults — not just puts and gets: deletes (single and ranges), multi-key
 * transactions with compares, ranges, leases (grant, put with a lease, revoke deleting the keys), compaction — and
 * every watcher gets what etcd promises: ordered, unique, atomic (a revision's events in one response), reliable (no
 * gap), resumable (from the next revision after a reconnect), bookmarkable (a progress response at revision P means no
 * event at or below P is still to come), with prev_kv right.
 *
 * <p>Method: three {@code cairn member} processes; four clients on eight keys under {@code model/} do random puts (some
 * with a lease), deletes, range deletes, transactions (compare a key's value, then put one key and delete another, else
 * read), linearizable ranges, lease grants and revokes; a fifth compacts now and then behind every watcher. Three
 * watchers, one per member, watch the prefix from revision 1 with prev_kv, ask for progress every 200 ms, and resume on
 * another member from their last revision + 1 when theirs dies. Faults: the leader SIGKILLed and restarted, paused
 * (SIGSTOP) for 2 s, cut from both followers (the transport's partition rules), a follower SIGKILLed
 * (-Dcairn.model.rounds=N repeats them N times). Then revisions give the order: each write that changed the keyspace
 * has one; the watchers' event histories must be identical and contiguous; replaying them is the model, against which
 * every acknowledged write (its revision, its effects, a transaction's branch from the state before it), every read
 * (the state at its revision) and every event's prev_kv, version and create revision are checked; a write whose outcome
 * is unknown appears at most once; no value appears that nobody sent; and real time is respected (an operation that
 * completed before another began has a revision no greater, strictly less for a write). Finally the members' hashes
 * agree.
 */
@Timeout(1800) // long modes (rounds) included
class KeyspaceModelIT {
    private static final int CLIENTS = 4;
    private static final int KEYS = 8;
    private static final String PREFIX = "model/";
    private static final ByteString PREFIX_END = ByteString.copyFromUtf8("model0");
    private static final long SEED = Long.getLong("cairn.model.seed", System.nanoTime());
    /** How many times the four faults repeat ({@code -Dcairn.model.rounds}, 1 in {@code ./test}). */
    private static final int ROUNDS = Integer.getInteger("cairn.model.rounds", 1);

    @TempDir
    Path dir;

    private ProcessCluster cairn;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final AtomicBoolean watching = new AtomicBoolean(true);
    private final AtomicLong okWrites = new AtomicLong();
    private final AtomicLong lastOkInvokedNs = new AtomicLong();
    private final List<Op> ops = Collections.synchronizedList(new ArrayList<>());
    private final Set<Long> leases = ConcurrentHashMap.newKeySet();
    private final List<Watcher> watchers = new ArrayList<>();
    private final List<String> problems = Collections.synchronizedList(new ArrayList<>());
    private final ThreadLocal<Op> current = new ThreadLocal<>();

    /** One client operation, its invocation and completion times, and what it was told. */
    private static final class Op {
        final String kind;
        final long invokedNs = System.nanoTime();
        volatile long completedNs;
        volatile boolean ok;
        volatile boolean unknown;
        long revision;
        String key;
        String end;
        String value;
        long lease;
        long deleted;
        boolean succeeded;
        /** etcd compares a missing key's value as failing, whatever the value asked for. */
        String compareValue;
        String otherKey;
        String otherValue;
        List<KeyValue> kvs = List.of();

        Op(final String kind) {
            this.kind = kind;
        }

        boolean writes() {
            return !kind.equals("range");
        }

        /** Whether it changed the keyspace (a revoke is judged by the state instead). */
        boolean changes() {
            return kind.equals("put") || (kind.equals("txn") && succeeded) || (kind.equals("delete") && deleted > 0);
        }
    }

    /** What one watcher saw, in the order it arrived: event batches and progress responses. */
    private final class Watcher {
        final int id;
        final List<List<Event>> batches = Collections.synchronizedList(new ArrayList<>());
        final AtomicLong lastRevision = new AtomicLong();
        int reconnects;
        long progressResponses;
        volatile long bookmark; // the last progress revision on the current stream

        Watcher(final int id) {
            this.id = id;
        }

        void run(final CountDownLatch started) {
            int member = id;
            while (watching.get()) {
                final CountDownLatch ended = new CountDownLatch(1);
                bookmark = 0;
                final StreamObserver<WatchRequest> requests = WatchGrpc.newStub(cairn.channel(member)).watch(
                    WatchStreams.observer(response -> {
                        started.countDown();
                        onResponse(response, ended);
                    }, ended));
                try {
                    requests.onNext(WatchRequest.newBuilder().setCreateRequest(WatchCreateRequest.newBuilder()
                        .setKey(ByteString.copyFromUtf8(PREFIX)).setRangeEnd(PREFIX_END).setPrevKv(true)
                        .setStartRevision(lastRevision.get() + 1)).build());
                    final int current = member;
                    while (watching.get() && !ended.await(200, TimeUnit.MILLISECONDS)) {
                        if (!cairn.process(current).isAlive()) {
                            break;
                        }
                        requests.onNext(WatchRequest.newBuilder().setProgressRequest(
                            WatchProgressRequest.getDefaultInstance()).build());
                    }
                    requests.onCompleted();
                } catch (final InterruptedException ex) {
                    return;
                } catch (final RuntimeException ex) {
                    // the stream broke under us: resume elsewhere
                }
                if (watching.get()) {
                    member = (member + 1) % 3;
                    reconnects++;
                    Await.sleep(100);
                }
            }
        }

        private void onResponse(final WatchResponse response, final CountDownLatch ended) {
            if (response.getCanceled() || response.getCompactRevision() != 0) {
                problems.add("watcher " + id + " cancelled: " + response);
                ended.countDown();
                return;
            }
            if (response.getWatchId() == -1 && response.getEventsCount() == 0) {
                progressResponses++;
                bookmark = Math.max(bookmark, response.getHeader().getRevision());
                return;
            }
            if (response.getEventsCount() == 0) {
                return; // created
            }
            final List<Event> events = response.getEventsList();
            for (final Event event : events) {
                final long revision = event.getKv().getModRevision();
                if (revision <= bookmark) {
                    problems.add("watcher " + id + " (bookmarkable): event at revision " + revision + " after a"
                        + " progress response at " + bookmark);
                }
                if (revision < lastRevision.get()) {
                    problems.add("watcher " + id + " (ordered): revision " + revision + " after "
                        + lastRevision.get());
                }
            }
            final long first = events.get(0).getKv().getModRevision();
            synchronized (batches) {
                final long last = lastRevision.get();
                if (first == last) {
                    problems.add("watcher " + id + " (atomic): revision " + first + " split across responses");
                }
                batches.add(events);
                lastRevision.set(events.get(events.size() - 1).getKv().getModRevision());
            }
        }
    }

    @AfterEach
    void stop() throws Exception {
        running.set(false);
        watching.set(false);
        if (cairn != null) {
            cairn.healAndThaw();
            cairn.close();
        }
    }

    @Test
    void shouldKeepTheWholeKeyspaceAndEveryWatchGuaranteeUnderFaults() throws Exception {
        System.out.println("KeyspaceModelIT: seed " + SEED + " (-Dcairn.model.seed=" + SEED + " replays the clients'"
            + " choices)");
        cairn = ProcessCluster.prepareCairn(dir, "KeyspaceModelIT", 3).withFlags("--experimental-corrupt-check-time",
            "1s");
        cairn.startAll();
        Await.until("a leader", 60, () -> cairn.leader() >= 0);
        final CountDownLatch started = new CountDownLatch(3);
        final List<Thread> threads = new ArrayList<>();
        for (int w = 0; w < 3; w++) {
            final Watcher watcher = new Watcher(w);
            watchers.add(watcher);
            threads.add(start("watcher-" + w, () -> watcher.run(started)));
        }
        // A first write gives every watcher its created response.
        Await.until("a first write", 60, () -> {
            try {
                put(new Op("put"), cairn.leader() >= 0 ? cairn.leader() : 0, PREFIX + "start", "start", 0);
                return true;
            } catch (final RuntimeException ex) {
                return false;
            }
        });
        assertTrue(started.await(30, TimeUnit.SECONDS), "the watches started");
        final List<Thread> clients = new ArrayList<>();
        for (int c = 0; c < CLIENTS; c++) {
            final int client = c;
            clients.add(start("client-" + c, () -> runClient(client)));
        }
        clients.add(start("compactor", this::runCompactor));
        final List<String> done = new ArrayList<>();
        try {
            final List<String> faults = new ArrayList<>();
            for (int round = 0; round < ROUNDS; round++) {
                faults.addAll(List.of("kill", "pause", "partition", "follower"));
            }
            for (final String fault : faults) {
                final long before = okWrites.get();
                Await.until("writes before " + fault, 60, () -> okWrites.get() >= before + 150);
                done.add(fault + " " + inject(fault) + " ms");
            }
        } finally {
            cairn.heal();
            running.set(false);
            for (final Thread client : clients) {
                client.join(20_000);
            }
        }
        final long finalRevision = KVGrpc.newBlockingStub(cairn.channel(0)).withWaitForReady()
            .withDeadlineAfter(30, TimeUnit.SECONDS).range(RangeRequest.newBuilder()
                .setKey(ByteString.copyFromUtf8(PREFIX)).setRangeEnd(PREFIX_END).setCountOnly(true).build())
            .getHeader().getRevision();
        for (final Watcher watcher : watchers) {
            Await.until("watcher " + watcher.id + " reaching revision " + finalRevision, 60,
                () -> watcher.lastRevision.get() >= finalRevision);
        }
        watching.set(false);
        for (final Thread thread : threads) {
            thread.join(10_000);
        }
        final String summary = check(finalRevision);
        System.out.println("KeyspaceModelIT: seed " + SEED + "; faults (first write acknowledged after) " + done
            + "; " + summary);
        assertTrue(problems.isEmpty(), problems.size() + " problems, the first 30:\n"
            + String.join("\n", problems.subList(0, Math.min(30, problems.size()))));
        final long[] hashes = new long[3];
        for (int i = 0; i < 3; i++) {
            final int member = i;
            Await.until("member " + i + "'s hash", 60, () -> {
                try {
                    hashes[member] = cairn.hashKv(member, finalRevision);
                    return true;
                } catch (final RuntimeException ex) {
                    return false;
                }
            });
        }
        assertEquals(hashes[0], hashes[1], "member 1's keyspace hash");
        assertEquals(hashes[0], hashes[2], "member 2's keyspace hash");
        cairn.assertCorruptionChecksFoundNoDifference();
    }

    // ----------------------------------------------------------------------------------------------------------
    // Faults
    // ----------------------------------------------------------------------------------------------------------

    private long inject(final String fault) throws Exception {
        final int[] found = {-1};
        Await.until("a leader", 60, () -> (found[0] = cairn.leader()) >= 0);
        final int leader = found[0];
        final long startNs = System.nanoTime();
        switch (fault) {
            case "kill" -> {
                cairn.kill(leader);
                awaitWriteAfter(startNs);
                cairn.start(leader);
                cairn.awaitPorts();
            }
            case "follower" -> {
                final int follower = (leader + 1) % 3;
                cairn.kill(follower);
                awaitWriteAfter(startNs);
                cairn.start(follower);
                cairn.awaitPorts();
            }
            case "pause" -> {
                cairn.signal(leader, "STOP");
                Thread.sleep(2_000);
                cairn.signal(leader, "CONT");
                awaitWriteAfter(startNs);
            }
            default -> {
                cairn.partition(leader, (leader + 1) % 3, (leader + 2) % 3);
                awaitWriteAfter(startNs);
                Thread.sleep(1_000);
                cairn.heal();
            }
        }
        return TimeUnit.NANOSECONDS.toMillis(lastOkInvokedNs.get() - startNs);
    }

    private void awaitWriteAfter(final long startNs) throws Exception {
        Await.until("a write acknowledged after the fault", 60, () -> lastOkInvokedNs.get() > startNs);
    }

    // ----------------------------------------------------------------------------------------------------------
    // Clients
    // ----------------------------------------------------------------------------------------------------------

    private void runClient(final int client) {
        final SplittableRandom random = new SplittableRandom(SEED + client);
        int member = client % 3;
        long sequence = 0;
        while (running.get()) {
            final String key = PREFIX + "k" + random.nextInt(KEYS);
            final String value = "c" + client + "-" + ++sequence;
            final int roll = random.nextInt(100);
            current.remove();
            try {
                if (roll < 30) {
                    final Long[] held = leases.toArray(new Long[0]);
                    put(new Op("put"), member, key, value, held.length > 0 && random.nextInt(4) == 0
                        ? held[random.nextInt(held.length)] : 0);
                } else if (roll < 40) {
                    delete(member, key, random.nextInt(3) == 0 ? PREFIX + "k" + (KEYS / 2) : null);
                } else if (roll < 60) {
                    final String other = PREFIX + "k" + ((key.charAt(key.length() - 1) - '0' + 1
                        + random.nextInt(KEYS - 1)) % KEYS);
                    txn(member, key, other, value, random);
                } else if (roll < 90) {
                    range(member);
                } else if (roll < 95) {
                    final Op op = new Op("grant");
                    record(op);
                    final long id = LeaseGrpc.newBlockingStub(cairn.channel(member)).withDeadlineAfter(5,
                        TimeUnit.SECONDS).leaseGrant(LeaseGrantRequest.newBuilder().setTTL(600).build()).getID();
                    leases.add(id);
                    op.lease = id;
                    op.ok = true;
                    op.completedNs = System.nanoTime();
                } else {
                    final Long[] held = leases.toArray(new Long[0]);
                    if (held.length > 0) {
                        revoke(member, held[random.nextInt(held.length)]);
                    }
                }
                Thread.sleep(2);
            } catch (final RuntimeException ex) {
                final Op op = current.get();
                if (op != null && !op.ok) {
                    op.unknown = op.writes(); // a failed write may or may not have taken effect; a read changed nothing
                }
                member = (member + 1) % 3;
                Await.sleep(50);
            } catch (final InterruptedException ex) {
                return;
            }
        }
    }

    private void record(final Op op) {
        ops.add(op);
        current.set(op);
    }

    private Op put(final Op op, final int member, final String key, final String value, final long lease) {
        op.key = key;
        op.value = value;
        op.lease = lease;
        record(op);
        op.revision = kv(member).put(PutRequest.newBuilder().setKey(ByteString.copyFromUtf8(key))
            .setValue(ByteString.copyFromUtf8(value)).setLease(lease).build()).getHeader().getRevision();
        acknowledge(op);
        return op;
    }

    private Op delete(final int member, final String key, final String end) {
        final Op op = new Op("delete");
        op.key = key;
        op.end = end != null && end.compareTo(key) > 0 ? end : null;
        record(op);
        final DeleteRangeRequest.Builder request = DeleteRangeRequest.newBuilder()
            .setKey(ByteString.copyFromUtf8(key)).setPrevKv(true);
        if (op.end != null) {
            request.setRangeEnd(ByteString.copyFromUtf8(op.end));
        }
        final DeleteRangeResponse response = kv(member).deleteRange(request.build());
        op.deleted = response.getDeleted();
        op.revision = response.getHeader().getRevision();
        acknowledge(op);
        return op;
    }

    /** If {@code key} holds the value last read, put {@code value} there and delete {@code other}; else read it. */
    private Op txn(final int member, final String key, final String other, final String value,
        final SplittableRandom random) {
        final Op op = new Op("txn");
        op.key = key;
        op.otherKey = other;
        op.value = value;
        op.compareValue = random.nextBoolean() ? lastValueRead(key) : "";
        record(op);
        final TxnResponse response = kv(member).txn(TxnRequest.newBuilder()
            .addCompare(Compare.newBuilder().setKey(ByteString.copyFromUtf8(key))
                .setTarget(Compare.CompareTarget.VALUE).setResult(Compare.CompareResult.EQUAL)
                .setValue(ByteString.copyFromUtf8(op.compareValue)))
            .addSuccess(RequestOp.newBuilder().setRequestPut(PutRequest.newBuilder()
                .setKey(ByteString.copyFromUtf8(key)).setValue(ByteString.copyFromUtf8(value))))
            .addSuccess(RequestOp.newBuilder().setRequestDeleteRange(DeleteRangeRequest.newBuilder()
                .setKey(ByteString.copyFromUtf8(other))))
            .addFailure(RequestOp.newBuilder().setRequestRange(RangeRequest.newBuilder()
                .setKey(ByteString.copyFromUtf8(key))))
            .build());
        op.succeeded = response.getSucceeded();
        op.revision = response.getHeader().getRevision();
        acknowledge(op);
        return op;
    }

    private Op range(final int member) {
        final Op op = new Op("range");
        record(op);
        final RangeResponse response = kv(member).range(RangeRequest.newBuilder()
            .setKey(ByteString.copyFromUtf8(PREFIX)).setRangeEnd(PREFIX_END).build());
        op.kvs = response.getKvsList();
        op.revision = response.getHeader().getRevision();
        op.completedNs = System.nanoTime();
        op.ok = true;
        return op;
    }

    private Op revoke(final int member, final long lease) {
        final Op op = new Op("revoke");
        op.lease = lease;
        record(op);
        op.revision = LeaseGrpc.newBlockingStub(cairn.channel(member)).withDeadlineAfter(5, TimeUnit.SECONDS)
            .leaseRevoke(LeaseRevokeRequest.newBuilder().setID(lease).build()).getHeader().getRevision();
        leases.remove(lease);
        acknowledge(op);
        return op;
    }

    private void acknowledge(final Op op) {
        op.completedNs = System.nanoTime();
        op.ok = true;
        okWrites.incrementAndGet();
        lastOkInvokedNs.accumulateAndGet(op.invokedNs, Math::max);
    }

    private String lastValueRead(final String key) {
        synchronized (ops) {
            for (int i = ops.size() - 1; i >= 0; i--) {
                final Op op = ops.get(i);
                if (op.ok && op.kind.equals("range")) {
                    for (final KeyValue kv : op.kvs) {
                        if (kv.getKey().toStringUtf8().equals(key)) {
                            return kv.getValue().toStringUtf8();
                        }
                    }
                    return "";
                }
            }
        }
        return "";
    }

    /** Compacts now and then, always behind every watcher (so a watcher resuming elsewhere is never compacted). */
    private void runCompactor() {
        while (running.get()) {
            Await.sleep(3_000);
            long behind = Long.MAX_VALUE;
            for (final Watcher watcher : watchers) {
                behind = Math.min(behind, watcher.lastRevision.get());
            }
            if (behind > 50) {
                try {
                    kv(0).compact(CompactionRequest.newBuilder().setRevision(behind - 50).build());
                } catch (final RuntimeException ex) {
                    // member 0 down or compacted already: next time
                }
            }
        }
    }

    // ----------------------------------------------------------------------------------------------------------
    // Checks
    // ----------------------------------------------------------------------------------------------------------

    /** The watchers' histories, checked to be one and contiguous up to {@code finalRevision}: the truth. */
    private TreeMap<Long, List<Event>> watchHistory(final long finalRevision) {
        // Every watcher saw the same history, revision by revision; one is the truth the model replays.
        final List<TreeMap<Long, List<Event>>> histories = new ArrayList<>();
        for (final Watcher watcher : watchers) {
            final TreeMap<Long, List<Event>> byRevision = new TreeMap<>();
            synchronized (watcher.batches) {
                for (final List<Event> batch : watcher.batches) {
                    for (final Event event : batch) {
                        final long revision = event.getKv().getModRevision();
                        final List<Event> at = byRevision.computeIfAbsent(revision, r -> new ArrayList<>());
                        for (final Event seen : at) {
                            if (seen.getKv().getKey().equals(event.getKv().getKey())) {
                                problems.add("watcher " + watcher.id + " (unique): key "
                                    + event.getKv().getKey().toStringUtf8() + " twice at revision " + revision);
                            }
                        }
                        at.add(event);
                    }
                }
            }
            histories.add(byRevision);
        }
        final TreeMap<Long, List<Event>> truth = histories.get(0);
        for (int w = 1; w < histories.size(); w++) {
            if (!histories.get(w).equals(truth)) {
                problems.add("watcher " + w + " saw another history than watcher 0 (reliable/resumable): revisions "
                    + describeDifference(truth, histories.get(w)));
            }
        }
        long expected = truth.isEmpty() ? 0 : truth.firstKey();
        for (final long revision : truth.keySet()) {
            if (revision != expected) {
                problems.add("(reliable) revision " + expected + " missing from the watch history (next: " + revision
                    + ")");
            }
            expected = revision + 1;
        }
        if (truth.isEmpty() || truth.lastKey() != finalRevision) {
            problems.add("the watch history ends at " + (truth.isEmpty() ? 0 : truth.lastKey()) + ", the keyspace at "
                + finalRevision);
        }
        return truth;
    }

    private String check(final long finalRevision) {
        final TreeMap<Long, List<Event>> truth = watchHistory(finalRevision);
        final Model model = new Model();
        final Map<Long, List<Op>> writesAt = new HashMap<>();
        final Map<Long, List<Op>> readsAt = new HashMap<>();
        final Map<String, Op> byValue = new HashMap<>();
        final List<Op> all;
        synchronized (ops) {
            all = new ArrayList<>(ops);
        }
        for (final Op op : all) {
            if (op.value != null) {
                byValue.put(op.value, op);
            }
            if (op.ok && op.kind.equals("range")) {
                readsAt.computeIfAbsent(op.revision, r -> new ArrayList<>()).add(op);
            } else if (op.ok && !op.kind.equals("grant")) {
                writesAt.computeIfAbsent(op.revision, r -> new ArrayList<>()).add(op);
            }
        }
        final Set<String> valuesSeen = new HashSet<>();
        final Map<String, Long> unknownAppliedAt = new HashMap<>();
        checkOpsAt(truth.isEmpty() ? 1 : truth.firstKey() - 1, model, writesAt, readsAt);
        for (final Map.Entry<Long, List<Event>> at : truth.entrySet()) {
            final long revision = at.getKey();
            final Map<String, Model.Kv> before = model.copy();
            for (final Event event : at.getValue()) {
                model.apply(event, revision, before, problems);
                if (event.getType() == Event.EventType.PUT) {
                    final String value = event.getKv().getValue().toStringUtf8();
                    final Op sender = byValue.get(value);
                    if (sender == null) {
                        problems.add("revision " + revision + " put a value nobody sent: " + value);
                    } else if (!valuesSeen.add(value)) {
                        problems.add("value " + value + " put twice (revision " + revision + ")");
                    } else if (!sender.ok) {
                        unknownAppliedAt.put(value, revision);
                    } else if (sender.revision != revision) {
                        problems.add(sender.kind + " of " + value + " acknowledged at revision " + sender.revision
                            + " but applied at " + revision);
                    }
                }
            }
            checkWrites(revision, before, model, writesAt.getOrDefault(revision, List.of()), at.getValue());
            checkOpsAt(revision, model, writesAt, readsAt);
        }
        for (final Op op : all) {
            if (op.ok && op.value != null && (op.kind.equals("put") || (op.kind.equals("txn") && op.succeeded))
                && !valuesSeen.contains(op.value) && op.revision > (truth.isEmpty() ? 0 : truth.firstKey())) {
                problems.add("acknowledged " + op.kind + " of " + op.value + " at revision " + op.revision
                    + " is not in the history");
            }
        }
        final long realTimeChecked = checkRealTime(all, unknownAppliedAt, byValue);
        final long events = truth.values().stream().mapToLong(List::size).sum();
        long progress = 0;
        int reconnects = 0;
        for (final Watcher watcher : watchers) {
            progress += watcher.progressResponses;
            reconnects += watcher.reconnects;
        }
        return String.format("%d operations (%d writes acknowledged, %d unknown of which %d applied), %d reads"
            + " checked against the model, %d revisions with %d events seen identically by %d watchers (%d"
            + " reconnects, %d progress responses), %d real-time pairs checked; problems: %d", all.size(),
            okWrites.get(), all.stream().filter(o -> o.unknown).count(), unknownAppliedAt.size(),
            readsAt.values().stream().mapToLong(List::size).sum(), truth.size(), events, watchers.size(), reconnects,
            progress, realTimeChecked, problems.size());
    }

    private static String describeDifference(final TreeMap<Long, List<Event>> a, final TreeMap<Long, List<Event>> b) {
        final Set<Long> onlyA = new HashSet<>(a.keySet());
        onlyA.removeAll(b.keySet());
        final Set<Long> onlyB = new HashSet<>(b.keySet());
        onlyB.removeAll(a.keySet());
        final List<Long> differ = new ArrayList<>();
        for (final long revision : a.keySet()) {
            if (b.containsKey(revision) && !Objects.equals(a.get(revision), b.get(revision))) {
                differ.add(revision);
            }
        }
        return "only in the first " + onlyA.stream().sorted().limit(10).toList() + ", only in the other "
            + onlyB.stream().sorted().limit(10).toList() + ", different " + differ.stream().limit(10).toList();
    }

    /** The writes acknowledged at {@code revision} account exactly for its events, and agree with the state before. */
    private void checkWrites(final long revision, final Map<String, Model.Kv> before, final Model after,
        final List<Op> writes, final List<Event> events) {
        final List<Op> changing = writes.stream().filter(Op::changes).toList();
        if (changing.size() > 1) {
            problems.add(changing.size() + " writes acknowledged with revision " + revision + ": " + kinds(changing));
        }
        for (final Op op : changing) {
            switch (op.kind) {
                case "put" -> {
                    final Model.Kv kv = after.get(op.key);
                    if (kv == null || !kv.value().equals(op.value) || kv.lease() != op.lease) {
                        problems.add("put " + op.key + "=" + op.value + " (lease " + op.lease + ") acknowledged at "
                            + revision + ", the model has " + kv);
                    }
                }
                case "delete" -> {
                    final long existed = before.keySet().stream().filter(k -> inRange(k, op.key, op.end)).count();
                    if (op.deleted != existed || events.size() != existed) {
                        problems.add("delete " + op.key + (op.end == null ? "" : ".." + op.end) + " at " + revision
                            + " deleted " + op.deleted + "; " + existed + " existed, " + events.size() + " events");
                    }
                }
                case "txn" -> {
                    final Model.Kv compared = before.get(op.key);
                    final boolean holds = compared != null && compared.value().equals(op.compareValue);
                    if (holds != op.succeeded || !op.succeeded) {
                        problems.add("txn on " + op.key + " at " + revision + " changed the keyspace with succeeded="
                            + op.succeeded + " but its compare " + (holds ? "holds" : "fails") + " before it");
                    }
                }
                default -> problems.add("unexpected write " + op.kind);
            }
        }
    }

    /**
     * At {@code revision}, after its events: every read answered at it sees the model's state, and every write
     * acknowledged at it that changed nothing (a delete of nothing, a txn whose compare failed) agrees with it, as
     * does every revoke (no key holds the lease).
     */
    private void checkOpsAt(final long revision, final Model model, final Map<Long, List<Op>> writesAt,
        final Map<Long, List<Op>> readsAt) {
        for (final Op read : readsAt.getOrDefault(revision, List.of())) {
            final List<KeyValue> expected = model.range();
            if (!expected.equals(read.kvs)) {
                problems.add("range at revision " + revision + " returned " + keys(read.kvs) + ", the model has "
                    + keys(expected));
            }
        }
        for (final Op op : writesAt.getOrDefault(revision, List.of())) {
            if (op.kind.equals("revoke")) {
                if (model.values().stream().anyMatch(kv -> kv.lease() == op.lease)) {
                    problems.add("lease " + op.lease + " revoked at revision " + revision + " still has keys there");
                }
            } else if (op.kind.equals("txn") && !op.succeeded) {
                final Model.Kv compared = model.get(op.key);
                if (compared != null && compared.value().equals(op.compareValue)) {
                    problems.add("txn on " + op.key + " answered at " + revision + " took the failure branch, but its"
                        + " compare holds there");
                }
            } else if (op.kind.equals("delete") && op.deleted == 0
                && model.copy().keySet().stream().anyMatch(k -> inRange(k, op.key, op.end))) {
                problems.add("delete of " + op.key + " at " + revision + " deleted nothing, but the model holds it");
            }
        }
    }

    /** An operation that completed before another was invoked has no later revision (a write: an earlier one). */
    private long checkRealTime(final List<Op> all, final Map<String, Long> unknownAppliedAt,
        final Map<String, Op> byValue) {
        final List<long[]> placed = new ArrayList<>(); // {invokedNs, completedNs, revision, changes}
        for (final Op op : all) {
            if (op.ok && !op.kind.equals("grant")) {
                placed.add(new long[] {op.invokedNs, op.completedNs, op.revision, op.changes() ? 1 : 0});
            }
        }
        for (final Map.Entry<String, Long> unknown : unknownAppliedAt.entrySet()) {
            placed.add(new long[] {byValue.get(unknown.getKey()).invokedNs, Long.MAX_VALUE, unknown.getValue(), 1});
        }
        final List<long[]> byCompletion = new ArrayList<>(placed);
        byCompletion.sort(Comparator.comparingLong(p -> p[1]));
        placed.sort(Comparator.comparingLong(p -> p[0]));
        long highest = 0;
        int next = 0;
        long checked = 0;
        for (final long[] op : placed) {
            while (next < byCompletion.size() && byCompletion.get(next)[1] < op[0]) {
                highest = Math.max(highest, byCompletion.get(next)[2]);
                next++;
            }
            checked++;
            if (op[2] < highest || (op[3] == 1 && op[2] <= highest)) {
                problems.add("real time: an operation invoked after others completed at revision " + highest
                    + " has revision " + op[2] + (op[3] == 1 ? " (a write)" : ""));
            }
        }
        return checked;
    }

    private static String kinds(final List<Op> ops) {
        return ops.stream().map(o -> o.kind + " " + o.key + "=" + o.value).toList().toString();
    }

    private static List<String> keys(final List<KeyValue> kvs) {
        return kvs.stream().map(kv -> kv.getKey().toStringUtf8() + "=" + kv.getValue().toStringUtf8() + "@"
            + kv.getModRevision()).toList();
    }

    private static boolean inRange(final String key, final String from, final String end) {
        return end == null ? key.equals(from) : key.compareTo(from) >= 0 && key.compareTo(end) < 0;
    }

    /** The keyspace under the prefix, replayed from the watch history. */
    private static final class Model {
        record Kv(String value, long createRevision, long modRevision, long version, long lease) {
        }

        private final TreeMap<String, Kv> keys = new TreeMap<>();

        Map<String, Kv> copy() {
            return new TreeMap<>(keys);
        }

        Kv get(final String key) {
            return keys.get(key);
        }

        java.util.Collection<Kv> values() {
            return keys.values();
        }

        void apply(final Event event, final long revision, final Map<String, Kv> before, final List<String> problems) {
            final KeyValue kv = event.getKv();
            final String key = kv.getKey().toStringUtf8();
            final Kv previous = keys.get(key);
            final Kv priorState = before.get(key);
            if (!samePrev(priorState, event)) {
                problems.add("prev_kv of " + key + " at revision " + revision + " is " + (event.hasPrevKv()
                    ? event.getPrevKv().getValue().toStringUtf8() + "@" + event.getPrevKv().getModRevision() : "none")
                    + ", the model has " + priorState);
            }
            if (event.getType() == Event.EventType.PUT) {
                final long version = previous == null ? 1 : previous.version() + 1;
                final long created = previous == null ? revision : previous.createRevision();
                if (kv.getVersion() != version || kv.getCreateRevision() != created) {
                    problems.add("put of " + key + " at " + revision + ": version " + kv.getVersion() + " created "
                        + kv.getCreateRevision() + ", the model has " + version + " and " + created);
                }
                keys.put(key, new Kv(kv.getValue().toStringUtf8(), created, revision, version, kv.getLease()));
            } else {
                if (previous == null) {
                    problems.add("delete of " + key + " at " + revision + ", which the model does not hold");
                }
                keys.remove(key);
            }
        }

        private static boolean samePrev(final Kv prior, final Event event) {
            if (prior == null) {
                return !event.hasPrevKv() || event.getPrevKv().getKey().isEmpty();
            }
            final KeyValue prev = event.getPrevKv();
            return event.hasPrevKv() && prev.getValue().toStringUtf8().equals(prior.value())
                && prev.getModRevision() == prior.modRevision() && prev.getCreateRevision() == prior.createRevision()
                && prev.getVersion() == prior.version() && prev.getLease() == prior.lease();
        }

        List<KeyValue> range() {
            final List<KeyValue> out = new ArrayList<>();
            for (final Map.Entry<String, Kv> entry : keys.entrySet()) {
                final Kv kv = entry.getValue();
                out.add(KeyValue.newBuilder().setKey(ByteString.copyFromUtf8(entry.getKey()))
                    .setValue(ByteString.copyFromUtf8(kv.value())).setCreateRevision(kv.createRevision())
                    .setModRevision(kv.modRevision()).setVersion(kv.version()).setLease(kv.lease()).build());
            }
            return out;
        }
    }

    private KVGrpc.KVBlockingStub kv(final int member) {
        return KVGrpc.newBlockingStub(cairn.channel(member)).withDeadlineAfter(5, TimeUnit.SECONDS);
    }

    private static Thread start(final String name, final Runnable work) {
        final Thread thread = new Thread(work, name);
        thread.setDaemon(true);
        thread.start();
        return thread;
    }
}
