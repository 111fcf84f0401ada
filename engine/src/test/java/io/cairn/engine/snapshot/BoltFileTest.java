package io.cairn.engine.snapshot;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link BoltWriter} and {@link BoltReader} against each other: what is written is read back in order, through branch
 * levels, overflow pages and empty buckets; and a damaged file is refused or read without a crash. The files etcd
 * writes are read in the server's {@code EtcdSnapshotIT}, and etcd reads this writer's files there too.
 */
class BoltFileTest {
    @TempDir
    Path dir;

    @Test
    void shouldReadBackEveryBucketAndKeyInOrder() throws IOException {
        final TreeMap<String, TreeMap<byte[], byte[]>> buckets = sample(new Random(7), 20_000);
        final Path file = write(buckets);
        assertEquals(0, Files.size(file) % BoltWriter.PAGE_SIZE);
        try (BoltReader reader = BoltReader.open(file, -1)) {
            assertEquals(new ArrayList<>(buckets.keySet()), reader.buckets());
            assertEquals(BoltWriter.PAGE_SIZE, reader.pageSize());
            assertEquals(11, reader.txid()); // the second meta page: one more than the first
            for (final var bucket : buckets.entrySet()) {
                final List<byte[]> keys = new ArrayList<>();
                final List<byte[]> values = new ArrayList<>();
                assertTrue(reader.forEach(bucket.getKey(), (key, value, nested) -> {
                    assertFalse(nested);
                    keys.add(key);
                    values.add(value);
                }));
                assertEquals(bucket.getValue().size(), keys.size(), bucket.getKey());
                int i = 0;
                for (final var entry : bucket.getValue().entrySet()) {
                    assertArrayEquals(entry.getKey(), keys.get(i));
                    assertArrayEquals(entry.getValue(), values.get(i));
                    i++;
                }
            }
            assertFalse(reader.forEach("absent", (key, value, nested) -> { }));
        }
        assertTrue(BoltReader.isBolt(file));
    }

    @Test
    void shouldRefuseKeysOutOfOrder() throws IOException {
        try (BoltWriter writer = BoltWriter.create(dir.resolve("bad.db"), BoltWriter.PAGE_SIZE)) {
            writer.bucket(bytes("b"));
            writer.put(bytes("k2"), 0, 2, new byte[0], 0, 0);
            assertThrows(IllegalArgumentException.class, () -> writer.put(bytes("k1"), 0, 2, new byte[0], 0, 0));
            assertThrows(IllegalArgumentException.class, () -> writer.bucket(bytes("a")));
        }
        assertFalse(Files.exists(dir.resolve("bad.db")), "an unfinished file is removed");
    }

    @Test
    void shouldRefuseOrSurviveEveryTruncationAndDamage() throws IOException {
        final TreeMap<String, TreeMap<byte[], byte[]>> buckets = sample(new Random(11), 3_000);
        final Path file = write(buckets);
        final byte[] whole = Files.readAllBytes(file);
        final Random random = new Random(3);
        final Path damaged = dir.resolve("damaged.db");
        for (int round = 0; round < 300; round++) {
            final byte[] bytes;
            if (round % 3 == 0) {
                bytes = Arrays.copyOf(whole, random.nextInt(whole.length));
            } else {
                bytes = whole.clone();
                final int flips = 1 + random.nextInt(8);
                for (int i = 0; i < flips; i++) {
                    // Aim at page structure half the time: headers and element tables are what a reader trusts.
                    final int page = random.nextInt(whole.length / BoltWriter.PAGE_SIZE);
                    final int at = page * BoltWriter.PAGE_SIZE
                        + (random.nextBoolean() ? random.nextInt(96) : random.nextInt(BoltWriter.PAGE_SIZE));
                    bytes[at] ^= (byte)(1 << random.nextInt(8));
                }
            }
            Files.write(damaged, bytes);
            try (BoltReader reader = BoltReader.open(damaged, -1)) {
                for (final String name : reader.buckets()) {
                    reader.forEach(name, (key, value, nested) -> { });
                }
            } catch (final CorruptSnapshotException expected) {
                assertTrue(expected.getMessage().contains("bbolt database: "), expected.getMessage());
            }
        }
        Files.write(damaged, Arrays.copyOf(whole, BoltWriter.PAGE_SIZE * 3));
        final CorruptSnapshotException truncated =
            assertThrows(CorruptSnapshotException.class, () -> BoltReader.open(damaged, -1));
        assertTrue(truncated.getMessage().contains("pages"), truncated.getMessage());
    }

    private Path write(final TreeMap<String, TreeMap<byte[], byte[]>> buckets) throws IOException {
        final Path file = dir.resolve("bolt.db");
        try (BoltWriter writer = BoltWriter.create(file, BoltWriter.PAGE_SIZE)) {
            for (final var bucket : buckets.entrySet()) {
                writer.bucket(bytes(bucket.getKey()));
                for (final var entry : bucket.getValue().entrySet()) {
                    writer.put(entry.getKey(), 0, entry.getKey().length, entry.getValue(), 0, entry.getValue().length);
                }
            }
            final long length = writer.finish(10);
            assertEquals(Files.size(file), length);
        }
        return file;
    }

    /** etcd's bucket names; "key" large enough for three levels, values from empty to several pages. */
    private static TreeMap<String, TreeMap<byte[], byte[]>> sample(final Random random, final int keys) {
        final TreeMap<String, TreeMap<byte[], byte[]>> buckets = new TreeMap<>();
        for (final String name : List.of("alarm", "auth", "authRoles", "authUsers", "cluster", "key", "lease",
            "members", "members_removed", "meta")) {
            buckets.put(name, new TreeMap<>(Arrays::compareUnsigned));
        }
        for (int i = 0; i < keys; i++) {
            final byte[] key = new byte[17];
            random.nextBytes(key);
            final int size = i % 997 == 0 ? 20_000 + random.nextInt(20_000) : random.nextInt(64);
            final byte[] value = new byte[size];
            random.nextBytes(value);
            buckets.get("key").put(key, value);
        }
        buckets.get("meta").put(bytes("consistent_index"), new byte[8]);
        buckets.get("cluster").put(bytes("clusterVersion"), bytes("3.4.0"));
        return buckets;
    }

    private static byte[] bytes(final String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
