package io.cairn.simulator;

import io.cairn.consensus.EntryType;
import io.cairn.consensus.Membership;
import io.cairn.consensus.SnapshotSink;
import io.cairn.consensus.SnapshotSource;
import io.cairn.consensus.memory.MemorySnapshotStore;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.util.Random;

/**
 * Goal: the simulator's plain application: the small register map ({@link KvStateMachine}), whose state is exact and
 * cheap to compare, over an in-memory durable snapshot ({@link MemorySnapshotStore}). Method: the map lives in memory
 * only, so a crash loses it and {@link #open()} rebuilds it from the latest snapshot; the log replays the rest.
 */
final class KvApplication implements SimApplication {
    private final MemorySnapshotStore store;
    private final MemorySnapshotStore.Sink sink;
    private final UnsafeBuffer command = new UnsafeBuffer(new byte[KvStateMachine.COMMAND_LENGTH]);
    private KvStateMachine kv;
    private long appliedIndex;

    KvApplication(final int chunkBytes) {
        this.store = new MemorySnapshotStore(chunkBytes);
        this.sink = new MemorySnapshotStore.Sink(store, KvStateMachine::isSnapshot);
    }

    @Override
    public SnapshotSource snapshotSource() {
        return store;
    }

    @Override
    public SnapshotSink snapshotSink() {
        return sink;
    }

    @Override
    public void open() {
        kv = KvStateMachine.restore(store.data());
        appliedIndex = store.index();
    }

    @Override
    public void crash(final Random random) {
        kv = null;
        sink.abort();
    }

    @Override
    public void close() {
        kv = null;
    }

    @Override
    public int encodeWrite(final History.Op op) {
        return KvStateMachine.encode(command, op.kind, op.key, op.value, op.expected);
    }

    @Override
    public DirectBuffer command() {
        return command;
    }

    @Override
    public long writeOutput(final History.Op op, final long result) {
        return result;
    }

    @Override
    public long read(final History.Op op, final long readIndex) {
        return kv.get(op.key);
    }

    @Override
    public long fingerprint() {
        return kv.stateHash();
    }

    @Override
    public long contentHash() {
        return kv.stateHash();
    }

    @Override
    public long appliedIndex() {
        return appliedIndex;
    }

    @Override
    public void beginRun(final long firstIndex) {
        if (firstIndex != appliedIndex + 1) {
            throw new IllegalStateException("run from " + firstIndex + " after applied index " + appliedIndex);
        }
    }

    @Override
    public long apply(final long index, final long term, final byte type, final DirectBuffer buffer,
        final int offset, final int length) {
        return EntryType.isApplication(type) ? kv.apply(buffer, offset, length) : 0;
    }

    @Override
    public void endRun(final long lastIndex, final long lastTerm) {
        appliedIndex = lastIndex;
    }

    @Override
    public boolean takeSnapshot(final long index, final long term, final Membership membership) {
        store.save(index, term, membership, kv.snapshot());
        return true;
    }

    @Override
    public void installSnapshot(final long index, final long term) {
        if (store.index() != index) {
            throw new IllegalStateException("told to install snapshot " + index + " but holds " + store.index());
        }
        kv = KvStateMachine.restore(store.data());
        appliedIndex = index;
    }

    @Override
    public String toString() {
        return "kv=" + kv;
    }
}
