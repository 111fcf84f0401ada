package io.cairn.engine.mvcc;

import io.cairn.engine.ChildProcesses;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: the keyspace survives an unclean stop in the middle of a write transaction — LMDB writes its pages straight
 * into the shared map ({@code MDB_WRITEMAP}) and never syncs ({@code MDB_NOSYNC}), so what a SIGKILL leaves must be
 * exactly the last committed transaction: its applied index at least the last one the child reported, its revision
 * and every key's value, version and revisions those of that index, nothing of the transaction that was open.
 * Method: a real child JVM ({@link StoreCrashChild}) applies batches of puts and prints each committed index; the test
 * kills it with SIGKILL (by PID, via {@code destroyForcibly}) at a random moment, reopens the store in this process,
 * rebuilds the expected keyspace from the batches' generator and compares every key — several rounds, each child
 * continuing the store the previous one left.
 */
class StoreCrashTest {
    @TempDir
    Path dir;

    @Test
    @Timeout(value = 600, unit = TimeUnit.SECONDS)
    void shouldHoldExactlyTheLastCommittedBatchWhenKilledMidTransaction() throws Exception {
        final Path kv = dir.resolve("kv");
        ChildProcesses.killInRounds(StoreCrashChild.class, "committed ", 300, 700,
            random -> new String[] {kv.toString()},
            (round, committed) -> {
                try (MvccStore store = MvccTesting.open(kv)) {
                    final long applied = store.appliedIndex();
                    assertTrue(applied >= committed, "committed batch lost: child committed " + committed
                        + ", store applied " + applied);
                    verify(store, applied);
                    System.out.println("round " + round + ": committed " + committed + ", recovered " + applied);
                    return applied;
                }
            });
    }

    /** Every key as the batches up to {@code applied} left it, and the revision they reached. */
    private static void verify(final MvccStore store, final long applied) {
        final Map<String, MvccTesting.Kv> expected = new HashMap<>();
        long revision = MvccStore.FIRST_REVISION;
        for (long index = 1; index <= applied; index++) {
            for (int put = 0; put < StoreCrashChild.batchSize(index); put++) {
                revision++;
                final String key = StoreCrashChild.key(index, put);
                final MvccTesting.Kv before = expected.get(key);
                expected.put(key, new MvccTesting.Kv(key, StoreCrashChild.value(index, put),
                    before == null ? revision : before.create(), revision, before == null ? 1 : before.version() + 1,
                    0));
            }
        }
        assertEquals(revision, store.revision(), "revision after index " + applied);
        final MvccTesting.Client client = new MvccTesting.Client(store);
        final MvccTesting.Response all = client.range("key-", "key.");
        assertEquals(expected.size(), all.kvs().size(), "keys after index " + applied);
        for (final MvccTesting.Kv kv : all.kvs()) {
            assertEquals(expected.get(kv.key()), kv, "key " + kv.key() + " after index " + applied);
        }
    }
}
