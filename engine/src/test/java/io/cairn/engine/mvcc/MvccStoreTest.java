package io.cairn.engine.mvcc;

import io.cairn.engine.mvcc.MvccTesting.Client;
import io.cairn.engine.mvcc.MvccTesting.Kv;
import io.cairn.engine.mvcc.MvccTesting.Response;
import org.agrona.ExpandableDirectByteBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static io.cairn.engine.mvcc.MvccCommand.COMPARE_CREATE;
import static io.cairn.engine.mvcc.MvccCommand.COMPARE_EQUAL;
import static io.cairn.engine.mvcc.MvccCommand.COMPARE_GREATER;
import static io.cairn.engine.mvcc.MvccCommand.COMPARE_LEASE;
import static io.cairn.engine.mvcc.MvccCommand.COMPARE_LESS;
import static io.cairn.engine.mvcc.MvccCommand.COMPARE_MOD;
import static io.cairn.engine.mvcc.MvccCommand.COMPARE_NOT_EQUAL;
import static io.cairn.engine.mvcc.MvccCommand.COMPARE_VERSION;
import static io.cairn.engine.mvcc.MvccCommand.FLAG_COUNT_ONLY;
import static io.cairn.engine.mvcc.MvccCommand.FLAG_IGNORE_LEASE;
import static io.cairn.engine.mvcc.MvccCommand.FLAG_IGNORE_VALUE;
import static io.cairn.engine.mvcc.MvccCommand.FLAG_KEYS_ONLY;
import static io.cairn.engine.mvcc.MvccCommand.FLAG_PREV_KV;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: the keyspace answers as etcd 3.4 does, case by case: revisions, versions, prev_kv, ignore_*, ranges with
 * every option, deletes, txns (compares, branches, nesting, duplicate keys), compaction, leases, alarms, and the
 * applied index surviving a reopen. Method: a real LMDB store in a temporary directory, commands built with
 * {@link CommandEncoder}, responses decoded and compared with what etcd returns for the same requests.
 */
class MvccStoreTest {
    @TempDir
    Path dir;
    MvccStore store;
    Client client;

    @BeforeEach
    void open() throws IOException {
        store = MvccTesting.open(dir.resolve("kv"));
        client = new Client(store);
    }

    @AfterEach
    void close() {
        store.close();
    }

    @Test
    void shouldNumberRevisionsAndVersionsAsEtcdWhenKeysAreWritten() {
        assertEquals(1, store.revision());
        final Response first = client.put("foo", "bar");
        assertEquals(MvccError.OK, first.status());
        assertEquals(2, first.revision());
        client.put("foo", "baz");
        client.put("other", "x");
        assertEquals(List.of(new Kv("foo", "baz", 2, 3, 2, 0)), client.range("foo", null).kvs());
        client.delete("foo", null, 0);
        client.put("foo", "again");
        assertEquals(List.of(new Kv("foo", "again", 6, 6, 1, 0)), client.range("foo", null).kvs());
        assertEquals(6, store.revision());
    }

    @Test
    void shouldReturnPreviousKeyValueWhenAsked() {
        assertNull(client.put("k", "v1", 0, FLAG_PREV_KV).prevKv());
        assertEquals(new Kv("k", "v1", 2, 2, 1, 0), client.put("k", "v2", 0, FLAG_PREV_KV).prevKv());
        assertNull(client.put("k", "v3").prevKv());
    }

    @Test
    void shouldKeepValueOrLeaseWhenIgnoreFlagsAreSet() {
        assertEquals(MvccError.OK, client.grant(5, 60).status());
        client.put("k", "value", 5, 0);
        client.put("k", "", 0, FLAG_IGNORE_VALUE | FLAG_IGNORE_LEASE);
        assertEquals(List.of(new Kv("k", "value", 2, 3, 2, 5)), client.range("k", null).kvs(),
            "a lease grant makes no revision");
        assertEquals(MvccError.KEY_NOT_FOUND, client.put("absent", "", 0, FLAG_IGNORE_VALUE).status());
        assertEquals(MvccError.VALUE_PROVIDED, client.put("k", "x", 0, FLAG_IGNORE_VALUE).status());
        assertEquals(MvccError.LEASE_PROVIDED, client.put("k", "x", 5, FLAG_IGNORE_LEASE).status());
        assertEquals(MvccError.LEASE_NOT_FOUND, client.put("k", "x", 99, 0).status());
        assertEquals(MvccError.EMPTY_KEY, client.put("", "x", 0, 0).status());
        assertEquals(3, store.revision(), "refusals change nothing");
    }

    @Test
    void shouldServeRangesWithEveryEtcdOption() {
        for (final String key : new String[] {"a", "b", "b/1", "b/2", "b/3", "c", "d"}) {
            client.put(key, "v-" + key);
        }
        assertEquals(keys("b", "b/1", "b/2", "b/3"), keysOf(client.range("b", "c")));
        assertEquals(keys("b/1", "b/2", "b/3"), keysOf(client.range("b/", "b0")));
        assertEquals(keys("c", "d"), keysOf(client.range("c", "\0")));
        assertEquals(keys("a", "b", "b/1", "b/2", "b/3", "c", "d"), keysOf(client.range("\0", "\0")));
        assertEquals(keys(), keysOf(client.range("d", "a")));

        final Response limited = client.range("a", "\0", 0, 2, 0);
        assertEquals(keys("a", "b"), keysOf(limited));
        assertEquals(7, limited.count());
        assertTrue(limited.more());
        assertFalse(client.range("a", "\0", 0, 7, 0).more());

        final Response counted = client.range("b", "c", 0, 0, FLAG_COUNT_ONLY);
        assertEquals(4, counted.count());
        assertTrue(counted.kvs().isEmpty());
        assertEquals("", client.range("a", null, 0, 0, FLAG_KEYS_ONLY).kvs().get(0).value());

        client.encoder.reset();
        client.range(client.encoder, "a", "\0", 0, 3, 0).sort(MvccCommand.SORT_DESCEND, MvccCommand.TARGET_KEY);
        final Response descending = client.read();
        assertEquals(keys("d", "c", "b/3"), keysOf(descending));
        assertTrue(descending.more());

        client.put("a", "z-last");
        client.encoder.reset();
        client.range(client.encoder, "a", "\0", 0, 0, 0).sort(MvccCommand.SORT_NONE, MvccCommand.TARGET_MOD);
        assertEquals(keys("b", "b/1", "b/2", "b/3", "c", "d", "a"), keysOf(client.read()),
            "a target without an order sorts ascending");
        client.encoder.reset();
        client.range(client.encoder, "a", "\0", 0, 0, 0).sort(MvccCommand.SORT_DESCEND, MvccCommand.TARGET_VALUE);
        assertEquals("a", client.read().kvs().get(0).key());

        client.encoder.reset();
        client.range(client.encoder, "a", "\0", 0, 2, 0).filters(4, 6, 0, 0);
        final Response filtered = client.read();
        assertEquals(keys("b/1", "b/2"), keysOf(filtered));
        assertEquals(7, filtered.count(), "etcd counts before filters");
        assertTrue(filtered.more());
    }

    @Test
    void shouldReadOldRevisionsAndRefuseFutureOnes() {
        client.put("k", "1");
        client.put("k", "2");
        client.delete("k", null, 0);
        assertEquals("1", client.range("k", null, 2, 0, 0).kvs().get(0).value());
        assertEquals("2", client.range("k", null, 3, 0, 0).kvs().get(0).value());
        assertTrue(client.range("k", null, 4, 0, 0).kvs().isEmpty());
        assertTrue(client.range("k", null, 1, 0, 0).kvs().isEmpty());
        assertEquals(MvccError.FUTURE_REVISION, client.range("k", null, 5, 0, 0).status());
        assertEquals(MvccError.EMPTY_KEY, client.range("", null, 0, 0, 0).status(), "readers validate too");
        assertEquals(MvccError.OK, client.range("k".repeat(600), null, 0, 0, 0).status(), "keys of any length");
    }

    @Test
    void shouldDeleteRangesInOneRevisionAndReportPreviousValues() {
        client.put("p/1", "a");
        client.put("p/2", "b");
        client.put("q", "c");
        final Response deleted = client.delete("p/", "p0", FLAG_PREV_KV);
        assertEquals(2, deleted.deleted());
        assertEquals(List.of(new Kv("p/1", "a", 2, 2, 1, 0), new Kv("p/2", "b", 3, 3, 1, 0)), deleted.kvs());
        assertEquals(5, deleted.revision());
        final Response nothing = client.delete("p/", "p0", 0);
        assertEquals(0, nothing.deleted());
        assertEquals(5, nothing.revision(), "deleting nothing makes no revision");
        assertEquals(keys("q"), keysOf(client.range("\0", "\0")));
    }

    @Test
    void shouldRunTxnBranchesAsOneRevisionSeeingItsOwnWrites() {
        client.put("k", "v");
        final CommandEncoder e = client.encoder.reset().beginTxn();
        client.compareValue(e, COMPARE_EQUAL, "k", "v");
        client.compare(e, COMPARE_EQUAL, COMPARE_VERSION, "k", 1);
        client.compare(e, COMPARE_EQUAL, COMPARE_CREATE, "k", 2);
        client.compare(e, COMPARE_LESS, COMPARE_MOD, "k", 3);
        client.compare(e, COMPARE_EQUAL, COMPARE_LEASE, "k", 0);
        client.compare(e, COMPARE_EQUAL, COMPARE_VERSION, "absent", 0);
        e.success();
        client.putOp(e, "k", "w");
        client.putOp(e, "n", "new");
        client.range(e, "\0", "\0", 0, 0, 0);
        e.failure();
        client.range(e, "k", null, 0, 0, 0);
        e.endTxn();
        final Response txn = client.apply();
        assertTrue(txn.succeeded());
        assertEquals(3, txn.revision());
        assertEquals(3, txn.responses().size());
        assertEquals(List.of(new Kv("k", "w", 2, 3, 2, 0), new Kv("n", "new", 3, 3, 1, 0)),
            txn.responses().get(2).kvs(), "reads in a txn see its own writes");

        client.encoder.reset().beginTxn();
        client.compareValue(client.encoder, COMPARE_EQUAL, "absent", "");
        client.encoder.success();
        client.putOp(client.encoder, "never", "x");
        client.encoder.failure();
        client.range(client.encoder, "k", null, 0, 0, 0);
        client.encoder.endTxn();
        final Response failed = client.apply();
        assertFalse(failed.succeeded(), "a value compare on a missing key always fails");
        assertEquals(3, failed.revision());
        assertEquals("w", failed.responses().get(0).kvs().get(0).value());

        client.encoder.reset().beginTxn();
        client.compare(client.encoder, COMPARE_NOT_EQUAL, COMPARE_VERSION, "k", 2);
        client.compare(client.encoder, COMPARE_GREATER, COMPARE_VERSION, "k", 1);
        client.encoder.success().failure().endTxn();
        assertFalse(client.apply().succeeded());
    }

    @Test
    void shouldEvaluateNestedTxnComparesBeforeAnyWrite() {
        client.put("k", "1");
        final CommandEncoder e = client.encoder.reset().beginTxn().success();
        client.putOp(e, "k", "2");
        e.beginTxn();
        client.compareValue(e, COMPARE_EQUAL, "k", "1");
        e.success();
        client.putOp(e, "nested", "saw-old-value");
        e.failure();
        client.putOp(e, "nested", "saw-new-value");
        e.endTxn();
        e.endTxn();
        final Response txn = client.apply();
        assertTrue(txn.responses().get(1).succeeded(), "etcd evaluates every compare on the path up front");
        assertEquals("saw-old-value", client.range("nested", null).kvs().get(0).value());
        assertEquals(3, store.revision());
    }

    @Test
    void shouldRefuseDuplicateKeysAsEtcdDoes() {
        assertEquals(MvccError.DUPLICATE_KEY, txnOf(e -> {
            client.putOp(e, "a", "1");
            client.putOp(e, "a", "2");
        }).status());
        assertEquals(MvccError.DUPLICATE_KEY, txnOf(e -> {
            client.deleteOp(e, "a", "c");
            client.putOp(e, "b", "1");
        }).status());
        assertEquals(MvccError.DUPLICATE_KEY, txnOf(e -> {
            client.putOp(e, "x", "1");
            e.beginTxn().success();
            client.putOp(e, "x", "2");
            e.endTxn();
        }).status());
        assertEquals(MvccError.OK, txnOf(e -> {
            e.beginTxn().success();
            client.putOp(e, "x", "then");
            e.failure();
            client.putOp(e, "x", "else");
            e.endTxn();
        }).status(), "the branches of a nested txn exclude each other");
        assertEquals(MvccError.OK, txnOf(e -> {
            client.deleteOp(e, "a", null);
            client.deleteOp(e, "a", "z");
        }).status(), "deletes may overlap");
    }

    @Test
    void shouldRefuseTooManyOpsAndCheckChosenPathBeforeWriting() {
        final CommandEncoder e = client.encoder.reset().beginTxn().success();
        for (int i = 0; i <= 128; i++) {
            client.putOp(e, "k" + i, "v");
        }
        e.endTxn();
        assertEquals(MvccError.TOO_MANY_OPS, client.apply().status());

        assertEquals(MvccError.LEASE_NOT_FOUND, txnOf(t -> {
            client.putOp(t, "first", "written?");
            t.put(MvccTesting.bytes("second"), MvccTesting.bytes("v"), 42, 0);
        }).status());
        assertTrue(client.range("first", null).kvs().isEmpty(), "a refused txn writes nothing");
        assertEquals(1, store.revision());
    }

    @Test
    void shouldCompactHistoryAndKeepReadsAboveItUnchanged() {
        client.put("a", "1");
        client.put("a", "2");
        client.put("b", "1");
        client.delete("b", null, 0);
        client.put("c", "1");
        assertEquals(MvccError.OK, client.compact(5).status());
        assertEquals(MvccError.COMPACTED, client.compact(5).status());
        assertEquals(MvccError.FUTURE_REVISION, client.compact(100).status());
        assertEquals(MvccError.COMPACTED, client.range("a", null, 4, 0, 0).status());
        final Response atCompacted = client.range("\0", "\0", 5, 0, 0);
        final Response current = client.range("\0", "\0");
        final long hashBeforePhysical;
        try (MvccReader reader = store.newReader()) {
            hashBeforePhysical = reader.hashKv(0);
        }
        assertTrue(store.compactPending());
        int deleted = 0;
        while (store.compactPending()) {
            deleted += store.compactStep(1);
            assertEquals(atCompacted, client.range("\0", "\0", 5, 0, 0), "partial progress is invisible");
        }
        assertEquals(2, deleted, "a@2 and b@4 are superseded; the tombstone b@5 at the compacted revision stays");
        assertEquals(current, client.range("\0", "\0"));
        try (MvccReader reader = store.newReader()) {
            assertEquals(hashBeforePhysical, reader.hashKv(0), "the hash ignores physical progress");
        }
        assertEquals(MvccError.OK, client.compact(6).status());
        deleted = 0;
        while (store.compactPending()) {
            deleted += store.compactStep(100);
        }
        assertEquals(1, deleted, "now the tombstone b@5 lies below the compacted revision");
        assertEquals(keys("a", "c"), keysOf(client.range("\0", "\0", 6, 0, 0)));
    }

    @Test
    void shouldRevokeLeaseDeletingItsKeysInOneRevision() {
        assertEquals(MvccError.OK, client.grant(10, 30).status());
        assertEquals(MvccError.LEASE_EXISTS, client.grant(10, 30).status());
        client.put("l/1", "a", 10, 0);
        client.put("l/2", "b", 10, 0);
        client.put("l/3", "c", 10, 0);
        client.put("l/3", "moved", 0, 0);
        client.put("free", "d");
        final List<String> attached = new ArrayList<>();
        try (MvccReader reader = store.newReader()) {
            assertEquals(30, reader.leaseTtl(10));
            reader.leaseKeys(10, (b, o, l) -> attached.add(MvccTesting.text(b, o, l)));
        }
        assertEquals(List.of("l/1", "l/2"), attached);
        final Response revoked = client.revoke(10);
        assertEquals(7, revoked.revision());
        assertEquals(keys("free", "l/3"), keysOf(client.range("\0", "\0")));
        assertEquals(MvccError.LEASE_NOT_FOUND, client.revoke(10).status());
        try (MvccReader reader = store.newReader()) {
            assertEquals(-1, reader.leaseTtl(10));
        }
    }

    @Test
    void shouldRefuseGrowingWritesWhileNoSpaceAlarmIsRaised() {
        client.put("k", "v");
        assertEquals(1 << MvccCommand.ALARM_NOSPACE,
            client.alarm(MvccCommand.ALARM_ACTIVATE, MvccCommand.ALARM_NOSPACE).alarms());
        assertEquals(MvccError.NO_SPACE, client.put("k", "w").status());
        assertEquals(MvccError.NO_SPACE, client.grant(1, 10).status());
        assertEquals(MvccError.NO_SPACE, txnOf(e -> client.putOp(e, "k", "w")).status());
        assertEquals(1, client.delete("k", null, 0).deleted(), "deletes free space and stay allowed");
        assertEquals(0, client.alarm(MvccCommand.ALARM_DEACTIVATE, MvccCommand.ALARM_NOSPACE).alarms());
        assertEquals(MvccError.OK, client.put("k", "w").status());
    }

    @Test
    void shouldRefuseEveryWriteButServeReadsWhileCorruptAlarmIsRaised() {
        client.put("k", "v");
        client.grant(5, 10);
        assertEquals(1 << MvccCommand.ALARM_CORRUPT,
            client.alarm(MvccCommand.ALARM_ACTIVATE, MvccCommand.ALARM_CORRUPT).alarms());
        final long revision = store.revision();
        assertEquals(MvccError.CORRUPT, client.put("k", "w").status());
        assertEquals(MvccError.CORRUPT, client.delete("k", null, 0).status());
        assertEquals(MvccError.CORRUPT, txnOf(e -> client.putOp(e, "k", "w")).status());
        assertEquals(MvccError.CORRUPT, client.grant(1, 10).status());
        assertEquals(MvccError.CORRUPT, client.revoke(5).status());
        assertEquals(MvccError.CORRUPT, client.compact(revision).status());
        assertEquals(revision, store.revision(), "nothing changed");
        assertEquals("v", client.range("k", null).kvs().get(0).value(), "reads are served");
        assertEquals(1 << MvccCommand.ALARM_CORRUPT | 1 << MvccCommand.ALARM_NOSPACE,
            client.alarm(MvccCommand.ALARM_ACTIVATE, MvccCommand.ALARM_NOSPACE).alarms(), "alarms still apply");
        assertEquals(MvccError.CORRUPT, client.put("k", "w").status(), "CORRUPT before NOSPACE, as etcd's");
        client.alarm(MvccCommand.ALARM_DEACTIVATE, MvccCommand.ALARM_NOSPACE);
        assertEquals(0, client.alarm(MvccCommand.ALARM_DEACTIVATE, MvccCommand.ALARM_CORRUPT).alarms());
        assertEquals(MvccError.OK, client.put("k", "w").status());
    }

    @Test
    void shouldKeepAppliedIndexAndStateAcrossReopenAndDropAbortedBatch() throws IOException {
        client.put("k", "v");
        final ExpandableDirectByteBuffer response = new ExpandableDirectByteBuffer(64);
        store.beginBatch();
        client.encoder.reset().put(MvccTesting.bytes("lost"), MvccTesting.bytes("x"), 0, 0);
        store.apply(client.encoder.buffer(), 0, client.encoder.length(), response, 0);
        assertEquals(3, store.revision());
        store.abortBatch();
        assertEquals(2, store.revision());
        store.close();
        store = MvccTesting.open(dir.resolve("kv"));
        client = new Client(store);
        assertEquals(1, store.appliedIndex());
        assertEquals(2, store.revision());
        assertTrue(client.range("lost", null).kvs().isEmpty());
        assertEquals("v", client.range("k", null).kvs().get(0).value());
    }

    @Test
    void shouldListChangesSinceRevisionWithPreviousValues() {
        client.put("w/a", "1");
        client.put("w/b", "1");
        client.put("w/a", "2");
        client.delete("w/a", null, 0);
        client.put("other", "x");
        final List<String> seen = new ArrayList<>();
        try (MvccReader reader = store.newReader()) {
            assertEquals(MvccError.OK, reader.changes(3, Long.MAX_VALUE, MvccTesting.buffer("w/"), 0, 2,
                MvccTesting.buffer("w0"), 0, 2, true, (change, previous) -> {
                    seen.add((change.isTombstone() ? "DELETE " : "PUT ") + Kv.of(change).key() + "@"
                        + change.modRevision() + (previous == null ? "" : " prev=" + Kv.of(previous).value()));
                    return true;
                }));
        }
        assertEquals(List.of("PUT w/b@3", "PUT w/a@4 prev=1", "DELETE w/a@5 prev=2"), seen);
    }

    @Test
    void shouldRefuseRequestsOverEtcdLimitAtExactlyEtcdsBoundary() {
        final String value = "v".repeat(1_572_840);
        assertEquals(MvccError.OK, client.put("k", value).status());
        assertEquals(MvccError.REQUEST_TOO_LARGE, client.put("k", value + "v").status());
        assertEquals(MvccError.OK, client.put("k".repeat(512), "").status(), "past LMDB's key limit");
        assertEquals(MvccError.OK, client.put("k".repeat(511), "").status());
        assertEquals(MvccError.OK, client.put("k".repeat(1_572_800), "").status(), "a key as long as a request");
        assertEquals(MvccError.REQUEST_TOO_LARGE, client.put("k".repeat(1_572_900), "").status());
    }

    @Test
    void shouldRefuseToOpenUnknownFormatOrForeignFile() throws IOException {
        final Path foreign = dir.resolve("foreign");
        Files.createDirectories(foreign);
        Files.write(foreign.resolve(StoreFiles.DATA_FILE), new byte[8192]);
        final IOException notLmdb = assertThrows(IOException.class, () -> MvccTesting.open(foreign));
        assertTrue(notLmdb.getMessage().contains("cannot be opened"), notLmdb.getMessage());

        store.close();
        try (org.lmdbjava.Env<org.agrona.DirectBuffer> env = org.lmdbjava.Env.create(
            org.lmdbjava.DirectBufferProxy.PROXY_DB).setMaxDbs(8).open(dir.resolve("kv").toFile())) {
            final org.lmdbjava.Dbi<org.agrona.DirectBuffer> meta = env.openDbi("meta");
            try (org.lmdbjava.Txn<org.agrona.DirectBuffer> txn = env.txnWrite()) {
                final org.agrona.concurrent.UnsafeBuffer newer = Tables.direct(4);
                newer.putInt(0, 2, KeyValueView.ORDER);
                meta.put(txn, Tables.ascii("format"), newer);
                txn.commit();
            }
        }
        final IOException newer = assertThrows(IOException.class, () -> MvccTesting.open(dir.resolve("kv")));
        assertTrue(newer.getMessage().contains("has format 2; this build reads format 1 only"), newer.getMessage());
        store = MvccTesting.open(foreign.resolveSibling("fresh"));
    }

    private Response txnOf(final java.util.function.Consumer<CommandEncoder> success) {
        final CommandEncoder e = client.encoder.reset().beginTxn().success();
        success.accept(e);
        e.endTxn();
        return client.apply();
    }

    private static List<String> keys(final String... keys) {
        return List.of(keys);
    }

    private static List<String> keysOf(final Response response) {
        assertEquals(MvccError.OK, response.status());
        return response.kvs().stream().map(Kv::key).toList();
    }

    private long churn(final MvccReader idle, final boolean release) {
        final String value = "x".repeat(2_000);
        for (int round = 0; round < 30; round++) {
            for (int key = 0; key < 50; key++) {
                client.put("churn-" + key, value + round);
            }
            assertEquals(MvccError.OK, client.compact(store.revision()).status());
            while (store.compactPending()) {
                store.compactStep(4096);
            }
            idle.refresh();
            idle.revision();
            if (release) {
                idle.release();
            }
        }
        return store.usedBytes();
    }

    @Test
    void shouldReusePagesOnlyWhenIdleReadersLetGoOfTheirView() throws IOException {
        try (MvccReader reader = store.newReader()) {
            final long released = churn(reader, true);
            final long growth = churn(reader, true) - released;
            assertTrue(growth < released / 4, "with readers released, compacted pages are reused: grew " + growth
                + " bytes over " + released);
            assertEquals(store.revision(), readRevision(reader), "a released reader sees the latest state");
        }
        try (MvccStore other = MvccTesting.open(dir.resolve("pinned")); MvccReader pinned = other.newReader()) {
            final MvccStore mine = store;
            store = other;
            client = new Client(other);
            pinned.refresh();
            try (MvccReader busy = other.newReader()) {
                churn(busy, true);
                final long before = other.usedBytes();
                // A reader parked on an old view (never released) stops reuse: the file grows with every write.
                for (int i = 0; i < 3; i++) {
                    churn(busy, true);
                }
                assertTrue(other.usedBytes() > before + before / 2, "a pinned view makes LMDB grow: " + before
                    + " -> " + other.usedBytes());
            }
            store = mine;
            client = new Client(mine);
        }
    }

    private static long readRevision(final MvccReader reader) {
        return reader.revision();
    }
}
