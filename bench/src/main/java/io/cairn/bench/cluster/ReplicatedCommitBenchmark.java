package io.cairn.bench.cluster;

import io.cairn.bench.BenchDirectories;
import io.cairn.consensus.EntryType;
import io.cairn.consensus.Role;
import io.cairn.consensus.keyspace.KeyspaceMember;
import io.cairn.consensus.loop.RaftListener;
import io.cairn.engine.mvcc.CommandEncoder;
import io.cairn.transport.aeron.AeronTransport;
import io.cairn.transport.aeron.AeronTransportConfig;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.io.IOException;
import java.net.DatagramSocket;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Replicated commit: a three-member cluster in this JVM (three {@link KeyspaceMember}s, their loops on their own
 * threads, each with an embedded Aeron driver, replicating over loopback UDP, WALs on disk under
 * {@code target/bench}) and one client thread that proposes {@code batchSize} puts to the leader and waits until all
 * are committed by a quorum and applied to the leader's keyspace. {@code commit} in sample mode gives the latency of
 * one batch (batch 1: one write's commit latency); {@code throughput} counts committed entries per second.
 * {@code sync=false} never fsyncs the WAL: measuring only, labelled so in results. Compare with the Aeron round trip
 * ({@code AeronRoundTripBenchmark}) and the raw fdatasync ({@code probe}) measured in the same run: one commit is at
 * least one round trip plus one sync on the leader and one on a follower, overlapped.
 */
@State(Scope.Benchmark)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
@Fork(1)
public class ReplicatedCommitBenchmark {
    private static final long TICK_NS = TimeUnit.MILLISECONDS.toNanos(20);

    /** Sync the WAL (false: measuring only). */
    @Param({"true", "false"})
    public boolean sync;

    /** Puts proposed together, then awaited. */
    @Param({"1", "64", "1024", "4096"})
    public int batchSize;

    /** Bytes per value (keys are 16 bytes). */
    @Param({"100"})
    public int valueBytes;

    private Path directory;
    private final AeronTransport[] transports = new AeronTransport[4];
    private final KeyspaceMember[] members = new KeyspaceMember[4];
    private final int[] roles = new int[4];
    private final CommandEncoder encoder = new CommandEncoder();
    private final byte[] key = new byte[16];
    private byte[] value;
    private volatile long completed;
    private volatile long failed;
    private volatile long awaited = Long.MAX_VALUE;
    private volatile Thread waiter;
    private long proposed;

    /** Entries committed, for the throughput figure. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Entries {
        /** Committed entries in this iteration. */
        public long entries;
    }

    private static int freePort() throws IOException {
        try (DatagramSocket socket = new DatagramSocket(0)) {
            return socket.getLocalPort();
        }
    }

    /**
     * Starts three members and waits for a leader.
     *
     * @throws IOException if files or ports are unavailable.
     */
    @Setup(Level.Trial)
    public void start() throws IOException {
        directory = BenchDirectories.fresh("replicated");
        value = new byte[valueBytes];
        final Map<Integer, String> endpoints = new HashMap<>();
        for (int id = 1; id <= 3; id++) {
            endpoints.put(id, "127.0.0.1:" + freePort());
        }
        for (int id = 1; id <= 3; id++) {
            transports[id] = AeronTransport.launch(AeronTransportConfig.ofMember(id, endpoints));
            final int member = id;
            members[id] = new KeyspaceMember(
                KeyspaceMember.Settings.of(id, directory.resolve("node-" + id), 1, 2, 3)
                    .with(sync, TICK_NS, 100_000, 20_000),
                transports[id], RaftListener.forWrites(this::onProposalComplete,
                    (role, term, leaderId) -> roles[member] = role)).start(Throwable::printStackTrace);
        }
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (leader() == 0) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("no leader elected in 60 s");
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
        }
    }

    private void onProposalComplete(final long correlationId, final long code, final long index, final long result) {
        if (code != RaftListener.COMMITTED) {
            failed++;
        }
        final long done = ++completed;
        if (done >= awaited) {
            LockSupport.unpark(waiter);
        }
    }

    /**
     * Stops the members and deletes their files.
     *
     * @throws IOException if the files cannot be deleted.
     */
    @TearDown(Level.Trial)
    public void stop() throws IOException {
        for (int id = 1; id <= 3; id++) {
            if (members[id] != null) {
                members[id].close();
            }
            if (transports[id] != null) {
                transports[id].close();
            }
        }
        BenchDirectories.delete(directory);
        if (failed != 0) {
            throw new IllegalStateException(failed + " proposals were not committed (leadership changed?)");
        }
    }

    private int leader() {
        for (int id = 1; id <= 3; id++) {
            if (roles[id] == Role.LEADER) {
                return id;
            }
        }
        return 0;
    }

    private void commitBatch() {
        final int leader = leader();
        if (leader == 0) {
            throw new IllegalStateException("no leader");
        }
        waiter = Thread.currentThread();
        final long target = proposed + batchSize;
        for (int i = 0; i < batchSize; i++) {
            final long sequence = proposed + 1;
            for (int b = 0; b < 8; b++) {
                key[b] = (byte) ('a' + ((sequence >>> (b * 4)) & 0xF));
            }
            encoder.reset().put(key, value, 0, 0);
            while (!members[leader].requests().offerProposal(sequence, EntryType.NORMAL, encoder.buffer(), 0,
                encoder.length())) {
                Thread.yield();
            }
            proposed = sequence;
        }
        awaited = target;
        while (completed < target) {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
        }
        awaited = Long.MAX_VALUE;
    }

    /**
     * One batch proposed and committed: its latency.
     */
    @Benchmark
    @BenchmarkMode(Mode.SampleTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public void commit() {
        commitBatch();
    }

    /**
     * Committed entries per second.
     *
     * @param entries counts entries.
     */
    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    public void throughput(final Entries entries) {
        commitBatch();
        entries.entries += batchSize;
    }
}
