package io.cairn.server;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.lease.LeaseKeepAliveResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchEvent;
import io.grpc.stub.StreamObserver;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: the Java etcd client, jetcd, works against Cairn unchanged. Method: jetcd-core with all three members'
 * endpoints against a three-process Cairn cluster: KV (put, get by prefix, delete), a compare-and-set txn, a watch
 * that sees every revision in order, and a lease kept alive past its TTL whose key then goes with its revocation.
 */
@Timeout(180)
class JetcdCompatibilityIT {
    @TempDir
    static Path dir;

    private static ProcessCluster cairn;
    private static Client client;

    @BeforeAll
    static void start() throws IOException {
        cairn = ProcessCluster.startCairn(dir, "JetcdCompatibilityIT", 3);
        final String[] endpoints = cairn.endpoints().split(",");
        for (int i = 0; i < endpoints.length; i++) {
            endpoints[i] = "http://" + endpoints[i];
        }
        client = Client.builder().endpoints(endpoints).build();
    }

    @AfterAll
    static void stop() {
        if (client != null) {
            client.close();
        }
        if (cairn != null) {
            cairn.close();
        }
    }

    private static ByteSequence bytes(final String text) {
        return ByteSequence.from(text, StandardCharsets.UTF_8);
    }

    @Test
    void shouldPutGetDeleteAndCompareAndSet() throws Exception {
        client.getKVClient().put(bytes("/app/a"), bytes("1")).get(20, TimeUnit.SECONDS);
        client.getKVClient().put(bytes("/app/b"), bytes("2")).get(20, TimeUnit.SECONDS);
        final GetResponse all = client.getKVClient().get(bytes("/app/"),
            GetOption.builder().isPrefix(true).build()).get(20, TimeUnit.SECONDS);
        assertEquals(2, all.getCount());
        assertEquals("1", all.getKvs().get(0).getValue().toString(StandardCharsets.UTF_8));
        final long version = all.getKvs().get(0).getModRevision();
        final TxnResponse swapped = client.getKVClient().txn()
            .If(new Cmp(bytes("/app/a"), Cmp.Op.EQUAL, CmpTarget.modRevision(version)))
            .Then(Op.put(bytes("/app/a"), bytes("3"), PutOption.DEFAULT))
            .Else(Op.get(bytes("/app/a"), GetOption.DEFAULT))
            .commit().get(20, TimeUnit.SECONDS);
        assertTrue(swapped.isSucceeded());
        final TxnResponse stale = client.getKVClient().txn()
            .If(new Cmp(bytes("/app/a"), Cmp.Op.EQUAL, CmpTarget.modRevision(version)))
            .Then(Op.put(bytes("/app/a"), bytes("4"), PutOption.DEFAULT))
            .Else(Op.get(bytes("/app/a"), GetOption.DEFAULT))
            .commit().get(20, TimeUnit.SECONDS);
        assertTrue(!stale.isSucceeded());
        assertEquals("3", stale.getGetResponses().get(0).getKvs().get(0).getValue()
            .toString(StandardCharsets.UTF_8));
        assertEquals(2, client.getKVClient().delete(bytes("/app/"),
            io.etcd.jetcd.options.DeleteOption.builder().isPrefix(true).build()).get(20, TimeUnit.SECONDS)
            .getDeleted());
    }

    @Test
    void shouldWatchEveryRevisionInOrder() throws Exception {
        final List<WatchEvent> events = new CopyOnWriteArrayList<>();
        final CountDownLatch seen = new CountDownLatch(20);
        try (Watch.Watcher watcher = client.getWatchClient().watch(bytes("/w/"),
            WatchOption.builder().isPrefix(true).withPrevKV(true).build(), response -> {
                for (final WatchEvent event : response.getEvents()) {
                    events.add(event);
                    seen.countDown();
                }
            })) {
            Thread.sleep(500);
            for (int i = 0; i < 10; i++) {
                client.getKVClient().put(bytes("/w/" + (i % 3)), bytes("v" + i)).get(20, TimeUnit.SECONDS);
                client.getKVClient().put(bytes("/w/x"), bytes("x" + i)).get(20, TimeUnit.SECONDS);
            }
            assertTrue(seen.await(20, TimeUnit.SECONDS), "saw " + events.size() + " of 20 events");
        }
        long previous = 0;
        for (final WatchEvent event : events) {
            final KeyValue kv = event.getKeyValue();
            assertTrue(kv.getModRevision() == previous + 1 || previous == 0, "no gap, no duplicate at " + kv);
            previous = kv.getModRevision();
        }
        assertEquals("x8", events.get(events.size() - 1).getPrevKV().getValue().toString(StandardCharsets.UTF_8));
    }

    @Test
    void shouldKeepALeaseAliveAndDropItsKeysOnRevoke() throws Exception {
        final long lease = client.getLeaseClient().grant(2).get(20, TimeUnit.SECONDS).getID();
        client.getKVClient().put(bytes("/lease/k"), bytes("v"), PutOption.builder().withLeaseId(lease).build())
            .get(20, TimeUnit.SECONDS);
        final List<LeaseKeepAliveResponse> answers = new CopyOnWriteArrayList<>();
        try (io.etcd.jetcd.support.CloseableClient keeper = client.getLeaseClient().keepAlive(lease,
            new StreamObserver<>() {
                @Override
                public void onNext(final LeaseKeepAliveResponse value) {
                    answers.add(value);
                }

                @Override
                public void onError(final Throwable error) {
                    // Reported through the assertions below.
                }

                @Override
                public void onCompleted() {
                    // Nothing to do.
                }
            })) {
            Thread.sleep(5_000);
            assertEquals(1, client.getKVClient().get(bytes("/lease/k")).get(20, TimeUnit.SECONDS).getCount(),
                "a lease kept alive outlives its TTL");
            assertTrue(!answers.isEmpty() && answers.get(0).getTTL() == 2, "keep-alive answers: " + answers);
        }
        client.getLeaseClient().revoke(lease).get(20, TimeUnit.SECONDS);
        assertEquals(0, client.getKVClient().get(bytes("/lease/k")).get(20, TimeUnit.SECONDS).getCount());
    }

    @Test
    void shouldReplayALongHistoryInOrderAcrossResponses() throws Exception {
        final int writes = 2_500;
        long first = 0;
        for (int i = 0; i < writes; i += 100) {
            final List<java.util.concurrent.CompletableFuture<io.etcd.jetcd.kv.PutResponse>> batch =
                new java.util.ArrayList<>();
            for (int j = i; j < i + 100; j++) {
                batch.add(client.getKVClient().put(bytes("/history/" + j), bytes("v" + j)));
            }
            for (final java.util.concurrent.CompletableFuture<io.etcd.jetcd.kv.PutResponse> put : batch) {
                final long revision = put.get(20, TimeUnit.SECONDS).getHeader().getRevision();
                first = first == 0 ? revision : Math.min(first, revision);
            }
        }
        final List<WatchEvent> events = new CopyOnWriteArrayList<>();
        final List<Integer> responses = new CopyOnWriteArrayList<>();
        final CountDownLatch all = new CountDownLatch(writes);
        try (Watch.Watcher watcher = client.getWatchClient().watch(bytes("/history/"),
            WatchOption.builder().isPrefix(true).withRevision(first).build(), response -> {
                responses.add(response.getEvents().size());
                for (final WatchEvent event : response.getEvents()) {
                    events.add(event);
                    all.countDown();
                }
            })) {
            assertTrue(all.await(30, TimeUnit.SECONDS), "saw " + events.size() + " of " + writes);
        }
        assertTrue(responses.size() >= 3, "history in pieces, not one response: " + responses);
        for (int i = 1; i < events.size(); i++) {
            assertEquals(events.get(i - 1).getKeyValue().getModRevision() + 1,
                events.get(i).getKeyValue().getModRevision(), "in order, no gap, no duplicate");
        }
    }

    @Test
    void shouldSendARevisionTooLargeForOneMessageInFragmentsOnlyWhenAsked() throws Exception {
        // Three 1 MB values, then one delete of all three: a 3 MB revision with prev_kv.
        final io.grpc.ManagedChannel channel = cairn.channel(0);
        final io.etcd.jetcd.api.KVGrpc.KVBlockingStub kv = io.etcd.jetcd.api.KVGrpc.newBlockingStub(channel)
            .withDeadlineAfter(20, TimeUnit.SECONDS);
        long first = 0;
        for (int i = 0; i < 3; i++) {
            final long revision = kv.put(io.etcd.jetcd.api.PutRequest.newBuilder()
                .setKey(com.google.protobuf.ByteString.copyFromUtf8("frag/" + i))
                .setValue(com.google.protobuf.ByteString.copyFrom(new byte[1_000_000])).build())
                .getHeader().getRevision();
            first = first == 0 ? revision : first;
        }
        kv.deleteRange(io.etcd.jetcd.api.DeleteRangeRequest.newBuilder()
            .setKey(com.google.protobuf.ByteString.copyFromUtf8("frag/"))
            .setRangeEnd(com.google.protobuf.ByteString.copyFromUtf8("frag0")).build());
        final List<io.etcd.jetcd.api.WatchResponse> fragmented = watchAll(channel, first, true);
        final List<io.etcd.jetcd.api.WatchResponse> whole = watchAll(channel, first, false);
        assertTrue(fragmented.stream().anyMatch(JetcdCompatibilityIT::isFragment), "some fragments");
        assertTrue(!isFragment(fragmented.get(fragmented.size() - 1)), "the last piece ends the response");
        for (final io.etcd.jetcd.api.WatchResponse response : fragmented) {
            assertTrue(response.getSerializedSize() < 3 << 20, "a fragment holds at most 1.5 MiB and one event");
        }
        assertTrue(whole.stream().noneMatch(JetcdCompatibilityIT::isFragment), "no fragments unless asked");
        assertTrue(whole.stream().anyMatch(response -> response.getEventsList().stream()
            .filter(event -> event.getType() == io.etcd.jetcd.api.Event.EventType.DELETE).count() == 3),
            "without fragments a revision is never split");
    }

    private static boolean isFragment(final io.etcd.jetcd.api.WatchResponse response) {
        final var field = response.getUnknownFields().getField(7);
        return field != null && !field.getVarintList().isEmpty() && field.getVarintList().get(0) == 1;
    }

    /** Watches frag/ from {@code start} until all six events came; returns the responses that carried events. */
    private static List<io.etcd.jetcd.api.WatchResponse> watchAll(final io.grpc.ManagedChannel channel,
        final long start, final boolean fragment) throws Exception {
        final List<io.etcd.jetcd.api.WatchResponse> responses = new CopyOnWriteArrayList<>();
        final CountDownLatch six = new CountDownLatch(6);
        final io.grpc.stub.StreamObserver<io.etcd.jetcd.api.WatchRequest> requests =
            io.etcd.jetcd.api.WatchGrpc.newStub(channel).watch(new io.grpc.stub.StreamObserver<>() {
                @Override
                public void onNext(final io.etcd.jetcd.api.WatchResponse response) {
                    if (response.getEventsCount() > 0) {
                        responses.add(response);
                        response.getEventsList().forEach(event -> six.countDown());
                    }
                }

                @Override
                public void onError(final Throwable error) {
                }

                @Override
                public void onCompleted() {
                }
            });
        final io.etcd.jetcd.api.WatchCreateRequest.Builder create = io.etcd.jetcd.api.WatchCreateRequest.newBuilder()
            .setKey(com.google.protobuf.ByteString.copyFromUtf8("frag/"))
            .setRangeEnd(com.google.protobuf.ByteString.copyFromUtf8("frag0")).setStartRevision(start).setPrevKv(true);
        if (fragment) {
            create.setUnknownFields(com.google.protobuf.UnknownFieldSet.newBuilder().addField(8,
                com.google.protobuf.UnknownFieldSet.Field.newBuilder().addVarint(1).build()).build());
        }
        requests.onNext(io.etcd.jetcd.api.WatchRequest.newBuilder().setCreateRequest(create).build());
        assertTrue(six.await(30, TimeUnit.SECONDS), "six events, fragments " + fragment);
        requests.onCompleted();
        return responses;
    }
}
