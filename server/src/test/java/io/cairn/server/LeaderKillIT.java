package io.cairn.server;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.RangeRequest;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: what an etcd client was told is written stays written when the leader process dies, again and again, and when a
 * member is frozen (SIGSTOP) and thawed. Method: three {@code cairn member} processes; four writer threads put unique
 * keys through the etcd gRPC API to all members in turn (followers forward), recording each acknowledged key; the
 * leader (found by Maintenance.Status) is SIGKILLed by PID and restarted from its data directory, three times
 * (-Dcairn.leaderKill.kills=N), and a follower is paused for 3 s; then every member must serve every acknowledged key
 * by a linearizable read, the members' keyspaces must hash the same, and the members' own corruption check (every
 * second here) must have found no difference. Every wait is bounded; every process is stopped by PID.
 */
@Timeout(300)
class LeaderKillIT {
    /** Leader kills ({@code -Dcairn.leaderKill.kills}, 3 in {@code ./test}); a follower pauses after half. */
    private static final int KILLS = Integer.getInteger("cairn.leaderKill.kills", 3);
    private static final int WRITERS = 4;

    @TempDir
    Path dir;

    @AutoClose // closed after each test, before its temporary directory goes
    private ProcessCluster cairn;

    private static void signal(final Process process, final String signal) throws Exception {
        final Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(process.pid())).start();
        assertTrue(kill.waitFor(10, TimeUnit.SECONDS) && kill.exitValue() == 0, "kill -" + signal);
    }

    @Test
    void shouldKeepEveryAcknowledgedWriteThroughLeaderKillsAndPauses() throws Exception {
        cairn = ProcessCluster.prepareCairn(dir, "LeaderKillIT", 3).withFlags("--experimental-corrupt-check-time",
            "1s");
        cairn.startAll();
        final Set<String> acknowledged = ConcurrentHashMap.newKeySet();
        final AtomicBoolean writing = new AtomicBoolean(true);
        final AtomicLong lastAckNs = new AtomicLong(System.nanoTime());
        final AtomicLong failures = new AtomicLong();
        final List<Thread> writers = new ArrayList<>();
        for (int w = 0; w < WRITERS; w++) {
            final int writer = w;
            final Thread thread = new Thread(() -> {
                long sequence = 0;
                while (writing.get()) {
                    final String key = "w" + writer + "-" + sequence++;
                    final int member = (int)(sequence % 3);
                    try {
                        KVGrpc.newBlockingStub(cairn.channel(member)).withDeadlineAfter(5, TimeUnit.SECONDS)
                            .put(PutRequest.newBuilder().setKey(ByteString.copyFromUtf8(key))
                                .setValue(ByteString.copyFromUtf8("v")).build());
                        acknowledged.add(key);
                        lastAckNs.set(System.nanoTime());
                    } catch (final RuntimeException ex) {
                        failures.incrementAndGet(); // outcome unknown: it may or may not be applied
                        Await.sleep(20);
                    }
                }
            }, "writer-" + w);
            thread.start();
            writers.add(thread);
        }
        final List<Long> recoveriesMs = new ArrayList<>();
        try {
            for (int round = 1; round <= KILLS; round++) {
                final int before = acknowledged.size();
                Await.until("writes before kill " + round, 30, () -> acknowledged.size() >= before + 200);
                final int[] found = {-1};
                Await.until("a leader before kill " + round, 30, () -> (found[0] = cairn.leader()) >= 0);
                final int victim = found[0];
                cairn.kill(victim);
                final long killedNs = System.nanoTime();
                Await.until("a write acknowledged after kill " + round, 30, () -> lastAckNs.get() > killedNs
                    && cairn.leader() >= 0);
                recoveriesMs.add(TimeUnit.NANOSECONDS.toMillis(lastAckNs.get() - killedNs));
                cairn.start(victim);
                cairn.awaitPorts();
                if (round == KILLS / 2) {
                    final int follower = (cairn.leader() + 1) % 3;
                    signal(cairn.process(follower), "STOP");
                    Await.sleep(3_000);
                    signal(cairn.process(follower), "CONT");
                }
            }
        } finally {
            writing.set(false);
            for (final Thread writer : writers) {
                writer.join(15_000);
            }
        }
        System.out.println(acknowledged.size() + " writes acknowledged, " + failures.get() + " failed or unknown, "
            + KILLS + " leader kills, first write after each kill (ms): " + recoveriesMs);
        for (int i = 0; i < 3; i++) {
            final int member = i;
            final long[] missing = {-1};
            Await.until("member " + i + " to serve every acknowledged write", 60, () -> {
                missing[0] = missing(member, acknowledged);
                return missing[0] == 0;
            });
            assertEquals(0, missing[0]);
        }
        // Each member has now applied everything (a linearizable read on each): their keyspaces hash the same at the
        // latest revision, and their own corruption check, run every second throughout, found no difference.
        final long revision = KVGrpc.newBlockingStub(cairn.channel(0)).withDeadlineAfter(5, TimeUnit.SECONDS)
            .range(RangeRequest.newBuilder().setKey(ByteString.copyFromUtf8("w0-0")).build()).getHeader().getRevision();
        for (int i = 1; i < 3; i++) {
            final int member = i;
            Await.until("member " + i + " at revision " + revision, 30, () -> {
                try {
                    return KVGrpc.newBlockingStub(cairn.channel(member)).withDeadlineAfter(5, TimeUnit.SECONDS)
                        .range(RangeRequest.newBuilder().setKey(ByteString.copyFromUtf8("w0-0")).build())
                        .getHeader().getRevision() >= revision;
                } catch (final RuntimeException ex) {
                    return false;
                }
            });
            assertEquals(cairn.hashKv(0, revision), cairn.hashKv(i, revision), "member " + i + "'s keyspace hash");
        }
        cairn.assertCorruptionChecksFoundNoDifference();
    }

    private long missing(final int member, final Set<String> keys) {
        long missing = 0;
        try {
            final KVGrpc.KVBlockingStub kv = KVGrpc.newBlockingStub(cairn.channel(member));
            for (final String key : keys) {
                if (kv.withDeadlineAfter(5, TimeUnit.SECONDS).range(RangeRequest.newBuilder()
                    .setKey(ByteString.copyFrom(key, StandardCharsets.UTF_8)).setCountOnly(true).build())
                    .getCount() != 1) {
                    missing++;
                }
            }
        } catch (final RuntimeException ex) {
            return -1; // not answering yet
        }
        return missing;
    }
}
