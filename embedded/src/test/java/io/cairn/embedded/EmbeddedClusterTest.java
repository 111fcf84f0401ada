package io.cairn.embedded;

import io.cairn.consensus.Role;
import io.cairn.embedded.cluster.ClusterView;
import io.cairn.embedded.kv.Compare;
import io.cairn.embedded.kv.KeyValue;
import io.cairn.embedded.kv.LeaseInfo;
import io.cairn.embedded.kv.Op;
import io.cairn.embedded.kv.OpResult;
import io.cairn.embedded.kv.RangeQuery;
import io.cairn.embedded.kv.Txn;
import io.cairn.embedded.kv.TxnResult;
import io.cairn.embedded.kv.WatchEvent;
import io.cairn.embedded.kv.WatchOptions;
import io.cairn.engine.mvcc.CommandEncoder;
import io.cairn.engine.mvcc.MvccCommand;
import io.cairn.engine.mvcc.MvccResponse;
import io.cairn.engine.mvcc.StoreDamage;
import org.agrona.DirectBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: three embedded nodes in one JVM are one etcd-like cluster through the typed API: writes through any node are
 * read by every node, transactions and deletes answer as etcd's do, refusals come back as etcd's typed errors, and a
 * leader that is stopped and restarted from its data directory loses nothing acknowledged and catches up; members are
 * added, promoted and removed (the leader too) through any node, with etcd's checks.
 * Method: real nodes (Aeron on loopback UDP, Chronicle WAL, LMDB) under a temporary directory; every wait is bounded.
 */
class EmbeddedClusterTest {
    private static final long WAIT_S = 10;

    @TempDir
    Path dataDir;

    private final List<CairnNode> nodes = new ArrayList<>();
    private String cluster;

    @AfterEach
    void stop() {
        nodes.forEach(CairnNode::close);
    }

    private void startCluster() throws IOException {
        startCluster(UnaryOperator.identity());
    }

    private void startCluster(final UnaryOperator<NodeConfig> settings) throws IOException {
        cluster = "a=http://127.0.0.1:" + freePort() + ",b=http://127.0.0.1:" + freePort() + ",c=http://127.0.0.1:"
            + freePort();
        for (final String name : List.of("a", "b", "c")) {
            nodes.add(CairnNode.start(settings.apply(NodeConfig.of(name, cluster, dataDir.resolve(name)))));
        }
        // Bounded, and generous: three cold JVMs' worth of threads on two shared cores can take a while to elect.
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        for (final CairnNode node : nodes) {
            while (!node.awaitLeader()) {
                assertTrue(System.nanoTime() < deadline, "a leader within 30 s");
            }
        }
    }

    private CairnNode leader() {
        return nodes.stream().filter(node -> node.role() == Role.LEADER).findFirst().orElseThrow();
    }

    // The first node that is none of these.
    private CairnNode other(final CairnNode... these) {
        return nodes.stream().filter(node -> !List.of(these).contains(node)).findFirst().orElseThrow();
    }

    @Test
    void shouldServeEtcdsKvCallsFromEveryNode() throws Exception {
        startCluster();
        final CairnNode follower = other(leader());
        final OpResult.Put first = follower.kv().put("k1", "v1").get(WAIT_S, TimeUnit.SECONDS);
        final OpResult.Put second = follower.kv().put(Op.put("k1", "v2").withPrevKv()).get(WAIT_S, TimeUnit.SECONDS);
        assertEquals(first.revision() + 1, second.revision());
        assertEquals("v1", second.previous().orElseThrow().valueString());
        for (final CairnNode node : nodes) {
            final KeyValue kv = node.kv().get("k1").get(WAIT_S, TimeUnit.SECONDS).orElseThrow();
            assertEquals("v2", kv.valueString(), "linearizable on " + node.config().name());
            assertEquals(first.revision(), kv.createRevision());
            assertEquals(second.revision(), kv.modRevision());
            assertEquals(2, kv.version());
        }
        assertEquals(Optional.empty(), follower.kv().get("absent").get(WAIT_S, TimeUnit.SECONDS));

        // A transaction whose compare fails runs its else branch, and nothing is written.
        final TxnResult refused = follower.kv().txn(Txn.when(Compare.value("k1", Compare.Result.EQUAL, "v1"))
            .then(Op.put("k1", "v3")).orElse(Op.get(RangeQuery.key("k1")))).get(WAIT_S, TimeUnit.SECONDS);
        assertFalse(refused.succeeded());
        assertEquals(second.revision(), refused.revision());
        final OpResult.Range seen = (OpResult.Range)refused.results().get(0);
        assertEquals("v2", seen.first().orElseThrow().valueString());

        // Create-if-absent, two puts in one revision.
        final byte[] lock = "lock".getBytes(StandardCharsets.UTF_8);
        final TxnResult created = nodes.get(0).kv().txn(Txn.when(Compare.version(lock, Compare.Result.EQUAL, 0))
            .then(Op.put(lock, "me".getBytes(StandardCharsets.UTF_8)), Op.put("k2", "v"))).get(WAIT_S,
                TimeUnit.SECONDS);
        assertTrue(created.succeeded());
        assertEquals(second.revision() + 1, created.revision());
        assertEquals(2, created.results().size());

        // Ranges: prefix, limit, count, keys only, at an old revision; the visitor sees views in key order.
        final OpResult.Range page = nodes.get(1).kv().range(RangeQuery.prefix("k").withLimit(1))
            .get(WAIT_S, TimeUnit.SECONDS);
        assertEquals(2, page.count());
        assertTrue(page.more());
        assertEquals("k1", page.kvs().get(0).keyString());
        final OpResult.Range old = nodes.get(2).kv().range(RangeQuery.key("k1").withRevision(first.revision()))
            .get(WAIT_S, TimeUnit.SECONDS);
        assertEquals("v1", old.first().orElseThrow().valueString());
        final List<String> keys = new ArrayList<>();
        final OpResult.Range visited = nodes.get(2).kv().range(RangeQuery.all(), view -> {
            keys.add(new String(view.keyBytes(), StandardCharsets.UTF_8));
            return true;
        }).get(WAIT_S, TimeUnit.SECONDS);
        assertEquals(List.of("k1", "k2", "lock"), keys);
        assertEquals(3, visited.count());

        // Delete a range with the previous values; compact; the old revision is gone with etcd's error.
        final OpResult.Delete deleted = follower.kv().delete(Op.delete("k".getBytes(StandardCharsets.UTF_8))
            .toEnd(RangeQuery.prefixEnd("k".getBytes(StandardCharsets.UTF_8))).withPrevKv())
            .get(WAIT_S, TimeUnit.SECONDS);
        assertEquals(2, deleted.deleted());
        assertEquals(2, deleted.previous().size());
        follower.kv().compact(deleted.revision()).get(WAIT_S, TimeUnit.SECONDS);
        assertError(CairnError.COMPACTED, () -> nodes.get(0).kv()
            .range(RangeQuery.key("k1").withRevision(first.revision())).get(WAIT_S, TimeUnit.SECONDS));
        assertError(CairnError.FUTURE_REVISION, () -> nodes.get(0).kv()
            .range(RangeQuery.key("k1").withRevision(deleted.revision() + 100)).get(WAIT_S, TimeUnit.SECONDS));
        assertError(CairnError.EMPTY_KEY, () -> follower.kv().put(new byte[0], new byte[1]).get(WAIT_S,
            TimeUnit.SECONDS));
        assertError(CairnError.DUPLICATE_KEY, () -> follower.kv().txn(Txn.when()
            .then(Op.put("d", "1"), Op.put("d", "2"))).get(WAIT_S, TimeUnit.SECONDS));
        assertEquals(0, follower.kv().range(RangeQuery.prefix("k")).get(WAIT_S, TimeUnit.SECONDS).count());
    }

    @Test
    void shouldKeepAcknowledgedWritesWhenTheLeaderStopsAndCatchUpWhenItReturns() throws Exception {
        startCluster();
        final CairnNode leader = leader();
        long last = 0;
        for (int i = 0; i < 50; i++) {
            last = leader.kv().put("before/" + i, "v" + i).get(WAIT_S, TimeUnit.SECONDS).revision();
        }
        final int index = nodes.indexOf(leader);
        final String name = leader.config().name();
        leader.close();
        assertError(CairnError.STOPPED, () -> leader.kv().put("x", "y").get(WAIT_S, TimeUnit.SECONDS));

        final CairnNode survivor = nodes.get((index + 1) % 3);
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_S);
        while (survivor.leaderId() == 0 || survivor.leaderId() == leader.selfId()) {
            assertTrue(System.nanoTime() < deadline, "a new leader within " + WAIT_S + " s");
            Thread.sleep(20);
        }
        for (int i = 0; i < 20; i++) {
            last = putRetrying(survivor, "after/" + i, "w" + i);
        }
        assertEquals(50, survivor.kv().range(RangeQuery.prefix("before/")).get(WAIT_S, TimeUnit.SECONDS).count());

        final CairnNode restarted = CairnNode.start(NodeConfig.of(name, cluster, dataDir.resolve(name)));
        nodes.set(index, restarted);
        assertTrue(restarted.awaitLeader());
        final long caughtUp = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_S);
        OpResult.Range after;
        do {
            assertTrue(System.nanoTime() < caughtUp, "the restarted node catches up within " + WAIT_S + " s");
            Thread.sleep(20);
            after = restarted.kv().range(RangeQuery.prefix("after/").asSerializable()).get(WAIT_S, TimeUnit.SECONDS);
        } while (after.count() < 20);
        assertEquals(50, restarted.kv().range(RangeQuery.prefix("before/").asSerializable())
            .get(WAIT_S, TimeUnit.SECONDS).count(), "what it had before it stopped is still there");
        final KeyValue latest = restarted.kv().get("after/19").get(WAIT_S, TimeUnit.SECONDS).orElseThrow();
        assertEquals(last, latest.modRevision());
        assertNotEquals(0, restarted.leaderId());
        assertNotNull(restarted.view().byId(restarted.selfId()));
    }

    @Test
    void shouldDeliverWatchEventsInOrderFromHistoryAndLiveAndEndAtCompaction() throws Exception {
        startCluster();
        final CairnNode leader = leader();
        final CairnNode follower = other(leader);
        final long first = leader.kv().put("w/a", "1").get(WAIT_S, TimeUnit.SECONDS).revision();
        leader.kv().put("other", "x").get(WAIT_S, TimeUnit.SECONDS);

        final ExecutorService serviceThread = Executors.newSingleThreadExecutor();
        try {
            final BlockingQueue<List<WatchEvent>> batches = new LinkedBlockingQueue<>();
            final List<String> threads = new CopyOnWriteArrayList<>();
            final Watch watch = follower.watch(WatchOptions.prefix("w/").fromRevision(first).withPrevKv(),
                serviceThread, (events, revision) -> {
                    threads.add(Thread.currentThread().getName());
                    batches.add(events);
                });
            // History first: the put before the watch existed.
            final List<WatchEvent> history = batches.poll(WAIT_S, TimeUnit.SECONDS);
            assertNotNull(history);
            assertEquals(List.of("1"), history.stream().map(event -> event.kv().valueString()).toList());

            // Live: a put with its previous value, a transaction's two changes in one batch, a delete.
            leader.kv().put("w/a", "2").get(WAIT_S, TimeUnit.SECONDS);
            final TxnResult txn = follower.kv().txn(Txn.when().then(Op.put("w/b", "3"), Op.put("w/c", "4")))
                .get(WAIT_S, TimeUnit.SECONDS);
            leader.kv().delete("w/a").get(WAIT_S, TimeUnit.SECONDS);
            final List<WatchEvent> live = new ArrayList<>();
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_S);
            while (live.size() < 4) {
                final List<WatchEvent> batch = batches.poll(Math.max(1, deadline - System.nanoTime()),
                    TimeUnit.NANOSECONDS);
                assertNotNull(batch, "four live events within " + WAIT_S + " s, got " + live);
                if (batch.stream().anyMatch(event -> event.kv().modRevision() == txn.revision())) {
                    assertEquals(2, batch.stream().filter(event -> event.kv().modRevision() == txn.revision())
                        .count(), "a transaction's changes arrive in one batch");
                }
                live.addAll(batch);
            }
            assertEquals("2", live.get(0).kv().valueString());
            assertEquals("1", live.get(0).previous().orElseThrow().valueString());
            assertEquals(List.of("w/b", "w/c"), live.subList(1, 3).stream().map(event -> event.kv().keyString())
                .toList());
            assertEquals(WatchEvent.Type.DELETE, live.get(3).type());
            assertEquals("w/a", live.get(3).kv().keyString());
            assertTrue(threads.stream().allMatch(name -> name.equals(threads.get(0))), "on the service's thread");
            for (int i = 1; i < live.size(); i++) {
                assertTrue(live.get(i).kv().modRevision() >= live.get(i - 1).kv().modRevision(), "in order");
            }

            // Cancelled: nothing more.
            watch.cancel();
            leader.kv().put("w/after-cancel", "5").get(WAIT_S, TimeUnit.SECONDS);
            assertEquals(null, batches.poll(300, TimeUnit.MILLISECONDS));

            // A watch from a compacted revision is told so, with the compacted revision, and ends.
            final long compacted = leader.kv().put("w/z", "6").get(WAIT_S, TimeUnit.SECONDS).revision();
            leader.kv().compact(compacted).get(WAIT_S, TimeUnit.SECONDS);
            final BlockingQueue<Long> compactions = new LinkedBlockingQueue<>();
            leader.watch(WatchOptions.prefix("w/").fromRevision(first), serviceThread, new WatchListener() {
                @Override
                public void onEvents(final List<WatchEvent> events, final long revision) {
                    batches.add(events);
                }

                @Override
                public void onCompacted(final long compactRevision) {
                    compactions.add(compactRevision);
                }
            });
            assertEquals(compacted, compactions.poll(WAIT_S, TimeUnit.SECONDS));
            assertEquals(null, batches.poll(100, TimeUnit.MILLISECONDS));
        } finally {
            serviceThread.shutdownNow();
        }
    }

    @Test
    void shouldKeepLeasesAliveFromAFollowerAndExpireThemOnTheLeader() throws Exception {
        startCluster();
        final CairnNode leader = leader();
        final CairnNode follower = other(leader);
        final CairnNode other = other(leader, follower);

        final LeaseInfo lease = follower.leases().grant(1).get(WAIT_S, TimeUnit.SECONDS);
        assertEquals(LeaseClient.TTL_MIN_SECONDS, lease.ttl(), "raised to etcd's minimum");
        follower.kv().put(Op.put("session", "alive").withLease(lease.id())).get(WAIT_S, TimeUnit.SECONDS);
        assertTrue(leader.leases().leases().contains(lease.id()));

        // The follower's keep-alives and TTL questions go to the leader inside Raft.
        for (int i = 0; i < 6; i++) {
            assertEquals(2, follower.leases().keepAliveOnce(lease.id()).get(WAIT_S, TimeUnit.SECONDS));
            Thread.sleep(500);
        }
        final LeaseInfo info = follower.leases().timeToLive(lease.id(), true).get(WAIT_S, TimeUnit.SECONDS);
        assertTrue(info.exists());
        assertTrue(info.ttl() >= 1 && info.ttl() <= 2, "seconds left: " + info.ttl());
        assertEquals(2, info.grantedTtl());
        assertEquals(List.of("session"), info.keys().stream().map(key -> new String(key, StandardCharsets.UTF_8))
            .toList());
        assertEquals("alive", other.kv().get("session").get(WAIT_S, TimeUnit.SECONDS).orElseThrow().valueString(),
            "kept alive for three seconds of a two-second TTL");

        // Left alone, it expires on the leader: its key is deleted everywhere, a watcher sees the delete.
        final BlockingQueue<WatchEvent> events = new LinkedBlockingQueue<>();
        final Watch watch = other.watch(WatchOptions.key("session"), Runnable::run,
            (batch, revision) -> events.addAll(batch));
        final WatchEvent expired = events.poll(WAIT_S, TimeUnit.SECONDS);
        watch.cancel();
        assertNotNull(expired, "the lease expired within " + WAIT_S + " s");
        assertEquals(WatchEvent.Type.DELETE, expired.type());
        assertEquals(Optional.empty(), follower.kv().get("session").get(WAIT_S, TimeUnit.SECONDS));
        assertFalse(follower.leases().timeToLive(lease.id(), false).get(WAIT_S, TimeUnit.SECONDS).exists());
        assertError(CairnError.LEASE_NOT_FOUND, () -> follower.leases().keepAliveOnce(lease.id())
            .get(WAIT_S, TimeUnit.SECONDS));

        // Revoked: its keys go in one revision.
        final LeaseInfo second = other.leases().grant(60).get(WAIT_S, TimeUnit.SECONDS);
        other.kv().put(Op.put("a", "1").withLease(second.id())).get(WAIT_S, TimeUnit.SECONDS);
        other.kv().put(Op.put("b", "2").withLease(second.id())).get(WAIT_S, TimeUnit.SECONDS);
        final long revoked = follower.leases().revoke(second.id()).get(WAIT_S, TimeUnit.SECONDS);
        final OpResult.Range left = leader.kv().range(RangeQuery.range("a".getBytes(StandardCharsets.UTF_8),
            "c".getBytes(StandardCharsets.UTF_8))).get(WAIT_S, TimeUnit.SECONDS);
        assertEquals(0, left.count());
        assertEquals(revoked, left.revision());
        assertError(CairnError.LEASE_NOT_FOUND, () -> follower.leases().revoke(second.id())
            .get(WAIT_S, TimeUnit.SECONDS));
        assertError(CairnError.LEASE_TTL_TOO_LARGE, () -> follower.leases().grant(9_000_000_001L)
            .get(WAIT_S, TimeUnit.SECONDS));
    }

    @Test
    void shouldAddPromoteAndRemoveMembersThroughAnyNodeWithEtcdsChecks() throws Exception {
        startCluster();
        final CairnNode leader = leader();
        final CairnNode follower = other(leader);
        for (int i = 0; i < 20; i++) {
            leader.kv().put("early/" + i, "v" + i).get(WAIT_S, TimeUnit.SECONDS);
        }
        final String leaderUrl = leader.view().byId(leader.selfId()).peerUrls().get(0);
        // etcd's refusals, answered by the leader's checks through the follower's relay.
        assertError(CairnError.BAD_URLS, () -> follower.cluster().add(List.of("127.0.0.1"), false)
            .get(WAIT_S, TimeUnit.SECONDS));
        assertError(CairnError.PEER_URL_EXISTS, () -> follower.cluster().add(List.of(leaderUrl), false)
            .get(WAIT_S, TimeUnit.SECONDS));
        assertError(CairnError.MEMBER_NOT_FOUND, () -> follower.cluster().remove(12345).get(WAIT_S, TimeUnit.SECONDS));
        assertError(CairnError.NOT_LEARNER, () -> follower.cluster().promote(leader.selfId())
            .get(WAIT_S, TimeUnit.SECONDS));
        assertError(CairnError.PEER_URL_EXISTS, () -> follower.cluster().update(follower.selfId(), List.of(leaderUrl))
            .get(WAIT_S, TimeUnit.SECONDS));

        // A learner added through a follower: listed there, unstarted, as soon as the call completes.
        final String dUrl = "http://127.0.0.1:" + freePort();
        final ClusterView.Member added = follower.cluster().add(List.of(dUrl), true).get(WAIT_S, TimeUnit.SECONDS);
        assertTrue(added.learner());
        assertEquals("", added.name());
        assertEquals(List.of(dUrl), follower.view().byId(added.id()).peerUrls());
        assertError(CairnError.TOO_MANY_LEARNERS, () -> leader.cluster().add(List.of("http://127.0.0.1:"
            + freePort()), true).get(WAIT_S, TimeUnit.SECONDS));

        // It starts, joins, catches up, publishes its name; then it is promoted through another follower.
        final CairnNode joined = CairnNode.start(NodeConfig.of("d", cluster + ",d=" + dUrl, dataDir.resolve("d"))
            .withJoining(true));
        nodes.add(joined);
        assertEquals(added.id(), joined.selfId());
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!"d".equals(leader.view().byId(joined.selfId()).name())
            || joined.kv().range(RangeQuery.prefix("early/").asSerializable()).get(WAIT_S, TimeUnit.SECONDS)
                .count() < 20) {
            assertTrue(System.nanoTime() < deadline, "the new member catches up and publishes its name within 30 s");
            Thread.sleep(50);
        }
        final CairnNode third = other(leader, follower, joined);
        promoteRetrying(third, joined.selfId());
        assertFalse(third.view().byId(joined.selfId()).learner());
        assertEquals(4, third.view().members().size());
        // Leadership moved to the new member through a follower's relay, and back from there (it leads).
        assertError(CairnError.BAD_LEADER_TRANSFEREE, () -> third.cluster().moveLeader(12345)
            .get(WAIT_S, TimeUnit.SECONDS));
        third.cluster().moveLeader(joined.selfId()).get(2 * WAIT_S, TimeUnit.SECONDS);
        awaitLeader(joined, joined.selfId());
        joined.cluster().moveLeader(leader.selfId()).get(2 * WAIT_S, TimeUnit.SECONDS);
        awaitLeader(joined, leader.selfId());
        final long written = putRetrying(joined, "from/d", "d");
        assertEquals(written, follower.kv().get("from/d").get(WAIT_S, TimeUnit.SECONDS).orElseThrow().modRevision());

        // The leader removed through the new member: the other three elect another and carry on with everything.
        joined.cluster().remove(leader.selfId()).get(2 * WAIT_S, TimeUnit.SECONDS);
        assertNull(joined.view().byId(leader.selfId()));
        nodes.remove(leader);
        leader.close();
        final long afterRemoval = putRetrying(follower, "after/removal", "x");
        for (final CairnNode node : nodes) {
            assertNotEquals(leader.selfId(), node.leaderId());
            assertEquals(3, node.view().members().size(), () -> node.config().name() + " " + node.view());
        }
        assertEquals(afterRemoval, third.kv().get("after/removal").get(WAIT_S, TimeUnit.SECONDS).orElseThrow()
            .modRevision());
        assertEquals(20, joined.kv().range(RangeQuery.prefix("early/")).get(WAIT_S, TimeUnit.SECONDS).count());

        // A follower removed through itself: the leader's answer still reaches it (its publication lingers).
        final CairnNode leaving = nodes.stream().filter(node -> node.role() != Role.LEADER).findFirst().orElseThrow();
        final ClusterView without = leaving.cluster().remove(leaving.selfId()).get(WAIT_S, TimeUnit.SECONDS);
        assertNull(without.byId(leaving.selfId()));
        assertEquals(2, without.members().size());
        nodes.remove(leaving);
        leaving.close();
        final long last = putRetrying(nodes.get(0), "after/second-removal", "y");
        assertEquals(last, nodes.get(1).kv().get("after/second-removal").get(WAIT_S, TimeUnit.SECONDS).orElseThrow()
            .modRevision());
    }

    /**
     * A follower's keyspace holds a write its log does not (applied behind Raft's back while it was stopped): its
     * revision runs ahead of the leader's at the same log position. Once it restarts, the corruption check raises
     * CORRUPT naming it: every write is refused on every node with etcd's error, reads go on, and disarming the alarm
     * applies. Before the damage, checks run and match.
     */
    @Test
    void shouldRaiseCorruptForAFollowerWhoseStoreHoldsAWriteItsLogDoesNot() throws Exception {
        assertCorruptRaisedFor(storeDir -> StoreDamage.applyOutsideTheLog(storeDir,
            "k3".getBytes(StandardCharsets.UTF_8), "rot".getBytes(StandardCharsets.UTF_8)));
    }

    /**
     * Bit rot: one byte of a follower's latest stored revision flipped in the LMDB file while it was stopped — same
     * revisions, different bytes, so only the hashes tell.
     */
    @Test
    void shouldRaiseCorruptForAFollowerWhoseStoredValueRotted() throws Exception {
        assertCorruptRaisedFor(StoreDamage::flipNewestRevisionBit);
    }

    @FunctionalInterface
    private interface Damage {
        void apply(Path storeDir) throws Exception;
    }

    private void assertCorruptRaisedFor(final Damage damage) throws Exception {
        startCluster(config -> config.withCorruptCheckMs(300));
        final CairnNode leader = leader();
        for (int i = 0; i < 20; i++) {
            leader.kv().put("k" + i, "v" + i).get(WAIT_S, TimeUnit.SECONDS);
        }
        awaitTrue(() -> leader.corruptionChecks() >= 4, "followers' reports judged");
        assertEquals(0, leader.corruptionMismatches());
        assertEquals(0, leader.alarmBits());

        final CairnNode follower = other(leader);
        final int index = nodes.indexOf(follower);
        final String name = follower.config().name();
        final int damagedId = follower.selfId();
        follower.close();
        damage.apply(dataDir.resolve(name).resolve("kv"));
        final CairnNode restarted = CairnNode.start(NodeConfig.of(name, cluster, dataDir.resolve(name))
            .withCorruptCheckMs(300));
        nodes.set(index, restarted);
        for (int i = 0; i < 5; i++) {
            putRetrying(leader, "after/" + i, "w"); // the leader's revision passes the damaged one's
        }
        awaitTrue(() -> (leader.alarmBits() & 1 << MvccCommand.ALARM_CORRUPT) != 0, "CORRUPT raised");
        final List<Long> named = new ArrayList<>();
        leader.read(reader -> reader.alarms((member, alarm) -> named.add(member)));
        assertEquals(List.of((long)damagedId), named, "the odd member is named");
        assertTrue(leader.corruptionMismatches() > 0);
        awaitTrue(() -> restarted.corruptionMismatches() > 0, "the damaged follower hears the verdict");
        for (final CairnNode node : nodes) {
            awaitTrue(() -> (node.alarmBits() & 1 << MvccCommand.ALARM_CORRUPT) != 0, "every node has the alarm");
            assertError(CairnError.CORRUPT, () -> node.kv().put("refused", "x").get(WAIT_S, TimeUnit.SECONDS));
            assertError(CairnError.CORRUPT, () -> node.kv().delete("k1").get(WAIT_S, TimeUnit.SECONDS));
            assertEquals("v1", node.kv().get("k1").get(WAIT_S, TimeUnit.SECONDS).orElseThrow().valueString(),
                "reads are served");
        }

        // An operator disarms it (etcdctl alarm disarm); the next check raises it again, the data still differing.
        final CommandEncoder disarm = new CommandEncoder();
        disarm.alarm(MvccCommand.ALARM_DEACTIVATE, MvccCommand.ALARM_CORRUPT, damagedId);
        final DirectBuffer disarmed = other(leader, restarted).write(disarm.buffer(), disarm.length())
            .get(WAIT_S, TimeUnit.SECONDS);
        assertEquals(0, MvccResponse.alarms(disarmed, 0), "no alarm left once it applied");
    }

    private static void awaitTrue(final BooleanSupplier condition, final String what) throws InterruptedException {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3 * WAIT_S);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, what + " within " + 3 * WAIT_S + " s");
            Thread.sleep(20);
        }
    }

    private static void awaitLeader(final CairnNode node, final int leaderId) throws InterruptedException {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_S);
        while (node.leaderId() != leaderId) {
            assertTrue(System.nanoTime() < deadline, () -> Integer.toHexString(leaderId) + " leads within " + WAIT_S
                + " s, as " + node.config().name() + " sees it");
            Thread.sleep(10);
        }
    }

    // A learner is promoted once it has caught up: until the leader sees it in sync it answers "not ready".
    private static void promoteRetrying(final CairnNode node, final long id) throws Exception {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_S);
        while (true) {
            try {
                node.cluster().promote(id).get(2 * WAIT_S, TimeUnit.SECONDS);
                return;
            } catch (final ExecutionException ex) {
                final CairnException cause = CairnException.find(ex);
                if (cause == null || System.nanoTime() > deadline || cause.error() != CairnError.LEARNER_NOT_READY) {
                    throw ex;
                }
                Thread.sleep(100);
            }
        }
    }

    // Right after a leader stops, the survivors may refuse for a moment (no leader yet, or the old one's term).
    private static long putRetrying(final CairnNode node, final String key, final String value) throws Exception {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_S);
        while (true) {
            try {
                return node.kv().put(key, value).get(WAIT_S, TimeUnit.SECONDS).revision();
            } catch (final ExecutionException ex) {
                final CairnException cause = CairnException.find(ex);
                if (cause == null || System.nanoTime() > deadline || (cause.error() != CairnError.NO_LEADER
                    && cause.error() != CairnError.LEADER_CHANGED && cause.error() != CairnError.TIMEOUT)) {
                    throw ex;
                }
            }
        }
    }

    private static void assertError(final CairnError expected, final ThrowingCall call) {
        final ExecutionException failure = assertThrows(ExecutionException.class, call::run);
        final CairnException cause = CairnException.find(failure);
        assertNotNull(cause, () -> "a CairnException, not " + failure.getCause());
        assertEquals(expected, cause.error());
        assertEquals(expected.message(), cause.getMessage());
    }

    @FunctionalInterface
    private interface ThrowingCall {
        void run() throws Exception;
    }

    private static int freePort() throws IOException {
        return FreePorts.udp();
    }
}
