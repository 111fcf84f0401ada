package io.cairn.server.http;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import io.cairn.embedded.cluster.Topology;
import io.cairn.embedded.DaemonThreads;
import io.cairn.server.node.Node;
import io.cairn.embedded.NodeStatus;
import io.cairn.server.tls.TlsContexts;
import io.etcd.jetcd.api.AlarmRequest;
import io.etcd.jetcd.api.ClusterGrpc;
import io.etcd.jetcd.api.CompactionRequest;
import io.etcd.jetcd.api.DeleteRangeRequest;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.LeaseGrantRequest;
import io.etcd.jetcd.api.LeaseGrpc;
import io.etcd.jetcd.api.LeaseRevokeRequest;
import io.etcd.jetcd.api.LeaseTimeToLiveRequest;
import io.etcd.jetcd.api.MaintenanceGrpc;
import io.etcd.jetcd.api.MemberListRequest;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.StatusRequest;
import io.etcd.jetcd.api.TxnRequest;
import io.etcd.jetcd.api.WatchGrpc;
import io.etcd.jetcd.api.WatchRequest;
import io.etcd.jetcd.api.WatchResponse;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * etcd's HTTP JSON gateway paths ({@code POST /v3/kv/put} and the rest), {@code /health}, {@code /version} and
 * Prometheus {@code /metrics}, on a port of their own (the client port speaks only gRPC: one Netty server for both
 * would mean sniffing protocols). Requests are proto3 JSON exactly as etcd's grpc-gateway takes them (original field
 * names, bytes as base64, 64-bit integers as strings) and are answered by calling this member's own gRPC services
 * in process (not through the client port and its TLS), so the gateway gives the same answers, errors included
 * ({@code {"error", "message", "code"}} with grpc-gateway's HTTP statuses). {@code /v3/watch} streams one JSON object
 * per line, {@code {"result": WatchResponse}}, as etcd does. With TLS the gateway serves HTTPS with the client
 * port's certificate and asks for client certificates when the client port does.
 */
public final class HttpGateway implements AutoCloseable {
    private static final JsonFormat.Printer PRINTER = JsonFormat.printer().preservingProtoFieldNames()
        .omittingInsignificantWhitespace();
    private static final JsonFormat.Parser PARSER = JsonFormat.parser().ignoringUnknownFields();
    private static final long CALL_TIMEOUT_S = 15;
    /** Every unary call the gateway makes gets its own deadline (the streaming watch gets none). */
    private static final ClientInterceptor DEADLINE = new ClientInterceptor() {
        @Override
        public <Q, R> ClientCall<Q, R> interceptCall(final MethodDescriptor<Q, R> method, final CallOptions options,
            final Channel next) {
            return next.newCall(method, options.withDeadlineAfter(CALL_TIMEOUT_S, TimeUnit.SECONDS));
        }
    };

    /** The HTTP request's credentials while it is being served (etcd's gateway forwards them as metadata). */
    private static final io.grpc.Context.Key<String[]> CREDENTIALS = io.grpc.Context.key("gateway-credentials");
    private static final io.grpc.Metadata.Key<String> TOKEN_HEADER =
        io.grpc.Metadata.Key.of("token", io.grpc.Metadata.ASCII_STRING_MARSHALLER);
    private static final io.grpc.Metadata.Key<String> AUTHORIZATION_HEADER =
        io.grpc.Metadata.Key.of("authorization", io.grpc.Metadata.ASCII_STRING_MARSHALLER);
    /**
     * etcd's grpc-gateway passes an HTTP {@code Authorization} header on as {@code authorization} metadata (the bare
     * token: no "Bearer "), and {@code Grpc-Metadata-Token} as {@code token}.
     */
    private static final ClientInterceptor FORWARD_CREDENTIALS = new ClientInterceptor() {
        @Override
        public <Q, R> ClientCall<Q, R> interceptCall(final MethodDescriptor<Q, R> method, final CallOptions options,
            final Channel next) {
            final String[] credentials = CREDENTIALS.get();
            final ClientCall<Q, R> call = next.newCall(method, options);
            if (credentials == null) {
                return call;
            }
            return new io.grpc.ForwardingClientCall.SimpleForwardingClientCall<>(call) {
                @Override
                public void start(final Listener<R> listener, final io.grpc.Metadata headers) {
                    if (credentials[0] != null) {
                        headers.put(AUTHORIZATION_HEADER, credentials[0]);
                    }
                    if (credentials[1] != null) {
                        headers.put(TOKEN_HEADER, credentials[1]);
                    }
                    super.start(listener, headers);
                }
            };
        }
    };

    private final NodeStatus status;
    private final MemberMetrics metrics;
    private final HttpServer server;
    private final Channel channel;
    private final ExecutorService executor;
    private final Map<String, Route<?, ?>> routes = new LinkedHashMap<>();

    private record Route<Q extends Message, R extends Message>(Supplier<Message.Builder> request,
        Function<Q, R> call) {
    }

    /**
     * @param status     what {@code /health} reads.
     * @param metrics    what {@code /metrics} writes.
     * @param channel    the member's own gRPC services (in process), which the JSON paths call.
     * @param address    where to listen.
     * @param tls        TLS to serve (HTTPS, client certificates as the gRPC port asks for them), or null.
     * @throws IOException if the port is taken.
     */
    public HttpGateway(final NodeStatus status, final MemberMetrics metrics, final Channel channel,
        final InetSocketAddress address, final TlsContexts tls) throws IOException {
        this.status = status;
        this.metrics = metrics;
        this.channel = channel;
        final Channel credited = io.grpc.ClientInterceptors.intercept(channel, FORWARD_CREDENTIALS);
        final KVGrpc.KVBlockingStub kv = KVGrpc.newBlockingStub(credited).withInterceptors(DEADLINE);
        final LeaseGrpc.LeaseBlockingStub lease = LeaseGrpc.newBlockingStub(credited).withInterceptors(DEADLINE);
        final MaintenanceGrpc.MaintenanceBlockingStub maintenance =
            MaintenanceGrpc.newBlockingStub(credited).withInterceptors(DEADLINE);
        final ClusterGrpc.ClusterBlockingStub cluster =
            ClusterGrpc.newBlockingStub(credited).withInterceptors(DEADLINE);
        final io.etcd.jetcd.api.AuthGrpc.AuthBlockingStub auth = io.etcd.jetcd.api.AuthGrpc.newBlockingStub(credited)
            .withInterceptors(DEADLINE);
        route("/v3/kv/put", PutRequest::newBuilder, kv::put);
        route("/v3/kv/range", RangeRequest::newBuilder, kv::range);
        route("/v3/kv/deleterange", DeleteRangeRequest::newBuilder, kv::deleteRange);
        route("/v3/kv/txn", TxnRequest::newBuilder, kv::txn);
        route("/v3/kv/compaction", CompactionRequest::newBuilder, kv::compact);
        route("/v3/lease/grant", LeaseGrantRequest::newBuilder, lease::leaseGrant);
        route("/v3/lease/revoke", LeaseRevokeRequest::newBuilder, lease::leaseRevoke);
        route("/v3/kv/lease/revoke", LeaseRevokeRequest::newBuilder, lease::leaseRevoke); // etcd's older path
        route("/v3/lease/timetolive", LeaseTimeToLiveRequest::newBuilder, lease::leaseTimeToLive);
        route("/v3/kv/lease/timetolive", LeaseTimeToLiveRequest::newBuilder, lease::leaseTimeToLive);
        route("/v3/maintenance/status", StatusRequest::newBuilder, maintenance::status);
        route("/v3/maintenance/alarm", AlarmRequest::newBuilder, maintenance::alarm);
        route("/v3/cluster/member/list", MemberListRequest::newBuilder, cluster::memberList);
        route("/v3/cluster/member/add", io.etcd.jetcd.api.MemberAddRequest::newBuilder, cluster::memberAdd);
        route("/v3/cluster/member/remove", io.etcd.jetcd.api.MemberRemoveRequest::newBuilder, cluster::memberRemove);
        route("/v3/cluster/member/update", io.etcd.jetcd.api.MemberUpdateRequest::newBuilder, cluster::memberUpdate);
        route("/v3/cluster/member/promote", io.etcd.jetcd.api.MemberPromoteRequest::newBuilder,
            cluster::memberPromote);
        route("/v3/maintenance/defragment", io.etcd.jetcd.api.DefragmentRequest::newBuilder, maintenance::defragment);
        route("/v3/maintenance/hash", io.etcd.jetcd.api.HashRequest::newBuilder, maintenance::hash);
        route("/v3/maintenance/hashkv", io.etcd.jetcd.api.HashKVRequest::newBuilder, maintenance::hashKV);
        route("/v3/maintenance/transfer-leadership", io.etcd.jetcd.api.MoveLeaderRequest::newBuilder,
            maintenance::moveLeader);
        final io.etcd.jetcd.api.lock.LockGrpc.LockBlockingStub lock = io.etcd.jetcd.api.lock.LockGrpc
            .newBlockingStub(credited);
        route("/v3/lock/lock", io.etcd.jetcd.api.lock.LockRequest::newBuilder, lock::lock); // waits: no deadline
        route("/v3/lock/unlock", io.etcd.jetcd.api.lock.UnlockRequest::newBuilder, lock::unlock);
        final io.etcd.jetcd.api.ElectionGrpc.ElectionBlockingStub election = io.etcd.jetcd.api.ElectionGrpc
            .newBlockingStub(credited);
        route("/v3/election/campaign", io.etcd.jetcd.api.CampaignRequest::newBuilder, election::campaign);
        route("/v3/election/proclaim", io.etcd.jetcd.api.ProclaimRequest::newBuilder, election::proclaim);
        route("/v3/election/leader", io.etcd.jetcd.api.LeaderRequest::newBuilder, election::leader);
        route("/v3/election/resign", io.etcd.jetcd.api.ResignRequest::newBuilder, election::resign);
        authRoutes(auth);
        this.executor = Executors.newFixedThreadPool(4, DaemonThreads.named("cairn-http"));
        if (tls == null) {
            this.server = HttpServer.create(address, 64);
        } else {
            final HttpsServer https = HttpsServer.create(address, 64);
            https.setHttpsConfigurator(new HttpsConfigurator(tls.jdk()) {
                @Override
                public void configure(final HttpsParameters parameters) {
                    parameters.setSSLParameters(tls.httpsParameters(tls.jdk().getDefaultSSLParameters()));
                }
            });
            this.server = https;
        }
        server.setExecutor(executor);
        server.createContext("/v3/", this::onApi);
        server.createContext("/v3beta/", this::onApi);
        server.createContext("/health", this::onHealth);
        server.createContext("/version", exchange -> reply(exchange, 200, "application/json",
            "{\"etcdserver\":\"" + Node.ETCD_VERSION + "\",\"etcdcluster\":\"3.4.0\"}"));
        server.createContext("/metrics", exchange -> reply(exchange, 200, "text/plain; version=0.0.4; charset=utf-8",
            metrics.scrape()));
        server.start();
    }

    private void authRoutes(final io.etcd.jetcd.api.AuthGrpc.AuthBlockingStub auth) {
        route("/v3/auth/enable", io.etcd.jetcd.api.AuthEnableRequest::newBuilder, auth::authEnable);
        route("/v3/auth/disable", io.etcd.jetcd.api.AuthDisableRequest::newBuilder, auth::authDisable);
        route("/v3/auth/authenticate", io.etcd.jetcd.api.AuthenticateRequest::newBuilder, auth::authenticate);
        route("/v3/auth/user/add", io.etcd.jetcd.api.AuthUserAddRequest::newBuilder, auth::userAdd);
        route("/v3/auth/user/get", io.etcd.jetcd.api.AuthUserGetRequest::newBuilder, auth::userGet);
        route("/v3/auth/user/list", io.etcd.jetcd.api.AuthUserListRequest::newBuilder, auth::userList);
        route("/v3/auth/user/delete", io.etcd.jetcd.api.AuthUserDeleteRequest::newBuilder, auth::userDelete);
        route("/v3/auth/user/changepw", io.etcd.jetcd.api.AuthUserChangePasswordRequest::newBuilder,
            auth::userChangePassword);
        route("/v3/auth/user/grant", io.etcd.jetcd.api.AuthUserGrantRoleRequest::newBuilder, auth::userGrantRole);
        route("/v3/auth/user/revoke", io.etcd.jetcd.api.AuthUserRevokeRoleRequest::newBuilder, auth::userRevokeRole);
        route("/v3/auth/role/add", io.etcd.jetcd.api.AuthRoleAddRequest::newBuilder, auth::roleAdd);
        route("/v3/auth/role/get", io.etcd.jetcd.api.AuthRoleGetRequest::newBuilder, auth::roleGet);
        route("/v3/auth/role/list", io.etcd.jetcd.api.AuthRoleListRequest::newBuilder, auth::roleList);
        route("/v3/auth/role/delete", io.etcd.jetcd.api.AuthRoleDeleteRequest::newBuilder, auth::roleDelete);
        route("/v3/auth/role/grant", io.etcd.jetcd.api.AuthRoleGrantPermissionRequest::newBuilder,
            auth::roleGrantPermission);
        route("/v3/auth/role/revoke", io.etcd.jetcd.api.AuthRoleRevokePermissionRequest::newBuilder,
            auth::roleRevokePermission);
    }

    private <Q extends Message, R extends Message> void route(final String path,
        final Supplier<Message.Builder> request, final Function<Q, R> call) {
        routes.put(path, new Route<>(request, call));
    }

    /**
     * @return the bound port.
     */
    public int port() {
        return server.getAddress().getPort();
    }

    private void onApi(final HttpExchange exchange) throws IOException {
        try (exchange) {
            answer(exchange);
        }
    }

    private void answer(final HttpExchange exchange) throws IOException {
        final String authorization = exchange.getRequestHeaders().getFirst("Authorization");
        final String token = exchange.getRequestHeaders().getFirst("Grpc-Metadata-Token");
        if (authorization == null && token == null) {
            serve(exchange);
            return;
        }
        final io.grpc.Context context = io.grpc.Context.current().withValue(CREDENTIALS,
            new String[] {authorization, token});
        final io.grpc.Context previous = context.attach();
        try {
            serve(exchange);
        } finally {
            context.detach(previous);
        }
    }

    private void serve(final HttpExchange exchange) throws IOException {
        try {
            final String path = exchange.getRequestURI().getPath();
            if ("/v3/watch".equals(path) || "/v3beta/watch".equals(path)) {
                watch(exchange);
                return;
            }
            // etcd 3.4 serves its gateway under /v3beta/ too (the 3.3 name), the same calls.
            final Route<?, ?> route = routes.get(path.startsWith("/v3beta/") ? "/v3/" + path.substring(8) : path);
            if (route == null) {
                reply(exchange, 404, "application/json", error(Status.UNIMPLEMENTED.withDescription(
                    "Not Found")));
                return;
            }
            if (!"POST".equals(exchange.getRequestMethod())) {
                reply(exchange, 405, "application/json", error(Status.UNIMPLEMENTED.withDescription(
                    "Method Not Allowed")));
                return;
            }
            reply(exchange, 200, "application/json", call(route, body(exchange)));
        } catch (final InvalidProtocolBufferException ex) {
            reply(exchange, 400, "application/json", error(Status.INVALID_ARGUMENT.withDescription(
                ex.getMessage())));
        } catch (final StatusRuntimeException ex) {
            reply(exchange, httpStatus(ex.getStatus().getCode()), "application/json", error(ex.getStatus()));
        }
    }

    @SuppressWarnings("unchecked")
    private <Q extends Message, R extends Message> String call(final Route<Q, R> route, final String json)
        throws InvalidProtocolBufferException {
        final Message.Builder builder = route.request().get();
        PARSER.merge(json.isBlank() ? "{}" : json, builder);
        return PRINTER.print(route.call().apply((Q)builder.build()));
    }

    private void watch(final HttpExchange exchange) throws IOException {
        final WatchRequest.Builder request = WatchRequest.newBuilder();
        PARSER.merge(body(exchange), request);
        final LinkedBlockingQueue<Object> responses = new LinkedBlockingQueue<>();
        final Channel credited = io.grpc.ClientInterceptors.intercept(channel, FORWARD_CREDENTIALS);
        final StreamObserver<WatchRequest> requests = WatchGrpc.newStub(credited).watch(new StreamObserver<>() {
            @Override
            public void onNext(final WatchResponse value) {
                responses.add(value);
            }

            @Override
            public void onError(final Throwable error) {
                responses.add(error);
            }

            @Override
            public void onCompleted() {
                responses.add(Boolean.TRUE);
            }
        });
        requests.onNext(request.build());
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(200, 0);
        final OutputStream out = exchange.getResponseBody();
        try {
            while (true) {
                final Object next = responses.poll(1, TimeUnit.SECONDS);
                if (next instanceof WatchResponse response) {
                    out.write(("{\"result\":" + PRINTER.print(response) + "}\n").getBytes(StandardCharsets.UTF_8));
                    out.flush();
                } else if (next instanceof Throwable error) {
                    out.write(("{\"error\":" + error(Status.fromThrowable(error)) + "}\n")
                        .getBytes(StandardCharsets.UTF_8));
                    return;
                } else if (next != null) {
                    return;
                }
            }
        } catch (final IOException ex) {
            // The client went away.
        } catch (final InterruptedException ex) {
            Thread.currentThread().interrupt();
        } finally {
            requests.onCompleted();
        }
    }

    private void onHealth(final HttpExchange exchange) throws IOException {
        try (exchange) {
            final boolean leader = status.leaderId() != 0;
            final boolean alarmed = status.alarmBits() != 0;
            final boolean healthy = leader && !alarmed;
            reply(exchange, healthy ? 200 : 503, "application/json", "{\"health\":\"" + healthy + "\""
                + (healthy ? "" : ",\"reason\":\"" + (leader ? "ALARM" : "RAFT NO LEADER") + "\"") + "}");
        }
    }

    private static String body(final HttpExchange exchange) throws IOException {
        return new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
    }

    private static String error(final Status status) {
        final String message = status.getDescription() == null ? status.getCode().name() : status.getDescription();
        final String quoted = '"' + message.replace("\\", "\\\\").replace("\"", "\\\"") + '"';
        return "{\"error\":" + quoted + ",\"message\":" + quoted + ",\"code\":" + status.getCode().value() + "}";
    }

    /** grpc-gateway's mapping of gRPC codes to HTTP statuses. */
    static int httpStatus(final Status.Code code) {
        switch (code) {
            case OK:
                return 200;
            case CANCELLED:
                return 408;
            case INVALID_ARGUMENT:
            case FAILED_PRECONDITION:
            case OUT_OF_RANGE:
                return 400;
            case DEADLINE_EXCEEDED:
                return 504;
            case NOT_FOUND:
                return 404;
            case ALREADY_EXISTS:
            case ABORTED:
                return 409;
            case PERMISSION_DENIED:
                return 403;
            case UNAUTHENTICATED:
                return 401;
            case RESOURCE_EXHAUSTED:
                return 429;
            case UNIMPLEMENTED:
                return 501;
            case UNAVAILABLE:
                return 503;
            default:
                return 500;
        }
    }

    private static void reply(final HttpExchange exchange, final int status, final String type, final String body)
        throws IOException {
        final byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", type);
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    /**
     * @param clientUrl the member's client URL.
     * @return the default gateway address: the client port minus one (2379 → 2378), same host.
     */
    public static InetSocketAddress defaultAddress(final String clientUrl) {
        final String hostPort = Topology.hostPort(clientUrl);
        final int colon = hostPort.lastIndexOf(':');
        return new InetSocketAddress(hostPort.substring(0, colon),
            Integer.parseInt(hostPort.substring(colon + 1)) - 1);
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
