package io.cairn.server;

import io.etcd.jetcd.api.WatchResponse;
import io.grpc.stub.StreamObserver;

import java.util.concurrent.CountDownLatch;
import java.util.function.Consumer;

/** The fault suites' watch streams: each response to a handler, the stream's end (error or completion) to a latch. */
final class WatchStreams {
    private WatchStreams() {
    }

    /**
     * @param onResponse told each response.
     * @param ended      counted down when the stream ends, however it ends.
     * @return the observer to give {@code WatchGrpc.newStub(channel).watch(...)}.
     */
    static StreamObserver<WatchResponse> observer(final Consumer<WatchResponse> onResponse,
        final CountDownLatch ended) {
        return new StreamObserver<>() {
            @Override
            public void onNext(final WatchResponse response) {
                onResponse.accept(response);
            }

            @Override
            public void onError(final Throwable error) {
                ended.countDown();
            }

            @Override
            public void onCompleted() {
                ended.countDown();
            }
        };
    }
}
