package io.cairn.engine.wal;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: the WAL's steady path — stage a batch, append, sync, read entries back — allocates nothing, so the event
 * loop driving it produces no garbage. Method: warm up, then count this thread's allocated bytes
 * ({@code ThreadMXBean#getCurrentThreadAllocatedBytes}) over many iterations; a regression shows as bytes per
 * iteration. Sync is real (durable), so Chronicle's sync path is covered too, and the log is compacted as Raft would
 * after snapshots, so the index map reuses its arrays.
 */
class WalAllocationTest {
    @TempDir
    Path dir;

    private long consumed;

    @Test
    void shouldNotAllocateWhenAppendingSyncingAndReadingInSteadyState() throws IOException {
        final com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();
        final UnsafeBuffer payload = new UnsafeBuffer(ByteBuffer.allocateDirect(256));
        final WalBatch batch = new WalBatch(64 * 1024);
        final WalEntryHandler handler =
            (index, term, type, buffer, offset, length) -> consumed += buffer.getByte(offset);
        try (ChronicleWal wal = ChronicleWal.open(WalConfig.durable(dir))) {
            long index = 0;
            final int iterations = 2_000;
            long before = 0;
            for (int i = 0; i < iterations * 2; i++) {
                if (i == iterations) {
                    before = threads.getCurrentThreadAllocatedBytes();
                }
                batch.reset();
                for (int e = 0; e < 16; e++) {
                    batch.add(++index, 1, (byte)0, payload, 0, payload.capacity());
                }
                wal.append(batch);
                wal.saveHardState(1, 0, index - 8);
                wal.sync();
                wal.readRange(index - 15, index, 16, Long.MAX_VALUE, handler);
                wal.read(index - 3, handler);
                if (i % 100 == 99) {
                    // Raft compacts behind snapshots; without it the index map grows with the log (not garbage,
                    // but allocation all the same).
                    wal.compactBefore(index - 1000);
                }
            }
            final long allocated = threads.getCurrentThreadAllocatedBytes() - before;
            System.out.println("allocated " + allocated + " bytes over " + iterations + " iterations");
            assertTrue(allocated < iterations, "steady-state WAL path allocated " + allocated + " bytes over "
                + iterations + " iterations of 16 appends + sync + 17 reads");
        }
    }
}
