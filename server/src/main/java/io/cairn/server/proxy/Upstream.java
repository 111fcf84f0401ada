package io.cairn.server.proxy;

import io.etcd.jetcd.api.ClusterGrpc;
import io.etcd.jetcd.api.Member;
import io.etcd.jetcd.api.MemberListRequest;
import io.etcd.jetcd.api.MemberListResponse;
import io.grpc.Attributes;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ClientInterceptors;
import io.grpc.Context;
import io.grpc.EquivalentAddressGroup;
import io.grpc.ForwardingClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.NameResolver;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.SslContext;

import java.net.InetSocketAddress;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The proxy's connection to the cluster: one gRPC channel over every member's client URL, calls spread round-robin
 * over the members it can reach (a member that dies leaves the rotation when its connection breaks; calls that never
 * reached it are retried by gRPC on another, and reads that failed UNAVAILABLE are retried up to twice), and the
 * member list followed: every {@code syncIntervalMs} the proxy asks the cluster for its members and connects to the
 * client URLs of the voting ones (etcd's client auto-sync), so a member added or replaced is used without a restart.
 *
 * <p>{@link #forwarding()} is the channel the proxy's services call through: it copies the caller's metadata (its
 * auth {@code token}, {@code hasleader} and the rest, captured by {@link #CAPTURE}) onto the upstream call.
 */
final class Upstream implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Upstream.class.getName());
    /** The caller's request headers, for the upstream call made on its behalf. */
    static final Context.Key<Metadata> CALLER = Context.key("cairn-proxy-caller");
    /** Headers a proxy never copies: gRPC's own and HTTP/2's. */
    private static final Set<String> HOP_BY_HOP = Set.of("content-type", "user-agent", "te", "host", "connection",
        "accept-encoding");
    static final Metadata.Key<String> TOKEN = Metadata.Key.of("token", Metadata.ASCII_STRING_MARSHALLER);

    /** Puts the caller's headers in its call's context. */
    static final io.grpc.ServerInterceptor CAPTURE = new io.grpc.ServerInterceptor() {
        @Override
        public <Q, A> io.grpc.ServerCall.Listener<Q> interceptCall(final io.grpc.ServerCall<Q, A> call,
            final Metadata headers, final io.grpc.ServerCallHandler<Q, A> next) {
            return io.grpc.Contexts.interceptCall(Context.current().withValue(CALLER, headers), call, headers, next);
        }
    };

    private final ManagedChannel channel;
    private final Channel forwarding;
    private final SslContext tls;
    private final int maxInbound;
    private final ScheduledExecutorService sync;
    private volatile List<String> endpoints;
    private volatile NameResolver.Listener2 listener;

    /**
     * @param endpoints      the members' client endpoints ({@code host:port} or URLs), at least one.
     * @param tls            TLS toward the members, or null.
     * @param maxInbound     the largest message accepted from the members.
     * @param syncIntervalMs how often the member list is read again (0: never).
     */
    @SuppressWarnings("deprecation") // nameResolverFactory: the per-channel way to give a resolver in this grpc-java
    Upstream(final List<String> endpoints, final SslContext tls, final int maxInbound, final long syncIntervalMs) {
        if (endpoints.isEmpty()) {
            throw new IllegalArgumentException("--endpoints: no endpoint given");
        }
        this.endpoints = List.copyOf(endpoints.stream().map(Upstream::hostPort).toList());
        for (final String endpoint : this.endpoints) {
            address(endpoint); // a malformed endpoint is a usage error, now
        }
        final NettyChannelBuilder builder = NettyChannelBuilder.forTarget("cairn-cluster:///members")
            .nameResolverFactory(new Factory())
            .defaultLoadBalancingPolicy("round_robin")
            .directExecutor() // answers are relayed on the event loop that read them (nothing here blocks)
            .defaultServiceConfig(retryReads())
            .enableRetry()
            .maxInboundMessageSize(maxInbound)
            .keepAliveTime(30, TimeUnit.SECONDS)
            .keepAliveTimeout(10, TimeUnit.SECONDS);
        this.channel = (tls == null ? builder.usePlaintext() : builder.sslContext(tls)).build();
        this.tls = tls;
        this.maxInbound = maxInbound;
        this.forwarding = ClientInterceptors.intercept(channel, new CopyCallerHeaders());
        this.sync = Executors.newSingleThreadScheduledExecutor(runnable -> {
            final Thread thread = new Thread(runnable, "cairn-proxy-member-sync");
            thread.setDaemon(true);
            return thread;
        });
        if (syncIntervalMs > 0) {
            sync.scheduleWithFixedDelay(this::syncMembers, syncIntervalMs, syncIntervalMs, TimeUnit.MILLISECONDS);
        }
    }

    /** gRPC's retry policy for the calls that only read: UNAVAILABLE (a member died mid-call) is tried again. */
    private static Map<String, ?> retryReads() {
        final List<Map<String, Object>> names = new ArrayList<>();
        for (final String[] method : new String[][] {{"etcdserverpb.KV", "Range"},
            {"etcdserverpb.Lease", "LeaseTimeToLive"}, {"etcdserverpb.Lease", "LeaseLeases"},
            {"etcdserverpb.Cluster", "MemberList"}, {"etcdserverpb.Maintenance", "Status"},
            {"etcdserverpb.Maintenance", "Hash"}, {"etcdserverpb.Maintenance", "HashKV"},
            {"etcdserverpb.Auth", "UserGet"}, {"etcdserverpb.Auth", "UserList"}, {"etcdserverpb.Auth", "RoleGet"},
            {"etcdserverpb.Auth", "RoleList"}, {"v3electionpb.Election", "Leader"}}) {
            names.add(Map.of("service", method[0], "method", method[1]));
        }
        final Map<String, Object> policy = Map.of("maxAttempts", 3.0, "initialBackoff", "0.05s",
            "maxBackoff", "0.5s", "backoffMultiplier", 2.0, "retryableStatusCodes", List.of("UNAVAILABLE"));
        return Map.of("methodConfig", List.of(Map.of("name", names, "retryPolicy", policy)));
    }

    /**
     * @param endpoint {@code host:port}, or a URL.
     * @return {@code host:port}.
     */
    static String hostPort(final String endpoint) {
        final String trimmed = endpoint.strip();
        if (trimmed.contains("://")) {
            final URI uri = URI.create(trimmed);
            if (uri.getHost() == null || uri.getPort() < 0) {
                throw new IllegalArgumentException("endpoint " + endpoint + ": a URL needs a host and a port");
            }
            return uri.getHost() + ":" + uri.getPort();
        }
        return trimmed;
    }

    static InetSocketAddress address(final String hostPort) {
        final int colon = hostPort.lastIndexOf(':');
        if (colon <= 0) {
            throw new IllegalArgumentException("endpoint " + hostPort + ": expected host:port");
        }
        final String host = hostPort.substring(0, colon).replace("[", "").replace("]", "");
        try {
            return new InetSocketAddress(host, Integer.parseInt(hostPort.substring(colon + 1)));
        } catch (final IllegalArgumentException ex) {
            throw new IllegalArgumentException("endpoint " + hostPort + ": " + ex.getMessage(), ex);
        }
    }

    /**
     * @return the channel the proxy's services call the cluster through, with the caller's headers.
     */
    Channel forwarding() {
        return forwarding;
    }

    /**
     * @param endpoint one member's {@code host:port}.
     * @return a channel to that member alone (the caller closes it).
     */
    ManagedChannel channelTo(final String endpoint) {
        final NettyChannelBuilder builder = NettyChannelBuilder.forAddress(address(endpoint))
            .overrideAuthority(endpoint).directExecutor().maxInboundMessageSize(maxInbound)
            .keepAliveTime(30, TimeUnit.SECONDS)
            .keepAliveTimeout(10, TimeUnit.SECONDS);
        return (tls == null ? builder.usePlaintext() : builder.sslContext(tls)).build();
    }

    /**
     * @param member a channel to one member.
     * @return it, with the caller's headers copied onto every call.
     */
    Channel forwardingTo(final Channel member) {
        return ClientInterceptors.intercept(member, new CopyCallerHeaders());
    }

    /**
     * @return the channel without the caller's headers (the proxy's own calls: shared watches, keep-alives).
     */
    Channel own() {
        return channel;
    }

    /**
     * @return the members' endpoints in use now.
     */
    List<String> endpoints() {
        return endpoints;
    }

    /** Reads the member list and connects to the voting members' client URLs. */
    void syncMembers() {
        try {
            final MemberListResponse members = ClusterGrpc.newBlockingStub(channel)
                .withDeadlineAfter(5, TimeUnit.SECONDS).memberList(MemberListRequest.getDefaultInstance());
            final List<String> found = new ArrayList<>();
            for (final Member member : members.getMembersList()) {
                if (member.getIsLearner()) {
                    continue;
                }
                for (final String url : member.getClientURLsList()) {
                    found.add(hostPort(url));
                }
            }
            if (!found.isEmpty() && !Set.copyOf(found).equals(Set.copyOf(endpoints))) {
                LOG.log(System.Logger.Level.INFO, "grpc-proxy: the cluster's members are now " + found
                    + " (were " + endpoints + ")");
                endpoints = List.copyOf(found);
                publish();
            }
        } catch (final RuntimeException ex) {
            LOG.log(System.Logger.Level.DEBUG, "grpc-proxy: member list not read: " + ex.getMessage());
        }
    }

    private void publish() {
        final NameResolver.Listener2 current = listener;
        if (current == null) {
            return;
        }
        final List<EquivalentAddressGroup> groups = new ArrayList<>();
        for (final String endpoint : endpoints) {
            try {
                groups.add(new EquivalentAddressGroup(address(endpoint), Attributes.newBuilder()
                    .set(EquivalentAddressGroup.ATTR_AUTHORITY_OVERRIDE, endpoint).build()));
            } catch (final IllegalArgumentException ex) {
                LOG.log(System.Logger.Level.WARNING, "grpc-proxy: " + ex.getMessage());
            }
        }
        current.onResult(NameResolver.ResolutionResult.newBuilder()
            .setAddressesOrError(io.grpc.StatusOr.fromValue(groups)).build());
    }

    @Override
    public void close() {
        sync.shutdownNow();
        channel.shutdownNow();
        try {
            channel.awaitTermination(5, TimeUnit.SECONDS);
        } catch (final InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }

    /** The member endpoints as gRPC's name resolution: what {@link #syncMembers} found, published. */
    private final class Factory extends NameResolver.Factory {
        @Override
        public NameResolver newNameResolver(final URI target, final NameResolver.Args args) {
            return new NameResolver() {
                @Override
                public String getServiceAuthority() {
                    return endpoints.get(0);
                }

                @Override
                public void start(final Listener2 started) {
                    listener = started;
                    publish();
                }

                @Override
                public void refresh() {
                    publish();
                }

                @Override
                public void shutdown() {
                    listener = null;
                }
            };
        }

        @Override
        public String getDefaultScheme() {
            return "cairn-cluster";
        }
    }

    /** Copies the caller's headers (those that are the caller's to give) onto an upstream call. */
    private static final class CopyCallerHeaders implements ClientInterceptor {
        @Override
        public <Q, A> ClientCall<Q, A> interceptCall(final MethodDescriptor<Q, A> method, final CallOptions options,
            final Channel next) {
            final Metadata caller = CALLER.get();
            return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
                @Override
                public void start(final Listener<A> listener, final Metadata headers) {
                    if (caller != null) {
                        copy(caller, headers);
                    }
                    super.start(listener, headers);
                }
            };
        }
    }

    /**
     * @param from a caller's headers.
     * @param to   an upstream call's.
     */
    static void copy(final Metadata from, final Metadata to) {
        for (final String name : from.keys()) {
            if (name.startsWith("grpc-") || name.startsWith(":") || HOP_BY_HOP.contains(name)) {
                continue;
            }
            if (name.endsWith(Metadata.BINARY_HEADER_SUFFIX)) {
                final Metadata.Key<byte[]> key = Metadata.Key.of(name, Metadata.BINARY_BYTE_MARSHALLER);
                for (final byte[] value : from.getAll(key)) {
                    to.put(key, value);
                }
            } else {
                final Metadata.Key<String> key = Metadata.Key.of(name, Metadata.ASCII_STRING_MARSHALLER);
                for (final String value : from.getAll(key)) {
                    to.put(key, value);
                }
            }
        }
    }

    /**
     * @return the caller's auth token ("" without one).
     */
    static String callerToken() {
        final Metadata caller = CALLER.get();
        final String token = caller == null ? null : caller.get(TOKEN);
        return token == null ? "" : token;
    }
}
