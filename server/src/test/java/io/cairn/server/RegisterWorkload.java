package io.cairn.server;

import com.google.protobuf.ByteString;
import io.cairn.simulator.RecordedHistory;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.RangeResponse;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The fault suites' client load: clients that put and read registers (every operation's invocation and completion
 * recorded in a {@link RecordedHistory}, a write that errs left open — it may have taken effect) and put unique keys
 * (each acknowledged one remembered), moving to another member when theirs fails. Afterwards: final reads of every
 * register through every member, the history's linearizability verdict, every acknowledged key on every member.
 */
final class RegisterWorkload {
    private final ProcessCluster cluster;
    private final String prefix;
    private final int registers;
    private final long seed;
    private final RecordedHistory history = new RecordedHistory();
    private final Set<String> acknowledged = ConcurrentHashMap.newKeySet();
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final AtomicLong okWrites = new AtomicLong();
    private final AtomicLong lastOkInvokedNs = new AtomicLong();
    private final List<Thread> threads = new ArrayList<>();

    RegisterWorkload(final ProcessCluster cluster, final String prefix, final int registers, final long seed) {
        this.cluster = cluster;
        this.prefix = prefix;
        this.registers = registers;
        this.seed = seed;
    }

    /** Starts {@code clients} client threads. */
    void start(final int clients) {
        for (int c = 0; c < clients; c++) {
            final int client = c;
            final Thread thread = new Thread(() -> run(client), "client-" + c);
            thread.setDaemon(true);
            thread.start();
            threads.add(thread);
        }
    }

    /** Stops the clients and waits for them. */
    void stop() throws InterruptedException {
        running.set(false);
        for (final Thread thread : threads) {
            thread.join(20_000);
        }
    }

    long okWrites() {
        return okWrites.get();
    }

    long acknowledgedKeys() {
        return acknowledged.size();
    }

    int operations() {
        return history.size();
    }

    /**
     * Waits until a write invoked after {@code sinceNs} has been acknowledged.
     *
     * @return ms from {@code sinceNs} to that write's invocation.
     */
    long awaitWriteAfter(final long sinceNs, final String what) throws Exception {
        Await.until("a write acknowledged " + what, 120, () -> lastOkInvokedNs.get() > sinceNs);
        return TimeUnit.NANOSECONDS.toMillis(lastOkInvokedNs.get() - sinceNs);
    }

    /** Waits for {@code count} more acknowledged writes. */
    void awaitWrites(final long count, final String what) throws Exception {
        final long target = okWrites.get() + count;
        Await.until("writes " + what, 120, () -> okWrites.get() >= target);
    }

    /**
     * Reads every register through every member (into the history), then checks it.
     *
     * @return null if linearizable, else the checker's explanation.
     */
    String finalReadsAndCheck() throws Exception {
        for (int i = 0; i < cluster.size(); i++) {
            final int member = i;
            Await.until("member " + i + " answering", 60, () -> {
                try {
                    kv(member).range(RangeRequest.newBuilder().setKey(register(0)).build());
                    return true;
                } catch (final RuntimeException ex) {
                    return false;
                }
            });
            for (int k = 0; k < registers; k++) {
                final int handle = history.invokeGet(100 + i, k);
                history.ok(handle, value(kv(i).range(RangeRequest.newBuilder().setKey(register(k)).build())));
            }
        }
        return history.check();
    }

    /** Every acknowledged unique key is served by every member (a linearizable read each). */
    void assertEveryAcknowledgedKeyOnEveryMember() throws Exception {
        for (int i = 0; i < cluster.size(); i++) {
            final int member = i;
            final long[] missing = {-1};
            Await.until("member " + i + " to serve every acknowledged key", 60, () -> {
                missing[0] = missing(member);
                return missing[0] == 0;
            });
            assertEquals(0, missing[0], "acknowledged keys missing on member " + i);
        }
    }

    /** The latest revision, read through member 0. */
    long revision() {
        return kv(0).range(RangeRequest.newBuilder().setKey(register(0)).build()).getHeader().getRevision();
    }

    private void run(final int client) {
        final SplittableRandom choices = new SplittableRandom(seed + client);
        int member = client % cluster.size();
        long sequence = 0;
        while (running.get()) {
            try {
                final int key = choices.nextInt(registers);
                final int roll = choices.nextInt(3);
                if (roll == 0) {
                    final long value = ((long)(client + 1) << 40) | ++sequence;
                    final int handle = history.invokePut(client, key, value);
                    final long invokedNs = System.nanoTime();
                    try {
                        kv(member).put(PutRequest.newBuilder().setKey(register(key))
                            .setValue(ByteString.copyFromUtf8(Long.toString(value))).build());
                    } catch (final RuntimeException ex) {
                        history.unknown(handle);
                        throw ex;
                    }
                    history.ok(handle, 0);
                    acknowledged(invokedNs);
                } else if (roll == 1) {
                    final int handle = history.invokeGet(client, key);
                    try {
                        history.ok(handle, value(kv(member).range(RangeRequest.newBuilder().setKey(register(key))
                            .build())));
                    } catch (final RuntimeException ex) {
                        history.failed(handle);
                        throw ex;
                    }
                } else {
                    final String unique = prefix + "unique/" + client + "-" + ++sequence;
                    final long invokedNs = System.nanoTime();
                    kv(member).put(PutRequest.newBuilder().setKey(ByteString.copyFromUtf8(unique))
                        .setValue(ByteString.copyFromUtf8("v")).build());
                    acknowledged.add(unique);
                    acknowledged(invokedNs);
                }
            } catch (final RuntimeException ex) {
                member = (member + 1) % cluster.size(); // down, cut off or without a leader: try another
                Await.sleep(50);
            }
        }
    }

    private void acknowledged(final long invokedNs) {
        okWrites.incrementAndGet();
        lastOkInvokedNs.accumulateAndGet(invokedNs, Math::max);
    }

    private long missing(final int member) {
        long missing = 0;
        try {
            for (final String key : acknowledged) {
                if (kv(member).range(RangeRequest.newBuilder().setKey(ByteString.copyFromUtf8(key)).setCountOnly(true)
                    .build()).getCount() != 1) {
                    missing++;
                }
            }
        } catch (final RuntimeException ex) {
            return -1; // not answering yet
        }
        return missing;
    }

    private KVGrpc.KVBlockingStub kv(final int member) {
        return KVGrpc.newBlockingStub(cluster.channel(member)).withDeadlineAfter(5, TimeUnit.SECONDS);
    }

    private ByteString register(final int key) {
        return ByteString.copyFrom(prefix + key, StandardCharsets.UTF_8);
    }

    private static long value(final RangeResponse response) {
        return response.getKvsCount() == 0 ? 0 : Long.parseLong(response.getKvs(0).getValue().toStringUtf8());
    }
}
