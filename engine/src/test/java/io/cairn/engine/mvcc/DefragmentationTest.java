package io.cairn.engine.mvcc;

import io.cairn.engine.mvcc.MvccTesting.Client;
import io.cairn.engine.mvcc.MvccTesting.Kv;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: a defragmentation returns the pages compaction freed (the store file's used size falls to about what is in
 * use) while writes go on, and the store after the swap answers exactly as before — same revision, applied index,
 * keys, history hash — including writes made during the copy and during the catch-up, and a batch abandoned meanwhile.
 * A snapshot installed meanwhile abandons it; a copy left by a crash is deleted at the next open. Method: a real LMDB
 * store; the steps the loop's defragmenter takes, called in order on one thread with writes between them.
 */
class DefragmentationTest {
    private static final int KEYS = 2_000;
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

    private void fillAndCompactMostAway() {
        final String value = "v".repeat(1_000);
        for (int i = 0; i < KEYS; i++) {
            client.put(String.format("key-%05d", i), value);
        }
        client.delete("key-00100", "key-99999", 0);
        client.compact(store.revision());
        while (store.compactPending()) {
            store.compactStep(100_000);
        }
    }

    private long hash() {
        try (MvccReader reader = store.newReader()) {
            return reader.hashKv(0);
        }
    }

    @Test
    void shouldReturnFreedPagesAndKeepEveryWriteMadeMeanwhile() throws IOException {
        fillAndCompactMostAway();
        final long usedBefore = store.usedBytes();
        final long inUse = store.inUseBytes();
        assertTrue(usedBefore > 4 * inUse, "compaction freed most pages: used " + usedBefore + ", in use " + inUse);
        final MvccReader heldReader = store.newReader();
        try (Defragmentation defrag = store.beginDefragmentation(64 << 20)) {
            client.put("during-copy-1", "a");
            defrag.copy();
            client.put("during-copy-2", "b");
            store.beginBatch(); // a batch abandoned: the copy must not get it
            client.encoder.reset();
            store.apply(client.encoder.put(MvccTesting.bytes("abandoned"), MvccTesting.bytes("x"), 0, 0).buffer(),
                0, client.encoder.length(), client.response, 0);
            store.abortBatch();
            client.encoder.reset();
            defrag.open();
            client.delete("key-00000", null, 0);
            assertEquals(2, defrag.catchUp(1), "two batches left after one");
            client.put("during-catch-up", "c");
            final long revision = store.revision();
            final long applied = store.appliedIndex();
            final long hash = hash();
            defrag.finish();
            defrag.deleteLeftovers();
            store.sync(); // also makes the rename durable
            assertEquals(revision, store.revision());
            assertEquals(applied, store.appliedIndex());
            assertEquals(hash, hash());
        }
        assertTrue(store.usedBytes() < usedBefore / 4, "used " + store.usedBytes() + " of " + usedBefore);
        assertFalse(Files.exists(dir.resolve("kv").resolve(Defragmentation.DIRECTORY)));
        assertEquals(List.of(new Kv("during-copy-2", "b", KEYS + 4, KEYS + 4, 1, 0)),
            client.range("during-copy-2", null).kvs());
        assertEquals(0, client.range("abandoned", null).kvs().size());
        assertEquals(0, client.range("key-00000", null).kvs().size());
        assertEquals(99, client.range("key-00001", "key-99999").kvs().size());
        assertEquals(1, client.range("during-catch-up", null).kvs().size());
        heldReader.close(); // a reader from before the swap is moved to the new file, not broken
        client.put("after", "d");
        store.close();
        store = MvccTesting.open(dir.resolve("kv"));
        client = new Client(store);
        assertEquals(1, client.range("after", null).kvs().size());
    }

    @Test
    void shouldAbandonWhenTheStoreIsReplacedMeanwhile() throws IOException {
        fillAndCompactMostAway();
        final Path snapshot = dir.resolve("snap");
        final Path copied = store.copyTo(snapshot);
        final long usedBefore = store.usedBytes();
        try (Defragmentation defrag = store.beginDefragmentation(64 << 20)) {
            defrag.copy();
            defrag.open();
            store.replaceWith(copied, Files.size(copied));
            final IOException refused = assertThrows(IOException.class, () -> defrag.catchUp(10));
            assertTrue(refused.getMessage().contains("snapshot"), refused.getMessage());
        }
        assertFalse(Files.exists(dir.resolve("kv").resolve(Defragmentation.DIRECTORY)));
        client.put("still", "writable");
        assertTrue(store.usedBytes() <= usedBefore);
    }

    @Test
    void shouldAbandonWhenWritesOutrunTheJournalBound() throws IOException {
        try (Defragmentation defrag = store.beginDefragmentation(4096)) {
            defrag.copy();
            defrag.open();
            for (int i = 0; i < 10; i++) {
                client.put("k" + i, "v".repeat(1_000));
            }
            final IOException refused = assertThrows(IOException.class, defrag::finish);
            assertTrue(refused.getMessage().contains("outran"), refused.getMessage());
        }
        assertEquals(1, client.range("k9", null).kvs().size());
        try (Defragmentation again = store.beginDefragmentation(64 << 20)) {
            again.copy();
            again.open();
            again.finish();
        }
        assertEquals(10, client.range("k", "l").kvs().size());
    }

    @Test
    void shouldDeleteACopyLeftByACrashWhenTheStoreOpens() throws IOException {
        client.put("k", "v");
        final Defragmentation defrag = store.beginDefragmentation(64 << 20);
        defrag.copy(); // the process dies here
        assertTrue(Files.exists(dir.resolve("kv").resolve(Defragmentation.DIRECTORY)));
        store.close();
        store = MvccTesting.open(dir.resolve("kv"));
        client = new Client(store);
        assertFalse(Files.exists(dir.resolve("kv").resolve(Defragmentation.DIRECTORY)));
        assertEquals(1, client.range("k", null).kvs().size());
    }
}
