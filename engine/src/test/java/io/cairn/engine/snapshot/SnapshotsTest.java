package io.cairn.engine.snapshot;

import io.cairn.engine.mvcc.CommandEncoder;
import io.cairn.engine.mvcc.MvccConfig;
import io.cairn.engine.mvcc.MvccReader;
import io.cairn.engine.mvcc.MvccStore;
import io.cairn.engine.mvcc.StoreFiles;
import io.cairn.engine.wal.ChronicleWal;
import io.cairn.engine.wal.WalBatch;
import io.cairn.engine.wal.WalConfig;
import org.agrona.DirectBuffer;
import org.agrona.ExpandableDirectByteBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: a snapshot taken while writes go on is one consistent state, tagged with the entry it reflects; streamed in
 * chunks and installed on another member it makes that member's keyspace identical (same hash) and cuts its WAL; a
 * damaged snapshot changes nothing; a data directory restores from one. Method: a writer thread applies batches
 * (batch i writes key i and records applied index i) while the test takes snapshots; everything is checked against
 * that rule and against the source's hash at the same revision.
 */
class SnapshotsTest {
    @TempDir
    Path dir;

    private static MvccStore open(final Path directory) throws IOException {
        return MvccStore.open(MvccConfig.defaults(directory).withSizes(512L << 20, 256L << 20));
    }

    private static void writeBatch(final MvccStore store, final long index, final CommandEncoder encoder,
        final ExpandableDirectByteBuffer response) {
        store.beginBatch();
        final byte[] key = ("key/" + index).getBytes(StandardCharsets.US_ASCII);
        encoder.reset().put(key, new byte[200], 0, 0);
        store.apply(encoder.buffer(), 0, encoder.length(), response, 0);
        store.commit(index, 1 + index / 1000);
    }

    private static long count(final MvccStore store) {
        final CommandEncoder encoder = new CommandEncoder();
        final UnsafeBuffer all = new UnsafeBuffer(new byte[] {0});
        encoder.range(all, 0, 1, all, 0, 1, 0, 0, 0);
        try (MvccReader reader = store.newReader()) {
            reader.range(encoder.buffer(), 0, kv -> true);
            return reader.count();
        }
    }

    private static long hash(final MvccStore store) {
        try (MvccReader reader = store.newReader()) {
            return reader.hashKv(0);
        }
    }

    @Test
    void shouldTakeConsistentSnapshotWhileWritesContinue() throws Exception {
        final AtomicBoolean stop = new AtomicBoolean();
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        try (MvccStore leader = open(dir.resolve("leader"))) {
            final CommandEncoder encoder = new CommandEncoder();
            final ExpandableDirectByteBuffer response = new ExpandableDirectByteBuffer(1024);
            for (long i = 1; i <= 2_000; i++) {
                writeBatch(leader, i, encoder, response);
            }
            final Thread writer = new Thread(() -> {
                try {
                    for (long i = 2_001; !stop.get() && i < 2_000_000; i++) {
                        writeBatch(leader, i, encoder, response);
                    }
                } catch (final Throwable ex) {
                    failure.set(ex);
                }
            });
            writer.start();
            final SnapshotMeta[] metas = new SnapshotMeta[3];
            for (int i = 0; i < metas.length; i++) {
                metas[i] = Snapshots.take(leader, dir.resolve("snap-" + i));
            }
            stop.set(true);
            writer.join(30_000);
            assertNull(failure.get());
            assertTrue(metas[2].appliedIndex() > 2_000, "the writer kept going during the snapshots");
            for (int i = 0; i < metas.length; i++) {
                final Path restored = dir.resolve("restored-" + i);
                Snapshots.restore(dir.resolve("snap-" + i), restored);
                try (MvccStore store = open(restored)) {
                    assertEquals(metas[i].appliedIndex(), store.appliedIndex());
                    assertEquals(metas[i].appliedIndex(), count(store), "batch i wrote key i: one state, whole");
                    assertEquals(metas[i].appliedIndex() + 1, store.revision());
                }
            }
        }
    }

    @Test
    void shouldInstallStreamedSnapshotReplacingStoreAndCuttingWal() throws IOException, InterruptedException {
        final CommandEncoder encoder = new CommandEncoder();
        final ExpandableDirectByteBuffer response = new ExpandableDirectByteBuffer(1024);
        try (MvccStore leader = open(dir.resolve("leader"));
            MvccStore follower = open(dir.resolve("follower"));
            ChronicleWal wal = ChronicleWal.open(WalConfig.durable(dir.resolve("follower-wal")))) {
            for (long i = 1; i <= 5_000; i++) {
                writeBatch(leader, i, encoder, response);
            }
            for (long i = 1; i <= 10; i++) {
                writeBatch(follower, i, encoder, response);
            }
            final WalBatch batch = new WalBatch(1024);
            final UnsafeBuffer payload = new UnsafeBuffer(ByteBuffer.allocateDirect(8));
            for (long i = 1; i <= 10; i++) {
                batch.reset();
                batch.add(i, 1, (byte)0, payload, 0, 8);
                wal.append(batch);
            }
            final SnapshotMeta taken = Snapshots.take(leader, dir.resolve("leader.snap"));
            final Path received = dir.resolve("received.snap");
            try (SnapshotSender sender = new SnapshotSender(dir.resolve("leader.snap"), 64 * 1024);
                SnapshotReceiver receiver = new SnapshotReceiver(received, 64 * 1024)) {
                for (long chunk = 0; chunk < sender.chunkCount(); chunk++) {
                    final DirectBuffer view = sender.chunk(chunk);
                    assertEquals(SnapshotReceiver.ACCEPTED, receiver.accept(sender.offset(chunk), view, 0,
                        view.capacity(), sender.chunkChecksum()));
                }
                receiver.finish();
            }
            // A reader on another thread keeps reading through the install: it waits for the swap, then sees the
            // new state; nothing closes under it.
            final AtomicBoolean stop = new AtomicBoolean();
            final AtomicReference<Throwable> failure = new AtomicReference<>();
            final java.util.concurrent.atomic.AtomicLong lastSeen = new java.util.concurrent.atomic.AtomicLong();
            final Thread reading = new Thread(() -> {
                try (MvccReader reader = follower.newReader()) {
                    while (!stop.get()) {
                        reader.refresh();
                        lastSeen.set(reader.appliedIndex());
                    }
                } catch (final Throwable ex) {
                    failure.set(ex);
                }
            });
            reading.start();
            final SnapshotMeta installed = Snapshots.install(received, follower, wal);
            final long deadline = System.nanoTime() + 10_000_000_000L;
            while (lastSeen.get() != 5_000 && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
            stop.set(true);
            reading.join(10_000);
            assertNull(failure.get());
            assertEquals(5_000, lastSeen.get(), "the reader sees the installed state");
            assertEquals(taken, installed);
            assertEquals(5_000, follower.appliedIndex());
            assertEquals(hash(leader), hash(follower));
            assertEquals(5_000, wal.baseIndex());
            assertEquals(5_000, wal.lastIndex());
            writeBatch(follower, 5_001, encoder, response);
            assertEquals(5_001, count(follower));
        }
    }

    @Test
    void shouldRejectDamagedSnapshotAndLeaveMemberAsItWas() throws IOException {
        final CommandEncoder encoder = new CommandEncoder();
        final ExpandableDirectByteBuffer response = new ExpandableDirectByteBuffer(1024);
        try (MvccStore leader = open(dir.resolve("leader"));
            MvccStore follower = open(dir.resolve("follower"));
            ChronicleWal wal = ChronicleWal.open(WalConfig.durable(dir.resolve("follower-wal")))) {
            for (long i = 1; i <= 300; i++) {
                writeBatch(leader, i, encoder, response);
            }
            writeBatch(follower, 1, encoder, response);
            final Path snapshot = dir.resolve("leader.snap");
            Snapshots.take(leader, snapshot);
            try (FileChannel channel = FileChannel.open(snapshot, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                final ByteBuffer one = ByteBuffer.allocate(1);
                channel.read(one, 5_000);
                one.put(0, (byte)(one.get(0) ^ 0x40)).rewind();
                channel.write(one, 5_000);
            }
            final long before = hash(follower);
            assertThrows(CorruptSnapshotException.class, () -> Snapshots.install(snapshot, follower, wal));
            assertEquals(before, hash(follower));
            assertEquals(1, follower.appliedIndex());
            assertEquals(0, wal.baseIndex());
            final Path restored = dir.resolve("restored");
            assertThrows(CorruptSnapshotException.class, () -> Snapshots.restore(snapshot, restored));
            assertFalse(Files.exists(restored.resolve(StoreFiles.DATA_FILE)));
        }
    }
}
