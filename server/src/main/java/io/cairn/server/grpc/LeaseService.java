package io.cairn.server.grpc;

import com.google.protobuf.ByteString;
import io.cairn.consensus.keyspace.LeaseKeeper;
import io.cairn.engine.mvcc.MvccError;
import io.cairn.engine.mvcc.MvccResponse;
import io.cairn.engine.mvcc.MvccValidator;
import io.cairn.server.auth.AuthStore;
import io.cairn.server.node.EtcdStatus;
import io.cairn.server.node.Node;
import io.etcd.jetcd.api.LeaseGrantRequest;
import io.etcd.jetcd.api.LeaseGrantResponse;
import io.etcd.jetcd.api.LeaseGrpc;
import io.etcd.jetcd.api.LeaseKeepAliveRequest;
import io.etcd.jetcd.api.LeaseKeepAliveResponse;
import io.etcd.jetcd.api.LeaseRevokeRequest;
import io.etcd.jetcd.api.LeaseRevokeResponse;
import io.etcd.jetcd.api.LeaseTimeToLiveRequest;
import io.etcd.jetcd.api.LeaseTimeToLiveResponse;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.WireFormat;
import io.grpc.ManagedChannel;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * etcd's Lease service. Grant and revoke are proposals (the ID is chosen here when the client leaves it 0, so every
 * member applies the same one); keep-alive and time-to-live ask the leader's lease keeper, which alone keeps lease
 * time: a follower's keeper relays them to the leader inside Raft (the embedded node's path); only while no leader is
 * known does this service fall back to the leader's client port. TTLs below etcd's minimum are raised to it, as etcd
 * does.
 */
public final class LeaseService extends LeaseGrpc.LeaseImplBase {
    private static final ThreadLocal<EtcdCommands> COMMANDS = ThreadLocal.withInitial(EtcdCommands::new);

    private final Node node;
    private final AuthStore auth;

    /**
     * @param node the member it serves.
     * @param auth its authentication state (checks of the caller; none while authentication is disabled).
     */
    public LeaseService(final Node node, final AuthStore auth) {
        this.node = node;
        this.auth = auth;
    }

    @Override
    public void leaseGrant(final LeaseGrantRequest request, final StreamObserver<LeaseGrantResponse> observer) {
        if (request.getTTL() > MvccValidator.LEASE_TTL_MAX) {
            observer.onError(EtcdStatus.exception(MvccError.LEASE_TTL_TOO_LARGE));
            return;
        }
        final long ttl = Math.max(request.getTTL(), Node.LEASE_TTL_MIN);
        final long id = request.getID() != 0 ? request.getID() : node.newLeaseId();
        final EtcdCommands commands = COMMANDS.get();
        commands.leaseGrant(id, ttl);
        final int verdict = node.validate(commands.buffer(), commands.length());
        if (verdict != MvccError.OK) {
            observer.onError(EtcdStatus.exception(verdict));
            return;
        }
        node.write(commands.buffer(), commands.length(),
            response -> LeaseGrantResponse.newBuilder().setHeader(node.header(MvccResponse.revision(response, 0)))
                .setID(id).setTTL(ttl).build(), observer);
    }

    @Override
    public void leaseRevoke(final LeaseRevokeRequest request, final StreamObserver<LeaseRevokeResponse> observer) {
        try {
            checkLeaseKeys(request.getID(), true);
        } catch (final io.grpc.StatusRuntimeException ex) {
            observer.onError(ex);
            return;
        }
        final EtcdCommands commands = COMMANDS.get();
        commands.leaseRevoke(request.getID());
        node.write(commands.buffer(), commands.length(),
            response -> LeaseRevokeResponse.newBuilder()
                .setHeader(node.header(MvccResponse.revision(response, 0))).build(), observer);
    }

    @Override
    public StreamObserver<LeaseKeepAliveRequest> leaseKeepAlive(
        final StreamObserver<LeaseKeepAliveResponse> observer) {
        final String token = AuthStore.TOKEN.get();
        return new StreamObserver<>() {
            private StreamObserver<LeaseKeepAliveRequest> relay;
            /** Answers still to come from this member; a half-close ends the stream only after them (as etcd). */
            private int pending;
            private boolean halfClosed;

            @Override
            public synchronized void onNext(final LeaseKeepAliveRequest request) {
                if (relay != null) {
                    relay.onNext(request);
                    return;
                }
                pending++;
                // Async: the answer arrives on the Raft loop's thread, which must never wait on a client.
                ask(LeaseKeeper.KEEP_ALIVE, request.getID()).whenCompleteAsync((answer, error) -> {
                    try {
                        answer(request, answer, error);
                    } finally {
                        answered();
                    }
                }, node.executor());
            }

            private void answer(final LeaseKeepAliveRequest request, final long[] answer, final Throwable error) {
                if (error != null) {
                    send(observer, null, EtcdStatus.of(error));
                    return;
                }
                if (answer[0] == LeaseKeeper.NOT_LEADER) {
                    final ManagedChannel leader = node.awaitLeader() ? node.leaderChannel() : null;
                    if (leader == null) {
                        send(observer, null, EtcdStatus.noLeader());
                        return;
                    }
                    synchronized (this) {
                        if (relay == null) {
                            relay = relayStub(leader, token).leaseKeepAlive(new Relay<>(observer));
                        }
                        relay.onNext(request);
                    }
                    return;
                }
                final long ttl = answer[0] == LeaseKeeper.OK ? answer[1] : 0;
                send(observer, LeaseKeepAliveResponse.newBuilder().setHeader(node.header(revision()))
                    .setID(request.getID()).setTTL(ttl).build(), null);
            }

            private synchronized void answered() {
                pending--;
                if (halfClosed && pending == 0) {
                    finish();
                }
            }

            private void finish() {
                if (relay != null) {
                    relay.onCompleted(); // the leader ends it after its answers; Relay passes that on
                    return;
                }
                synchronized (observer) {
                    try {
                        observer.onCompleted();
                    } catch (final IllegalStateException ex) {
                        // Already closed (an error was sent).
                    }
                }
            }

            @Override
            public synchronized void onError(final Throwable error) {
                if (relay != null) {
                    relay.onError(error);
                }
            }

            @Override
            public synchronized void onCompleted() {
                halfClosed = true;
                if (pending == 0) {
                    finish();
                }
            }
        };
    }

    private static <T> void send(final StreamObserver<T> observer, final T value, final RuntimeException error) {
        synchronized (observer) {
            try {
                if (error != null) {
                    observer.onError(error);
                } else {
                    observer.onNext(value);
                }
            } catch (final IllegalStateException | io.grpc.StatusRuntimeException ex) {
                // The call is already closed: nothing to tell.
            }
        }
    }

    /** Passes the leader's answers back to our caller. */
    private static final class Relay<T> implements StreamObserver<T> {
        private final StreamObserver<T> caller;

        Relay(final StreamObserver<T> caller) {
            this.caller = caller;
        }

        @Override
        public void onNext(final T value) {
            send(caller, value, null);
        }

        @Override
        public void onError(final Throwable error) {
            send(caller, null, EtcdStatus.of(error));
        }

        @Override
        public void onCompleted() {
            synchronized (caller) {
                try {
                    caller.onCompleted();
                } catch (final IllegalStateException ex) {
                    // Already closed.
                }
            }
        }
    }

    private CompletableFuture<long[]> ask(final byte type, final long leaseId) {
        return node.leaseRequest(type, leaseId);
    }

    private long revision() {
        return node.read(reader -> reader.revision());
    }

    /**
     * etcd's checks of a lease's keys: revoking deletes them (write on every one, or root); listing them with
     * time-to-live shows them (read on every one, or root).
     */
    private void checkLeaseKeys(final long leaseId, final boolean write) {
        final AuthStore.Caller caller = auth.caller();
        if (caller == null || auth.isAdmin(caller)) {
            return;
        }
        auth.requireUser(caller);
        final List<byte[]> keys = new ArrayList<>();
        node.read(reader -> reader.leaseKeys(leaseId, (buffer, offset, length) -> {
            final byte[] key = new byte[length];
            buffer.getBytes(offset, key);
            keys.add(key);
        }));
        for (final byte[] key : keys) {
            if (write) {
                auth.checkWrite(caller, key, new byte[0]);
            } else {
                auth.checkRead(caller, key, new byte[0]);
            }
        }
    }

    /** A stub to the leader that carries the caller's token, so the leader checks the same caller. */
    private static LeaseGrpc.LeaseStub relayStub(final ManagedChannel leader, final String token) {
        final LeaseGrpc.LeaseStub stub = LeaseGrpc.newStub(leader);
        if (token == null) {
            return stub;
        }
        final io.grpc.Metadata headers = new io.grpc.Metadata();
        headers.put(io.grpc.Metadata.Key.of("token", io.grpc.Metadata.ASCII_STRING_MARSHALLER), token);
        return stub.withInterceptors(io.grpc.stub.MetadataUtils.newAttachHeadersInterceptor(headers));
    }

    @Override
    public void leaseTimeToLive(final LeaseTimeToLiveRequest request,
        final StreamObserver<LeaseTimeToLiveResponse> observer) {
        if (request.getKeys()) {
            try {
                checkLeaseKeys(request.getID(), false);
            } catch (final io.grpc.StatusRuntimeException ex) {
                observer.onError(ex);
                return;
            }
        }
        final String token = AuthStore.TOKEN.get();
        ask(LeaseKeeper.TIME_TO_LIVE, request.getID()).whenCompleteAsync((answer, error) -> {
            if (error != null) {
                observer.onError(EtcdStatus.of(error));
                return;
            }
            if (answer[0] == LeaseKeeper.NOT_LEADER) {
                final ManagedChannel leader = node.awaitLeader() ? node.leaderChannel() : null;
                if (leader == null) {
                    observer.onError(EtcdStatus.noLeader());
                } else {
                    relayStub(leader, token).leaseTimeToLive(request, observer);
                }
                return;
            }
            final LeaseTimeToLiveResponse response = node.read(reader -> {
                final LeaseTimeToLiveResponse.Builder builder = LeaseTimeToLiveResponse.newBuilder()
                    .setHeader(node.header(reader.revision())).setID(request.getID());
                final long granted = reader.leaseTtl(request.getID());
                if (answer[0] != LeaseKeeper.OK || granted < 0) {
                    return builder.setTTL(-1).build(); // etcd's answer for a lease that is gone
                }
                builder.setTTL(answer[1]).setGrantedTTL(granted);
                if (request.getKeys()) {
                    final List<ByteString> keys = new ArrayList<>();
                    reader.leaseKeys(request.getID(), (buffer, offset, length) -> {
                        final byte[] key = new byte[length];
                        buffer.getBytes(offset, key);
                        keys.add(ByteString.copyFrom(key));
                    });
                    builder.addAllKeys(keys);
                }
                return builder.build();
            });
            observer.onNext(response);
            observer.onCompleted();
        }, node.executor());
    }

    /**
     * etcd 3.4's Lease/LeaseLeases, which the stubs' (older) proto lacks: this service's definition plus that
     * method, its messages encoded by hand (request: empty; response: header = 1, repeated LeaseStatus{int64 ID = 1}
     * = 2).
     *
     * @return the service definition to register.
     */
    public ServerServiceDefinition definition() {
        final ServerServiceDefinition base = bindService();
        final ServerServiceDefinition.Builder builder = ServerServiceDefinition.builder(LeaseGrpc.SERVICE_NAME);
        base.getMethods().forEach(builder::addMethod);
        builder.addMethod(io.cairn.server.node.LeaseLeases.METHOD, ServerCalls.asyncUnaryCall((request, observer) -> {
            final byte[] response = node.read(reader -> {
                try {
                    final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
                    final CodedOutputStream out = CodedOutputStream.newInstance(bytes);
                    out.writeMessage(1, node.header(reader.revision()));
                    reader.leases((leaseId, ttl) -> {
                        try {
                            out.writeTag(2, WireFormat.WIRETYPE_LENGTH_DELIMITED);
                            out.writeUInt32NoTag(CodedOutputStream.computeInt64Size(1, leaseId));
                            out.writeInt64(1, leaseId);
                        } catch (final IOException ex) {
                            throw new UncheckedIOException(ex);
                        }
                    });
                    out.flush();
                    return bytes.toByteArray();
                } catch (final IOException ex) {
                    throw new UncheckedIOException(ex);
                }
            });
            observer.onNext(response);
            observer.onCompleted();
        }));
        return builder.build();
    }
}
