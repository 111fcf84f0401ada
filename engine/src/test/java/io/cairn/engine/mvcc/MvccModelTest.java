package io.cairn.engine.mvcc;

import io.cairn.engine.mvcc.MvccModel.Compact;
import io.cairn.engine.mvcc.MvccModel.Compare;
import io.cairn.engine.mvcc.MvccModel.Delete;
import io.cairn.engine.mvcc.MvccModel.Grant;
import io.cairn.engine.mvcc.MvccModel.Op;
import io.cairn.engine.mvcc.MvccModel.Put;
import io.cairn.engine.mvcc.MvccModel.Range;
import io.cairn.engine.mvcc.MvccModel.Revoke;
import io.cairn.engine.mvcc.MvccModel.Txn;
import io.cairn.engine.mvcc.MvccTesting.Response;
import org.agrona.ExpandableDirectByteBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import static io.cairn.engine.mvcc.MvccTesting.buffer;
import static io.cairn.engine.mvcc.MvccTesting.bytes;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Goal: over long random sequences of etcd operations the store answers exactly as a naive reference model does,
 * whatever the batching, aborted batches, physical compaction progress and reopens; and two stores fed the same log
 * with different batching and compaction schedules end with the same hash and contents. Method: seeded loops
 * ({@code -Dcairn.mvcc.seed=S} replays one seed, {@code -Dcairn.mvcc.seeds=N} runs more) over a small key space with
 * awkward bytes, comparing every response with {@link MvccModel}, and the whole keyspace at current and old revisions
 * through readers every so often.
 */
class MvccModelTest {
    private static final String[] SHORT_KEYS = {"a", "a/1", "a/2", "a/3", "b", "b/x", "c", "d\0", "d\u00ff", "e", "f"};
    /** LMDB stops at 511 bytes: keys at and past it, and a group sharing their first 495 bytes (IndexKeys). */
    private static final String[] LONG_KEYS = longKeys();
    private String[] keys = SHORT_KEYS;
    private static final int OPS = Integer.getInteger("cairn.mvcc.ops", 700);

    @TempDir
    Path dir;

    @Test
    void shouldAnswerAsReferenceModelWhenDrivenBySeededRandomOperations() throws IOException {
        final long only = Long.getLong("cairn.mvcc.seed", -1);
        final int seeds = Integer.getInteger("cairn.mvcc.seeds", 30);
        for (long seed = only >= 0 ? only : 1; seed <= (only >= 0 ? only : seeds); seed++) {
            try {
                runSeed(seed);
            } catch (final AssertionError | RuntimeException ex) {
                throw new AssertionError("seed " + seed + " failed; replay: ./mvnw -pl engine test "
                    + "-Dtest=MvccModelTest -Dcairn.mvcc.seed=" + seed + " — " + ex.getMessage(), ex);
            }
        }
    }

    @Test
    void shouldAnswerAsReferenceModelWithKeysPastLmdbsLimit() throws IOException {
        keys = LONG_KEYS;
        final int seeds = Integer.getInteger("cairn.mvcc.longKeySeeds", 12);
        for (long seed = 1; seed <= seeds; seed++) {
            try {
                runSeed(seed);
            } catch (final AssertionError | RuntimeException ex) {
                throw new AssertionError("long keys, seed " + seed + " failed — " + ex.getMessage(), ex);
            }
        }
    }

    private static String[] longKeys() {
        final String group = "g".repeat(IndexKeys.GROUP_PREFIX);
        return new String[] {"a", "g".repeat(494), group, group + "a", group + "b".repeat(16), group + "b".repeat(17),
            group + "a".repeat(700), group + "c".repeat(3000), group + "\0", "g".repeat(494) + "h", "g".repeat(511),
            "g".repeat(600), "z".repeat(2000), "z"};
    }

    private void runSeed(final long seed) throws IOException {
        final Random random = new Random(seed);
        final Path pathA = dir.resolve("a-" + seed);
        MvccStore a = MvccTesting.open(pathA);
        final MvccStore b = MvccTesting.open(dir.resolve("b-" + seed));
        final CommandEncoder encoder = new CommandEncoder();
        final ExpandableDirectByteBuffer response = new ExpandableDirectByteBuffer(4096);
        MvccModel model = new MvccModel();
        long index = 0;
        int done = 0;
        while (done < OPS) {
            final int batchSize = 1 + random.nextInt(6);
            final boolean abort = random.nextInt(25) == 0;
            final MvccModel before = abort ? model.copy() : null;
            final List<byte[]> commands = new ArrayList<>();
            a.beginBatch();
            for (int i = 0; i < batchSize; i++, done++) {
                final Op op = randomOp(random, model);
                encode(encoder.reset(), op);
                final byte[] command = new byte[encoder.length()];
                encoder.buffer().getBytes(0, command);
                commands.add(command);
                a.apply(encoder.buffer(), 0, encoder.length(), response, 0);
                assertEquals(model.apply(op), Response.decode(response, 0), "op " + done + ": " + op);
            }
            if (abort) {
                a.abortBatch();
                model = before;
                continue;
            }
            a.commit(++index, 1 + index / 100);
            for (final byte[] command : commands) {
                b.beginBatch();
                b.apply(new org.agrona.concurrent.UnsafeBuffer(command), 0, command.length, response, 0);
                b.commit(b.appliedIndex() + 1, 1);
            }
            if (random.nextInt(3) == 0) {
                a.compactStep(1 + random.nextInt(8));
            }
            if (random.nextInt(60) == 0) {
                compareWhole(a, model, random);
                a.close();
                a = MvccTesting.open(pathA);
                assertEquals(index, a.appliedIndex());
            }
        }
        compareWhole(a, model, random);
        compareWhole(b, model, random);
        while (a.compactPending()) {
            a.compactStep(1000);
        }
        try (MvccReader readerA = a.newReader(); MvccReader readerB = b.newReader()) {
            assertEquals(readerB.hashKv(0), readerA.hashKv(0), "same log, same hash, whatever the schedule");
        }
        a.close();
        b.close();
    }

    private void compareWhole(final MvccStore store, final MvccModel model, final Random random) {
        final CommandEncoder encoder = new CommandEncoder();
        final ExpandableDirectByteBuffer response = new ExpandableDirectByteBuffer(4096);
        try (MvccReader reader = store.newReader()) {
            assertEquals(model.revision, reader.revision());
            for (int i = 0; i < 4; i++) {
                final long at = i == 0 ? 0 : Math.max(model.compact, 1)
                    + (long)(random.nextDouble() * (model.revision - Math.max(model.compact, 1) + 1));
                final Range all = new Range("\0", "\0", at, 0, 0, 0, 0, 0, 0, 0, 0);
                encode(encoder.reset(), all);
                reader.rangeInto(encoder.buffer(), 0, response, 0);
                assertEquals(model.apply(all), Response.decode(response, 0), "whole keyspace at " + at);
            }
        }
    }

    private Op randomOp(final Random random, final MvccModel model) {
        final int pick = random.nextInt(100);
        if (pick < 36) {
            return randomPut(random, key(random));
        }
        if (pick < 46) {
            return new Delete(key(random), end(random), random.nextBoolean());
        }
        if (pick < 70) {
            return randomRange(random, model);
        }
        if (pick < 86) {
            return randomTxn(random, model);
        }
        if (pick < 89) {
            final long floor = Math.max(model.compact, 1);
            return new Compact(floor - 1 + (long)(random.nextDouble() * (model.revision - floor + 3)));
        }
        if (pick < 95) {
            return new Grant(1 + random.nextInt(4), 1 + random.nextInt(100));
        }
        return new Revoke(1 + random.nextInt(4));
    }

    private static Put randomPut(final Random random, final String key) {
        final int flagsPick = random.nextInt(20);
        int flags = random.nextInt(4) == 0 ? MvccCommand.FLAG_PREV_KV : 0;
        String value = "v" + random.nextInt(1000);
        long lease = random.nextInt(6) == 0 ? 1 + random.nextInt(4) : 0;
        if (flagsPick == 0) {
            flags |= MvccCommand.FLAG_IGNORE_VALUE;
            value = "";
        } else if (flagsPick == 1) {
            flags |= MvccCommand.FLAG_IGNORE_LEASE;
            lease = 0;
        }
        return new Put(key, value, lease, flags);
    }

    private Range randomRange(final Random random, final MvccModel model) {
        long at = 0;
        if (random.nextInt(3) == 0) {
            at = model.compact - 1 + (long)(random.nextDouble() * (model.revision - model.compact + 3));
        }
        final boolean filtered = random.nextInt(5) == 0;
        final long mid = Math.max(1, model.revision / 2);
        return new Range(key(random), end(random), at, random.nextInt(3) == 0 ? 1 + random.nextInt(4) : 0,
            random.nextInt(8) == 0 ? MvccCommand.FLAG_COUNT_ONLY : random.nextInt(8) == 0
                ? MvccCommand.FLAG_KEYS_ONLY : 0,
            random.nextInt(3), random.nextInt(3) == 0 ? random.nextInt(5) : 0,
            filtered ? mid : 0, filtered && random.nextBoolean() ? mid * 2 : 0,
            filtered && random.nextBoolean() ? 2 : 0, 0);
    }

    /** Writes in one txn touch distinct keys, so etcd's duplicate-key rule never fires (the model lacks it). */
    private Txn randomTxn(final Random random, final MvccModel model) {
        final List<String> fresh = new ArrayList<>(Arrays.asList(keys));
        Collections.shuffle(fresh, random);
        final List<Compare> compares = new ArrayList<>();
        for (int i = random.nextInt(3); i > 0; i--) {
            final int target = random.nextInt(5);
            final long number = target == MvccCommand.COMPARE_VERSION ? random.nextInt(3)
                : target == MvccCommand.COMPARE_LEASE ? random.nextInt(3) : random.nextInt((int)model.revision + 2);
            compares.add(new Compare(random.nextInt(4), target, key(random),
                random.nextInt(4) == 0 ? end(random) : null, number, "v" + random.nextInt(1000)));
        }
        return new Txn(compares, txnOps(random, fresh, true), txnOps(random, fresh, true));
    }

    private List<Op> txnOps(final Random random, final List<String> fresh, final boolean nest) {
        final List<Op> ops = new ArrayList<>();
        for (int i = random.nextInt(4); i > 0 && fresh.size() > 2; i--) {
            final int kind = random.nextInt(nest ? 5 : 4);
            switch (kind) {
                case 0, 1 -> ops.add(randomPut(random, fresh.remove(fresh.size() - 1)));
                case 2 -> ops.add(new Delete(fresh.remove(fresh.size() - 1), "", random.nextBoolean()));
                case 3 -> ops.add(new Range(key(random), end(random), 0, 0, 0, 0, 0, 0, 0, 0, 0));
                default -> ops.add(new Txn(List.of(new Compare(random.nextInt(4), MvccCommand.COMPARE_VERSION,
                    key(random), null, random.nextInt(3), "")), txnOps(random, fresh, false),
                    txnOps(random, fresh, false)));
            }
        }
        return ops;
    }

    private String key(final Random random) {
        return keys[random.nextInt(keys.length)];
    }

    private String end(final Random random) {
        final int pick = random.nextInt(4);
        return pick == 0 ? "" : pick == 1 ? "\0" : keys[random.nextInt(keys.length)];
    }

    static void encode(final CommandEncoder e, final Op op) {
        if (op instanceof Put put) {
            e.put(bytes(put.key()), bytes(put.value()), put.lease(), put.flags());
        } else if (op instanceof Delete d) {
            e.deleteRange(buffer(d.key()), 0, bytes(d.key()).length, buffer(d.end()), 0, bytes(d.end()).length,
                d.prevKv() ? MvccCommand.FLAG_PREV_KV : 0);
        } else if (op instanceof Range r) {
            e.range(buffer(r.key()), 0, bytes(r.key()).length, buffer(r.end()), 0, bytes(r.end()).length,
                r.revision(), r.limit(), r.flags())
                .sort(r.sortOrder(), r.sortTarget()).filters(r.minMod(), r.maxMod(), r.minCreate(), r.maxCreate());
        } else if (op instanceof Txn t) {
            encodeTxn(e, t);
        } else if (op instanceof Compact c) {
            e.compact(c.revision());
        } else if (op instanceof Grant g) {
            e.leaseGrant(g.lease(), g.ttl());
        } else {
            e.leaseRevoke(((Revoke)op).lease());
        }
    }

    private static void encodeTxn(final CommandEncoder e, final Txn t) {
        e.beginTxn();
        for (final Compare c : t.compares()) {
            final String end = c.end() == null ? "" : c.end();
            if (c.target() == MvccCommand.COMPARE_VALUE) {
                e.compareValue(c.result(), buffer(c.key()), 0, bytes(c.key()).length, buffer(end), 0,
                    bytes(end).length, buffer(c.value()), 0, bytes(c.value()).length);
            } else {
                e.compare(c.result(), c.target(), buffer(c.key()), 0, bytes(c.key()).length, buffer(end), 0,
                    bytes(end).length, c.number());
            }
        }
        e.success();
        t.success().forEach(o -> encode(e, o));
        e.failure();
        t.failure().forEach(o -> encode(e, o));
        e.endTxn();
    }
}
