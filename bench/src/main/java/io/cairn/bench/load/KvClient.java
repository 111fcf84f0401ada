package io.cairn.bench.load;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.RequestOp;
import io.etcd.jetcd.api.TxnRequest;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.grpc.stub.StreamObserver;

import javax.net.ssl.SSLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Sends etcd KV requests over {@link LoadConfig#connectionCount} gRPC channels, channel {@code i} to endpoint
 * {@code i mod endpoints}, each request on the next channel round-robin, with the run's deadline; answers arrive on
 * Netty's event loop ({@code directExecutor}: no thread hand-off per response, which on a small machine would cost
 * the server under test CPU).
 *
 * <p>Request objects are built per call: allocation is accepted at the gRPC edge.
 */
final class KvClient implements AutoCloseable {
    /** Told once how a request ended. Runs on a Netty event-loop thread: it must not block. */
    interface Completion {
        /**
         * @param code {@link Status.Code#OK} if answered, else the status the call failed with.
         */
        void completed(Status.Code code);
    }

    private final LoadConfig config;
    private final List<ManagedChannel> channels = new ArrayList<>();
    private final KVGrpc.KVStub[] stubs;
    private final AtomicInteger nextChannel = new AtomicInteger();
    private final ByteString value;

    /**
     * @param config the run; channels connect lazily, on the first request.
     */
    KvClient(final LoadConfig config) {
        this.config = config;
        stubs = new KVGrpc.KVStub[config.connectionCount];
        final SslContext tls = tls(config);
        for (int i = 0; i < config.connectionCount; i++) {
            final String endpoint = config.endpoints.get(i % config.endpoints.size());
            final NettyChannelBuilder builder = NettyChannelBuilder.forTarget(endpoint)
                .directExecutor()
                .maxInboundMessageSize(LoadConfig.VALUE_BYTES_MAX + LoadConfig.KEY_BYTES_MAX + 4096);
            final ManagedChannel channel = (tls == null ? builder.usePlaintext() : builder.sslContext(tls)).build();
            channels.add(channel);
            stubs[i] = KVGrpc.newStub(channel);
        }
        if (config.user != null) {
            // etcd's clients authenticate once and send the token with every call.
            final String token = io.etcd.jetcd.api.AuthGrpc.newBlockingStub(channels.get(0))
                .withDeadlineAfter(config.timeoutNs, TimeUnit.NANOSECONDS).authenticate(
                    io.etcd.jetcd.api.AuthenticateRequest.newBuilder().setName(config.user[0])
                        .setPassword(config.user[1]).build()).getToken();
            final io.grpc.Metadata headers = new io.grpc.Metadata();
            headers.put(io.grpc.Metadata.Key.of("token", io.grpc.Metadata.ASCII_STRING_MARSHALLER), token);
            for (int i = 0; i < stubs.length; i++) {
                stubs[i] = stubs[i].withInterceptors(io.grpc.stub.MetadataUtils.newAttachHeadersInterceptor(headers));
            }
        }
        final byte[] valueBytes = new byte[config.valueBytes];
        ThreadLocalRandom.current().nextBytes(valueBytes);
        value = ByteString.copyFrom(valueBytes);
    }

    private static SslContext tls(final LoadConfig config) {
        if (config.caCert == null) {
            return null;
        }
        try {
            final SslContextBuilder builder = GrpcSslContexts.forClient().trustManager(config.caCert.toFile());
            if (config.clientCert != null) {
                builder.keyManager(config.clientCert.toFile(), config.clientKey.toFile());
            }
            return builder.build();
        } catch (final SSLException | IllegalArgumentException ex) {
            throw new IllegalArgumentException("--cacert/--cert/--key: " + ex.getMessage(), ex);
        }
    }

    /**
     * @param index a key's index, 0 to keyCount - 1.
     * @param keyBytes the key size; holds the index in decimal.
     * @return the key: the index in decimal, zero-padded on the left to {@code keyBytes}.
     */
    static byte[] key(final long index, final int keyBytes) {
        final byte[] key = new byte[keyBytes];
        long rest = index;
        for (int i = keyBytes - 1; i >= 0; i--) {
            key[i] = (byte)('0' + rest % 10);
            rest /= 10;
        }
        if (rest != 0) {
            throw new IllegalArgumentException("key index " + index + " does not fit in " + keyBytes + " bytes");
        }
        return key;
    }

    /**
     * Sends one request; {@code completion} is told how it ended, possibly before this returns.
     *
     * @param type what to send.
     * @param keyIndex the key (a transaction's puts go to it and the keys after it, wrapping).
     * @param completion told once, on a Netty thread or this one.
     */
    void call(final OpType type, final long keyIndex, final Completion completion) {
        final KVGrpc.KVStub stub = stubs[Math.floorMod(nextChannel.getAndIncrement(), stubs.length)]
            .withDeadlineAfter(config.timeoutNs, TimeUnit.NANOSECONDS);
        final ByteString key = ByteString.copyFrom(key(keyIndex, config.keyBytes));
        switch (type) {
            case PUT -> stub.put(PutRequest.newBuilder().setKey(key).setValue(value).build(),
                new Observer<>(completion));
            case RANGE -> stub.range(RangeRequest.newBuilder().setKey(key).setSerializable(config.serializable)
                .build(), new Observer<>(completion));
            case TXN -> {
                final TxnRequest.Builder txn = TxnRequest.newBuilder();
                for (int i = 0; i < config.txnOpCount; i++) {
                    final ByteString opKey = i == 0 ? key
                        : ByteString.copyFrom(key((keyIndex + i) % config.keyCount, config.keyBytes));
                    txn.addSuccess(RequestOp.newBuilder()
                        .setRequestPut(PutRequest.newBuilder().setKey(opKey).setValue(value)));
                }
                stub.txn(txn.build(), new Observer<>(completion));
            }
            default -> throw new IllegalStateException("unknown op " + type);
        }
    }

    @Override
    public void close() throws InterruptedException {
        for (final ManagedChannel channel : channels) {
            channel.shutdown();
        }
        for (final ManagedChannel channel : channels) {
            if (!channel.awaitTermination(5, TimeUnit.SECONDS)) {
                channel.shutdownNow();
            }
        }
    }

    /** Ignores the response body: the generator measures time and status, not contents; the first failure is told. */
    private static final class Observer<T> implements StreamObserver<T> {
        private static final java.util.concurrent.atomic.AtomicBoolean TOLD =
            new java.util.concurrent.atomic.AtomicBoolean();

        private final Completion completion;

        Observer(final Completion completion) {
            this.completion = completion;
        }

        @Override
        public void onNext(final T response) {
            // Only the call's end and status matter.
        }

        @Override
        public void onError(final Throwable error) {
            final Status status = Status.fromThrowable(error);
            if (!TOLD.getAndSet(true)) {
                System.err.println("load: the first failed request: " + status.getCode() + " " + status.getDescription()
                    + (status.getCause() == null ? "" : " (" + status.getCause() + ")"));
            }
            completion.completed(status.getCode());
        }

        @Override
        public void onCompleted() {
            completion.completed(Status.Code.OK);
        }
    }
}
