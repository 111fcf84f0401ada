package io.cairn.server.proxy;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.HandlerRegistry;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.Status;
import io.cairn.server.node.RawBytes;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Every etcd v3 call the proxy does not handle itself, relayed to the cluster as bytes, unparsed: unary and streaming
 * alike (a snapshot streams through), with gRPC's flow control end to end (a message is asked of one side only when
 * the other can take it), the caller's headers (its auth token) and deadline carried up, the cluster's headers,
 * status and trailers carried back, and a cancelled call cancelled upstream. Only etcd's services are relayed: any
 * other method is UNIMPLEMENTED here, as on a member.
 */
final class PassThrough extends HandlerRegistry {
    private static final Set<String> SERVICES = Set.of("etcdserverpb.KV", "etcdserverpb.Watch", "etcdserverpb.Lease",
        "etcdserverpb.Cluster", "etcdserverpb.Maintenance", "etcdserverpb.Auth", "v3lockpb.Lock",
        "v3electionpb.Election", "grpc.health.v1.Health");
    private static final MethodDescriptor.Marshaller<byte[]> BYTES = RawBytes.INSTANCE;

    private final Channel upstream;
    private final Set<String> refused;
    private final Map<String, ServerMethodDefinition<byte[], byte[]>> methods = new ConcurrentHashMap<>();

    /**
     * @param upstream the cluster, with the caller's headers ({@link Upstream#forwarding()}).
     * @param refused  full method names answered PERMISSION_DENIED instead (a namespaced proxy's whole-keyspace
     *                 calls).
     */
    PassThrough(final Channel upstream, final Set<String> refused) {
        this.upstream = upstream;
        this.refused = Set.copyOf(refused);
    }

    @Override
    public ServerMethodDefinition<?, ?> lookupMethod(final String name, final String authority) {
        final int slash = name.indexOf('/');
        if (slash < 0 || !SERVICES.contains(name.substring(0, slash))) {
            return null;
        }
        return methods.computeIfAbsent(name, full -> ServerMethodDefinition.create(
            MethodDescriptor.<byte[], byte[]>newBuilder(BYTES, BYTES).setFullMethodName(full)
                .setType(MethodDescriptor.MethodType.UNKNOWN).build(),
            refused.contains(full) ? new Refuse() : new Relay()));
    }

    /** Answers PERMISSION_DENIED. */
    private static final class Refuse implements ServerCallHandler<byte[], byte[]> {
        @Override
        public ServerCall.Listener<byte[]> startCall(final ServerCall<byte[], byte[]> call, final Metadata headers) {
            call.close(Status.PERMISSION_DENIED.withDescription(
                "etcdserver: not served by a namespaced grpc-proxy (it would read outside the namespace)"),
                new Metadata());
            return new ServerCall.Listener<>() {
            };
        }
    }

    /** One call relayed. Every method of both calls runs under the relay's lock: neither call is thread-safe. */
    private final class Relay implements ServerCallHandler<byte[], byte[]> {
        @Override
        public ServerCall.Listener<byte[]> startCall(final ServerCall<byte[], byte[]> server, final Metadata headers) {
            final Deadline deadline = Context.current().getDeadline();
            final ClientCall<byte[], byte[]> client = upstream.newCall(server.getMethodDescriptor(),
                deadline == null ? CallOptions.DEFAULT : CallOptions.DEFAULT.withDeadline(deadline));
            final Object lock = new Object();
            final boolean[] serverWants = {false};
            final boolean[] clientWants = {false};
            synchronized (lock) {
                client.start(new ClientCall.Listener<>() {
                    @Override
                    public void onHeaders(final Metadata answer) {
                        synchronized (lock) {
                            server.sendHeaders(answer);
                        }
                    }

                    @Override
                    public void onMessage(final byte[] message) {
                        synchronized (lock) {
                            server.sendMessage(message);
                            if (server.isReady()) {
                                client.request(1);
                            } else {
                                serverWants[0] = true;
                            }
                        }
                    }

                    @Override
                    public void onClose(final Status status, final Metadata trailers) {
                        synchronized (lock) {
                            try {
                                server.close(status, trailers);
                            } catch (final IllegalStateException ex) {
                                // The caller went first.
                            }
                        }
                    }

                    @Override
                    public void onReady() {
                        synchronized (lock) {
                            if (clientWants[0] && client.isReady()) {
                                clientWants[0] = false;
                                server.request(1);
                            }
                        }
                    }
                }, new Metadata());
                client.request(1);
                server.request(1);
            }
            return new ServerCall.Listener<>() {
                @Override
                public void onMessage(final byte[] message) {
                    synchronized (lock) {
                        client.sendMessage(message);
                        if (client.isReady()) {
                            server.request(1);
                        } else {
                            clientWants[0] = true;
                        }
                    }
                }

                @Override
                public void onHalfClose() {
                    synchronized (lock) {
                        client.halfClose();
                    }
                }

                @Override
                public void onCancel() {
                    synchronized (lock) {
                        client.cancel("the caller cancelled", null);
                    }
                }

                @Override
                public void onReady() {
                    synchronized (lock) {
                        if (serverWants[0] && server.isReady()) {
                            serverWants[0] = false;
                            client.request(1);
                        }
                    }
                }
            };
        }
    }
}
