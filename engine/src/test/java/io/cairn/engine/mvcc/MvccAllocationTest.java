package io.cairn.engine.mvcc;

import org.agrona.ExpandableDirectByteBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: the keyspace's steady path allocates nothing per operation — applying puts, deletes, txns and ranges inside a
 * batch, and serving ranges from a refreshed reader — leaving only lmdbjava's handful of objects per write
 * transaction (one per batch, not per operation). Method: warm up, then count this thread's allocated bytes
 * ({@code ThreadMXBean#getCurrentThreadAllocatedBytes}) over many batches of 64 commands and many reads; the bound
 * is bytes per operation, printed so a regression is visible.
 */
class MvccAllocationTest {
    private static final int BATCH = 64;

    @TempDir
    Path dir;

    @Test
    void shouldNotAllocatePerOperationInSteadyState() throws IOException {
        final com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();
        final UnsafeBuffer key = new UnsafeBuffer(ByteBuffer.allocateDirect(16));
        final UnsafeBuffer value = new UnsafeBuffer(ByteBuffer.allocateDirect(256));
        final UnsafeBuffer end = new UnsafeBuffer(ByteBuffer.allocateDirect(1));
        final CommandEncoder puts = new CommandEncoder();
        final CommandEncoder txn = new CommandEncoder();
        final CommandEncoder range = new CommandEncoder();
        final ExpandableDirectByteBuffer response = new ExpandableDirectByteBuffer(1 << 20);
        try (MvccStore store = MvccTesting.open(dir)) {
            final RangeVisitor visitor = kv -> kv.valueLength() >= 0;
            final int iterations = 300;
            long before = 0;
            long index = 0;
            try (MvccReader reader = store.newReader()) {
                for (int i = 0; i < iterations * 2; i++) {
                    if (i == iterations) {
                        before = threads.getCurrentThreadAllocatedBytes();
                    }
                    store.beginBatch();
                    for (int op = 0; op < BATCH; op++) {
                        key.putLong(0, (i * 7L + op) % 500);
                        key.putLong(8, 42);
                        puts.reset().put(key, 0, 16, value, 0, 256, 0, MvccCommand.FLAG_PREV_KV);
                        assertOk(store.apply(puts.buffer(), 0, puts.length(), response, 0), response);
                    }
                    txn.reset().beginTxn()
                        .compare(MvccCommand.COMPARE_GREATER, MvccCommand.COMPARE_VERSION, key, 0, 16, null, 0, 0, 0)
                        .success().put(key, 0, 16, value, 0, 8, 0, 0).deleteRange(key, 0, 8, end, 0, 0, 0)
                        .failure().range(key, 0, 16, null, 0, 0, 0, 0, 0).endTxn();
                    assertOk(store.apply(txn.buffer(), 0, txn.length(), response, 0), response);
                    store.commit(++index, 1);
                    reader.refresh();
                    end.putByte(0, (byte)0);
                    range.reset().range(key, 0, 1, end, 0, 1, 0, 50, 0);
                    assertEquals(MvccError.OK, reader.range(range.buffer(), 0, visitor));
                    reader.rangeInto(range.buffer(), 0, response, 0);
                }
            }
            final long allocated = threads.getCurrentThreadAllocatedBytes() - before;
            final long operations = (long)iterations * (BATCH + 3);
            System.out.println("keyspace steady path: " + allocated + " bytes over " + iterations + " batches, "
                + (double)allocated / operations + " bytes per operation");
            // lmdbjava allocates its Txn and a cursor's key/value holders per write transaction (~450 bytes); a
            // regression that allocates per operation would cost at least 64 times more per batch.
            assertTrue(allocated / iterations < 1024, "steady keyspace path allocated " + allocated + " bytes over "
                + iterations + " batches of " + (BATCH + 3) + " operations");
        }
    }

    private static void assertOk(final int length, final ExpandableDirectByteBuffer response) {
        assertTrue(length >= MvccResponse.HEADER);
        assertEquals(MvccError.OK, MvccResponse.status(response, 0));
    }
}
