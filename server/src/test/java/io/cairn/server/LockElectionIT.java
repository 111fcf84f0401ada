package io.cairn.server;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.election.CampaignResponse;
import io.etcd.jetcd.election.LeaderKey;
import io.etcd.jetcd.election.LeaderResponse;
import io.etcd.jetcd.lock.LockResponse;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: jetcd's LockClient and ElectionClient work against Cairn as against etcd, and load balancers' gRPC health
 * probe answers. Method: three {@code cairn member} processes; jetcd clients on different members. Locks: a second
 * client waits while the first holds the lock and gets it when the first unlocks; a holder whose lease expires (no
 * keep-alive) loses the lock to the waiter. Election: the first campaigner leads, the second waits; an observer sees
 * the leader, its proclaimed value and, after it resigns, the next leader; a proclaim with a stale leader key is
 * "election: not leader". Health: {@code grpc.health.v1.Health/Check} is SERVING on every member. Logs: the members run
 * with {@code --logger zap}; every log line is a JSON object with zap's fields, etcd's "ready to serve client requests"
 * and leader lines are there, and SLF4J's "no providers" complaint is not.
 */
class LockElectionIT {
    @TempDir
    Path dir;

    @AutoClose
    private ProcessCluster cairn;

    private static ByteSequence bytes(final String text) {
        return ByteSequence.from(text, StandardCharsets.UTF_8);
    }

    private Client client(final int member) {
        return Client.builder().endpoints("http://" + cairn.endpoint(member)).build();
    }

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void shouldLockAndElectAsEtcdDoesAndAnswerHealthProbes() throws Exception {
        cairn = ProcessCluster.prepareCairn(dir, "LockElectionIT", 3).withFlags("--logger", "zap");
        cairn.startAll();
        Await.until("a leader", 30, () -> cairn.leader() >= 0);
        // --logger zap: every log line a JSON object with zap's fields, SLF4J's complaints gone, etcd's key lines.
        for (int i = 0; i < 3; i++) {
            final int member = i;
            // A follower logs its leader once it hears from it, which may be after another member answered "leader".
            Await.until("member " + i + " to log its leader", 20, () -> cairn.log(member).contains("elected leader"));
            final String log = cairn.log(i);
            assertFalse(log.contains("SLF4J"), log);
            for (final String line : log.lines().filter(line -> line.startsWith("{")).toList()) {
                final com.google.gson.JsonObject json = com.google.gson.JsonParser.parseString(line).getAsJsonObject();
                assertTrue(json.has("level") && json.has("ts") && json.has("caller") && json.has("msg"), line);
            }
            assertTrue(log.contains("\"msg\":\"ready to serve client requests"), log);
            assertTrue(log.contains("elected leader"), log);
        }
        for (int i = 0; i < 3; i++) {
            assertEquals(HealthCheckResponse.ServingStatus.SERVING, HealthGrpc.newBlockingStub(cairn.channel(i))
                .withDeadlineAfter(5, TimeUnit.SECONDS).check(HealthCheckRequest.getDefaultInstance()).getStatus());
        }
        try (Client a = client(0); Client b = client(1); Client c = client(2)) {
            // Two contenders: the second waits until the first unlocks.
            final long leaseA = a.getLeaseClient().grant(30).get(10, TimeUnit.SECONDS).getID();
            final long leaseB = b.getLeaseClient().grant(30).get(10, TimeUnit.SECONDS).getID();
            final LockResponse held = a.getLockClient().lock(bytes("jobs"), leaseA).get(10, TimeUnit.SECONDS);
            assertTrue(held.getKey().toString(StandardCharsets.UTF_8).startsWith("jobs/"), held.getKey().toString());
            final CompletableFuture<LockResponse> waiting = b.getLockClient().lock(bytes("jobs"), leaseB);
            assertThrows(TimeoutException.class, () -> waiting.get(2, TimeUnit.SECONDS), "the lock is held");
            a.getLockClient().unlock(held.getKey()).get(10, TimeUnit.SECONDS);
            final LockResponse next = waiting.get(10, TimeUnit.SECONDS);
            assertFalse(next.getKey().equals(held.getKey()));
            b.getLockClient().unlock(next.getKey()).get(10, TimeUnit.SECONDS);

            // A holder whose lease expires loses the lock to the one waiting.
            final long shortLease = c.getLeaseClient().grant(2).get(10, TimeUnit.SECONDS).getID();
            c.getLockClient().lock(bytes("expiring"), shortLease).get(10, TimeUnit.SECONDS);
            final long started = System.nanoTime();
            a.getLockClient().lock(bytes("expiring"), leaseA).get(20, TimeUnit.SECONDS);
            final long waitedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
            assertTrue(waitedMs >= 500, "waited for the lease to expire: " + waitedMs + " ms");

            // Election: a leads, b waits; an observer sees a, its new value, then b.
            final List<String> seen = new CopyOnWriteArrayList<>();
            c.getElectionClient().observe(bytes("leader"), new io.etcd.jetcd.Election.Listener() {
                @Override
                public void onNext(final LeaderResponse response) {
                    seen.add(response.getKv().getValue().toString(StandardCharsets.UTF_8));
                }

                @Override
                public void onError(final Throwable error) {
                    seen.add("error: " + error);
                }

                @Override
                public void onCompleted() {
                }
            });
            final CampaignResponse first = a.getElectionClient().campaign(bytes("leader"), leaseA, bytes("a"))
                .get(10, TimeUnit.SECONDS);
            final CompletableFuture<CampaignResponse> second = b.getElectionClient().campaign(bytes("leader"),
                leaseB, bytes("b"));
            assertThrows(TimeoutException.class, () -> second.get(2, TimeUnit.SECONDS), "a leads");
            assertEquals("a", c.getElectionClient().leader(bytes("leader")).get(10, TimeUnit.SECONDS).getKv()
                .getValue().toString(StandardCharsets.UTF_8));
            a.getElectionClient().proclaim(first.getLeader(), bytes("a2")).get(10, TimeUnit.SECONDS);
            Await.until("the observer saw a and a2", 10, () -> seen.containsAll(List.of("a", "a2")));
            a.getElectionClient().resign(first.getLeader()).get(10, TimeUnit.SECONDS);
            final LeaderKey nowLeading = second.get(10, TimeUnit.SECONDS).getLeader();
            assertEquals("b", c.getElectionClient().leader(bytes("leader")).get(10, TimeUnit.SECONDS).getKv()
                .getValue().toString(StandardCharsets.UTF_8));
            Await.until("the observer saw b", 10, () -> seen.contains("b"));
            assertEquals(List.of("a", "a2", "b"), seen);
            final ExecutionException stale = assertThrows(ExecutionException.class, () -> a.getElectionClient()
                .proclaim(first.getLeader(), bytes("again")).get(10, TimeUnit.SECONDS));
            // jetcd recognises etcd's "election: not leader" and throws its own exception for it.
            assertTrue(stale.getCause() instanceof io.etcd.jetcd.election.NotLeaderException, stale.toString());
            b.getElectionClient().resign(nowLeading).get(10, TimeUnit.SECONDS);
            final ExecutionException none = assertThrows(ExecutionException.class, () -> c.getElectionClient()
                .leader(bytes("leader")).get(10, TimeUnit.SECONDS));
            assertTrue(none.getCause() instanceof io.etcd.jetcd.election.NoLeaderException, none.toString());
        }
    }
}
