package io.cairn.consensus;

import io.cairn.engine.wal.ChronicleWal;
import io.cairn.engine.wal.WalConfig;
import io.cairn.engine.wal.WalEntryHandler;
import org.agrona.DirectBuffer;
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
 * Goal: the Raft hot path allocates nothing once warm: on the leader, propose, append, send, acknowledge, commit,
 * heartbeats, ReadIndex and forwarded proposals; on followers, forwarding proposals, append, persist and acknowledge;
 * on all, apply and compaction. Method: three cores over real {@code ChronicleWal}s (sync off: durability is not
 * under test here) exchange messages directly, outbox to {@code onMessage}, driven by an allocation-free loop that
 * follows the {@link Ready} contract; after warm-up, this thread's allocated bytes
 * ({@code ThreadMXBean#getCurrentThreadAllocatedBytes}) are counted over many iterations of 16 proposals (8 of them
 * forwarded by a follower) and one read each, like the engine's {@code WalAllocationTest}.
 */
class RaftCoreAllocationTest {
    private static final int NODES = 3;

    @TempDir
    Path dir;

    private final RaftCore[] cores = new RaftCore[NODES + 1];
    private final ChronicleWal[] wals = new ChronicleWal[NODES + 1];
    private final int[] delivered = new int[NODES + 1];
    private final WalEntryHandler applier = this::apply;
    private long checksum;
    private long forwardId;
    private long forwardsAnswered;

    @Test
    void shouldNotAllocateWhenReplicatingCommittingAndReadingInSteadyState() throws IOException {
        for (int id = 1; id <= NODES; id++) {
            wals[id] = ChronicleWal.open(WalConfig.durable(dir.resolve("node-" + id)).withDurable(false));
            final int node = id;
            cores[id] = new RaftCore(new RaftContext()
                .config(RaftConfig.builder(id).outbox(8 << 20, 4096).build())
                .wal(wals[id])
                .random(bound -> (node * 3) % bound)
                .snapshotSource(new NoSnapshots())
                .snapshotSink(new NoSnapshots())
                .snapshot(0, 0, Membership.ofVoters(1, 2, 3)));
        }
        try {
            while (cores[1].role() != Role.LEADER) {
                cores[1].tick();
                settle();
            }
            final com.sun.management.ThreadMXBean threads =
                (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();
            final UnsafeBuffer payload = new UnsafeBuffer(ByteBuffer.allocateDirect(64));
            final int iterations = 3_000;
            long before = 0;
            for (int i = 0; i < iterations * 2; i++) {
                if (i == iterations) {
                    before = threads.getCurrentThreadAllocatedBytes();
                }
                iterate(i, payload);
            }
            final long allocated = threads.getCurrentThreadAllocatedBytes() - before;
            System.out.println("allocated " + allocated + " bytes over " + iterations + " iterations");
            assertEquals(Role.LEADER, cores[1].role());
            assertEquals(cores[1].commitIndex(), cores[3].appliedIndex());
            assertEquals(forwardId, forwardsAnswered, "every forwarded proposal got its index");
            assertTrue(allocated < iterations, "steady-state Raft path allocated " + allocated + " bytes over "
                + iterations + " iterations of 16 proposals + 1 read");
        } finally {
            for (int id = 1; id <= NODES; id++) {
                wals[id].close();
            }
        }
    }

    private void iterate(final int iteration, final DirectBuffer payload) {
        final RaftCore leader = cores[1];
        for (int e = 0; e < 8; e++) {
            final long index = leader.propose(EntryType.NORMAL, payload, 0, payload.capacity());
            assertTrue(index > 0);
            // A follower's client: forwarded to the leader inside Raft, answered with its index.
            assertEquals(RaftResult.ACCEPTED, cores[2].proposeOrForward(++forwardId, EntryType.NORMAL, payload, 0,
                payload.capacity()));
        }
        leader.readIndex(iteration);
        settle();
        if (iteration % 10 == 9) {
            for (int id = 1; id <= NODES; id++) {
                cores[id].tick();
            }
            settle();
        }
        if (iteration % 200 == 199) {
            for (int id = 1; id <= NODES; id++) {
                final long keepFrom = cores[id].appliedIndex() - 500;
                if (keepFrom > wals[id].baseIndex()) {
                    cores[id].compact(keepFrom);
                }
            }
        }
    }

    private void settle() {
        boolean busy = true;
        for (int round = 0; round < 20 && busy; round++) {
            busy = false;
            for (int id = 1; id <= NODES; id++) {
                busy |= pump(id);
            }
        }
    }

    private boolean pump(final int id) {
        final RaftCore core = cores[id];
        Ready ready = core.ready();
        delivered[id] = 0;
        boolean activity = deliver(id, ready);
        if (ready.persistNeeded()) {
            wals[id].sync();
            core.onPersisted();
            ready = core.ready();
            activity |= deliver(id, ready);
        }
        for (int i = 0; i < ready.forwardStateCount(); i++) {
            forwardsAnswered += ready.forwardResult(i) > 0 ? 1 : 0;
        }
        final long applyIndex = ready.applyIndex();
        if (applyIndex > core.appliedIndex()) {
            wals[id].readRange(core.appliedIndex() + 1, applyIndex, Integer.MAX_VALUE, Long.MAX_VALUE, applier);
            core.onApplied(applyIndex);
        }
        core.advance();
        return activity;
    }

    private boolean deliver(final int id, final Ready ready) {
        final Outbox messages = ready.messages();
        final int count = messages.count();
        for (int i = delivered[id]; i < count; i++) {
            cores[messages.destination(i)].onMessage(messages.buffer(), messages.offset(i), messages.length(i));
        }
        final boolean any = count > delivered[id];
        delivered[id] = count;
        return any;
    }

    private void apply(final long index, final long term, final byte type, final DirectBuffer buffer,
        final int offset, final int length) {
        checksum += length > 0 ? buffer.getByte(offset) : 0;
    }

    /**
     * Neither source nor sink is used: followers never fall behind the leader's log here.
     */
    private static final class NoSnapshots implements SnapshotSource, SnapshotSink {
        private final Membership membership = new Membership();

        @Override
        public long index() {
            return NULL_INDEX;
        }

        @Override
        public long term() {
            return 0;
        }

        @Override
        public Membership membership() {
            return membership;
        }

        @Override
        public long totalBytes() {
            return 0;
        }

        @Override
        public DirectBuffer chunk(final long offset, final int lengthMax) {
            return null;
        }

        @Override
        public int chunkChecksum() {
            return 0;
        }

        @Override
        public void begin(final long index, final long term, final long totalBytes) {
            throw new IllegalStateException("no snapshot expected");
        }

        @Override
        public long expectedOffset() {
            return 0;
        }

        @Override
        public int accept(final long offset, final DirectBuffer buffer, final int bufferOffset, final int length,
            final int checksum) {
            return OUT_OF_ORDER;
        }

        @Override
        public boolean finish(final Membership membership) {
            return false;
        }

        @Override
        public void abort() {
            // Nothing is ever received.
        }
    }
}
