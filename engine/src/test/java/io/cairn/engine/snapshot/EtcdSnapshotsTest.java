package io.cairn.engine.snapshot;

import io.cairn.engine.mvcc.AuthCommands;
import io.cairn.engine.mvcc.CommandEncoder;
import io.cairn.engine.mvcc.KeyValueView;
import io.cairn.engine.mvcc.MvccCommand;
import io.cairn.engine.mvcc.MvccConfig;
import io.cairn.engine.mvcc.MvccError;
import io.cairn.engine.mvcc.MvccReader;
import io.cairn.engine.mvcc.MvccResponse;
import io.cairn.engine.mvcc.MvccStore;
import org.agrona.ExpandableDirectByteBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: a keyspace written in etcd's snapshot format and read back is the same keyspace — every key, value, revision,
 * version and lease, the history above the compacted revision, the compacted revision itself, leases and their keys,
 * users and roles — with the same etcd HashKV; and a damaged file is refused and leaves the new store empty. Method:
 * a history with puts, overwrites, leases, deletes, a compaction and an auth change, compared read by read. etcd's
 * own tools read and write these files in the server's {@code EtcdSnapshotIT}.
 */
class EtcdSnapshotsTest {
    @TempDir
    Path dir;

    private final CommandEncoder encoder = new CommandEncoder();
    private final ExpandableDirectByteBuffer response = new ExpandableDirectByteBuffer(1024);
    private long index;

    private static MvccStore open(final Path directory) throws IOException {
        return MvccStore.open(MvccConfig.defaults(directory).withSizes(256L << 20, 128L << 20));
    }

    private void apply(final MvccStore store) {
        store.beginBatch();
        store.apply(encoder.buffer(), 0, encoder.length(), response, 0);
        assertEquals(MvccError.OK, MvccResponse.status(response, 0));
        store.commit(++index, 3);
    }

    private void put(final MvccStore store, final String key, final String value, final long lease) {
        encoder.reset().put(bytes(key), bytes(value), lease, 0);
        apply(store);
    }

    private MvccStore history() throws IOException {
        final MvccStore store = open(dir.resolve("source"));
        final Random random = new Random(5);
        encoder.reset().leaseGrant(0x1234_5678_9abcL, 60);
        apply(store);
        encoder.reset().leaseGrant(77, 3600);
        apply(store);
        for (int i = 0; i < 300; i++) {
            final String key = "k/" + random.nextInt(80);
            put(store, key, "v" + i + "-".repeat(random.nextInt(300)), i % 7 == 0 ? 0x1234_5678_9abcL : 0);
        }
        final UnsafeBuffer from = new UnsafeBuffer(bytes("k/1"));
        final UnsafeBuffer to = new UnsafeBuffer(bytes("k/2"));
        encoder.reset().deleteRange(from, 0, from.capacity(), to, 0, to.capacity(), 0);
        apply(store);
        encoder.reset().compact(store.revision() - 40);
        apply(store);
        while (store.compactPending()) {
            store.compactStep(50);
        }
        put(store, "big", "x".repeat(9_000), 77);
        for (int i = 0; i < 30; i++) {
            put(store, "after/" + i, "a" + i, i % 2 == 0 ? 77 : 0);
        }
        final byte[] user = {0x0a, 4, 'r', 'o', 'o', 't'};
        final byte[] command = new AuthCommands().put(bytes("authEnabled"), new byte[] {1})
            .put(bytes("users/root"), user).put(bytes("roles/root"), new byte[] {0x0a, 4, 'r', 'o', 'o', 't'})
            .put(bytes("tokenSecret"), new byte[32]).encode(MvccCommand.AUTH_REVISION_ANY, 0);
        store.beginBatch();
        store.apply(new UnsafeBuffer(command), 0, command.length, response, 0);
        store.commit(++index, 3);
        final UnsafeBuffer last = new UnsafeBuffer(bytes("after/3"));
        encoder.reset().deleteRange(last, 0, last.capacity(), null, 0, 0, 0);
        apply(store);
        return store;
    }

    @Test
    void shouldReadBackTheKeyspaceItWrote() throws IOException {
        try (MvccStore source = history(); MvccStore copy = open(dir.resolve("copy"))) {
            final Path file = dir.resolve("etcd.db");
            try (MvccReader reader = source.newReader()) {
                EtcdSnapshots.write(reader, new EtcdSnapshots.Cluster(id -> id, new TreeMap<>()), file);
            }
            appendHash(file);
            final EtcdSnapshots.Imported imported = EtcdSnapshots.read(file, false, copy);
            assertTrue(imported.hashChecked());
            assertEquals(source.revision(), copy.revision());
            assertEquals(source.compactRevision(), copy.compactRevision());
            assertEquals(source.appliedIndex(), copy.appliedIndex(), "the consistent index");
            assertEquals(2, imported.leases());
            assertEquals(describe(source), describe(copy));
            try (MvccReader a = source.newReader(); MvccReader b = copy.newReader()) {
                assertEquals(a.hashKv(0), b.hashKv(0));
                assertEquals(a.hashKv(source.compactRevision() + 5), b.hashKv(source.compactRevision() + 5));
                final List<String> authA = new ArrayList<>();
                final List<String> authB = new ArrayList<>();
                a.authEntries((k, v) -> authA.add(new String(k) + "=" + Arrays.toString(v)));
                b.authEntries((k, v) -> authB.add(new String(k) + "=" + Arrays.toString(v)));
                authA.replaceAll(e -> e.startsWith("tokenSecret") ? "tokenSecret" : e);
                authB.replaceAll(e -> e.startsWith("tokenSecret") ? "tokenSecret" : e);
                assertEquals(authA, authB, "users and roles move; a new token secret is made");
            }
        }
    }

    @Test
    void shouldRefuseDamagedFilesAndChangeNothing() throws IOException {
        final Path file = dir.resolve("etcd.db");
        try (MvccStore source = history(); MvccReader reader = source.newReader()) {
            EtcdSnapshots.write(reader, new EtcdSnapshots.Cluster(id -> id, new TreeMap<>()), file);
        }
        final byte[] whole = Files.readAllBytes(file);
        try (MvccStore store = open(dir.resolve("no-hash"))) {
            final CorruptSnapshotException missing =
                assertThrows(CorruptSnapshotException.class, () -> EtcdSnapshots.read(file, false, store));
            assertTrue(missing.getMessage().contains("snapshot missing hash but --skip-hash-check=false"));
        }
        appendHash(file);
        final byte[] hashed = Files.readAllBytes(file);
        final Random random = new Random(9);
        final Path damaged = dir.resolve("damaged.db");
        for (int round = 0; round < 60; round++) {
            final boolean withHash = round % 2 == 0;
            final byte[] bytes = (withHash ? hashed : whole).clone();
            final int at = random.nextInt(whole.length);
            bytes[at] ^= (byte)(1 << random.nextInt(8));
            Files.write(damaged, round % 5 == 0 ? Arrays.copyOf(bytes, random.nextInt(bytes.length)) : bytes);
            final Path target = dir.resolve("target-" + round);
            try (MvccStore store = open(target)) {
                try {
                    EtcdSnapshots.read(damaged, !withHash, store);
                    assertTrue(!withHash, "a flipped bit under etcd's hash is always found");
                } catch (final CorruptSnapshotException refused) {
                    assertEquals(MvccStore.FIRST_REVISION, store.revision(), "nothing imported");
                    assertEquals(0, store.appliedIndex());
                } catch (final IllegalArgumentException refused) {
                    // A flipped bit the format cannot see (no checksum without the hash) that made the history
                    // inconsistent: refused by the store's own checks before anything committed.
                    assertEquals(MvccStore.FIRST_REVISION, store.revision());
                }
            }
        }
    }

    private static void appendHash(final Path file) throws IOException {
        final MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (final java.security.NoSuchAlgorithmException ex) {
            throw new IOException(ex);
        }
        Files.write(file, sha.digest(Files.readAllBytes(file)), StandardOpenOption.APPEND);
    }

    /** Every read a client can make: the keyspace now and at the compacted revision, and the history since. */
    private static List<String> describe(final MvccStore store) {
        final List<String> lines = new ArrayList<>();
        final CommandEncoder encoder = new CommandEncoder();
        final UnsafeBuffer all = new UnsafeBuffer(new byte[] {0});
        try (MvccReader reader = store.newReader()) {
            for (final long at : new long[] {0, store.compactRevision(), store.compactRevision() + 3}) {
                encoder.reset().range(all, 0, 1, all, 0, 1, at, 0, 0);
                assertEquals(MvccError.OK, reader.range(encoder.buffer(), 0, kv -> lines.add(at + " " + line(kv))));
            }
            reader.changes(store.compactRevision(), Long.MAX_VALUE, all, 0, 1, all, 0, 1, true,
                (change, previous) -> lines.add("change " + line(change) + " previous "
                    + (previous == null ? "-" : line(previous))));
            reader.leases((lease, ttl) -> {
                lines.add("lease " + lease + " " + ttl);
                reader.leaseKeys(lease, (key, offset, length) -> lines.add("  key "
                    + key.getStringWithoutLengthUtf8(offset, length)));
            });
        }
        assertTrue(lines.size() > 200);
        return lines;
    }

    private static String line(final KeyValueView kv) {
        final byte[] value = new byte[kv.valueLength()];
        kv.buffer().getBytes(kv.valueOffset(), value);
        return kv + " " + Arrays.hashCode(value);
    }

    private static byte[] bytes(final String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
