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

    private static final int WINDOWS = 3;

    private long consumed;
    private long index;
    private long iteration;

    @Test
    void shouldNotAllocateWhenAppendingSyncingAndReadingInSteadyState() throws IOException {
        final com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();
        final UnsafeBuffer payload = new UnsafeBuffer(ByteBuffer.allocateDirect(256));
        final WalBatch batch = new WalBatch(64 * 1024);
        final WalEntryHandler handler =
            (index, term, type, buffer, offset, length) -> consumed += buffer.getByte(offset);
        try (ChronicleWal wal = ChronicleWal.open(WalConfig.durable(dir))) {
            final int iterations = 2_000;
            final long[] windows = new long[WINDOWS];
            index = 0;
            for (int warm = 0; warm < iterations; warm++) {
                iterate(wal, batch, payload, handler);
            }
            // Measured over up to three windows, the best one counts: on a loaded machine a method the JIT has not
            // compiled yet (its escape analysis removes the allocation) can allocate during one window. An
            // allocation per operation shows in every window.
            long best = Long.MAX_VALUE;
            for (int window = 0; window < WINDOWS && best >= iterations; window++) {
                final long before = threads.getCurrentThreadAllocatedBytes();
                for (int i = 0; i < iterations; i++) {
                    iterate(wal, batch, payload, handler);
                }
                windows[window] = threads.getCurrentThreadAllocatedBytes() - before;
                best = Math.min(best, windows[window]);
            }
            System.out.println("allocated " + java.util.Arrays.toString(windows) + " bytes in windows of "
                + iterations + " iterations");
            assertTrue(best < iterations, "steady-state WAL path allocated " + java.util.Arrays.toString(windows)
                + " bytes in windows of " + iterations + " iterations of 16 appends + sync + 17 reads");
        }
    }

    private void iterate(final ChronicleWal wal, final WalBatch batch, final UnsafeBuffer payload,
        final WalEntryHandler handler) {
        batch.reset();
        for (int e = 0; e < 16; e++) {
            batch.add(++index, 1, (byte)0, payload, 0, payload.capacity());
        }
        wal.append(batch);
        wal.saveHardState(1, 0, index - 8);
        wal.sync();
        wal.readRange(index - 15, index, 16, Long.MAX_VALUE, handler);
        wal.read(index - 3, handler);
        if (++iteration % 100 == 0) {
            // Raft compacts behind snapshots; without it the index map grows with the log (not garbage, but
            // allocation all the same).
            wal.compactBefore(index - 1000);
        }
    }
}
