package io.cairn.server;

import io.etcd.jetcd.api.WatchCreateRequest;
import io.etcd.jetcd.api.WatchGrpc;
import io.etcd.jetcd.api.WatchRequest;
import io.etcd.jetcd.api.WatchResponse;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * Goal: etcd's require-leader watches ({@code hasleader: true} metadata, clientv3's {@code WithRequireLeader}): ended
 * with "etcdserver: no leader" once their member has been without a leader for a few seconds, refused at once on a
 * member without one, while ordinary watches stay open. Method: three {@code cairn member} processes; on the third,
 * one watch with the metadata and one without; the other two are SIGKILLed.
 */
class WatchRequireLeaderIT {
    @TempDir
    Path dir;

    @AutoClose
    private ProcessCluster cairn;

    private CompletableFuture<Status> watch(final boolean requireLeader) {
        final CompletableFuture<Status> ended = new CompletableFuture<>();
        WatchGrpc.WatchStub stub = WatchGrpc.newStub(cairn.channel(2));
        if (requireLeader) {
            final Metadata headers = new Metadata();
            headers.put(Metadata.Key.of("hasleader", Metadata.ASCII_STRING_MARSHALLER), "true");
            stub = stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
        }
        final StreamObserver<WatchRequest> requests = stub.watch(new StreamObserver<>() {
            @Override
            public void onNext(final WatchResponse response) {
            }

            @Override
            public void onError(final Throwable error) {
                ended.complete(Status.fromThrowable(error));
            }

            @Override
            public void onCompleted() {
                ended.complete(Status.OK);
            }
        });
        requests.onNext(WatchRequest.newBuilder().setCreateRequest(WatchCreateRequest.newBuilder()
            .setKey(com.google.protobuf.ByteString.copyFromUtf8("k"))).build());
        return ended;
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void shouldEndRequireLeaderWatchesWhenTheMemberLosesItsLeader() throws Exception {
        cairn = ProcessCluster.startCairn(dir, "WatchRequireLeaderIT", 3);
        Await.until("a leader", 30, () -> cairn.leader() >= 0);
        final CompletableFuture<Status> required = watch(true);
        final CompletableFuture<Status> ordinary = watch(false);
        Thread.sleep(1_000);
        assertFalse(required.isDone(), "a leader is known: the watch stays");
        cairn.kill(0);
        cairn.kill(1);
        final Status ended = required.get(30, TimeUnit.SECONDS);
        assertEquals(Status.Code.UNAVAILABLE, ended.getCode());
        assertEquals("etcdserver: no leader", ended.getDescription());
        assertFalse(ordinary.isDone(), "a watch that did not ask for a leader stays open");
        final Status refused = watch(true).get(10, TimeUnit.SECONDS);
        assertEquals("etcdserver: no leader", refused.getDescription());
    }
}
