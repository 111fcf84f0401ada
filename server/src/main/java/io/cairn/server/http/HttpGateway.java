package io.cairn.server.http;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import io.cairn.embedded.NodeStatus;
import io.cairn.server.node.Node;
import io.etcd.jetcd.api.AlarmRequest;
import io.etcd.jetcd.api.ClusterGrpc;
import io.etcd.jetcd.api.CompactionRequest;
import io.etcd.jetcd.api.DeleteRangeRequest;
import io.etcd.jetcd.api.ElectionGrpc;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.LeaseGrantRequest;
import io.etcd.jetcd.api.LeaseGrpc;
import io.etcd.jetcd.api.LeaseKeepAliveRequest;
import io.etcd.jetcd.api.LeaseRevokeRequest;
import io.etcd.jetcd.api.LeaseTimeToLiveRequest;
import io.etcd.jetcd.api.MaintenanceGrpc;
import io.etcd.jetcd.api.MemberListRequest;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.ResponseHeader;
import io.etcd.jetcd.api.StatusRequest;
import io.etcd.jetcd.api.TxnRequest;
import io.etcd.jetcd.api.WatchGrpc;
import io.etcd.jetcd.api.WatchRequest;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptors;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.stub.MetadataUtils;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.ssl.SslContext;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

/**
 * etcd's HTTP JSON gateway ({@code POST /v3/kv/put} and the rest, {@code /v3beta/} too), {@code /health},
 * {@code /version} and Prometheus {@code /metrics}, as Netty handlers for HTTP/1.1 connections: on the client port
 * beside gRPC ({@link ClientPortProtocols} hands them the connections that speak HTTP/1.1), and on listeners of their
 * own ({@code --listen-metrics-urls}: {@code /metrics} and {@code /health} alone, as etcd; {@code --listen-http-urls}).
 * Requests are proto3 JSON exactly as etcd's grpc-gateway takes them (original field names, bytes as base64, 64-bit
 * integers as strings) and are answered by calling this member's own gRPC services in process (not through the
 * client port and its TLS), so the gateway gives the same answers, errors included ({@code {"error", "message",
 * "code"}} with grpc-gateway's HTTP statuses). Every call is asynchronous: no thread waits on a request, so open
 * watches hold no thread. Streams ({@code /v3/watch}, {@code /v3/lease/keepalive}, {@code /v3/election/observe},
 * {@code /v3/maintenance/snapshot}) answer one JSON object per line, {@code {"result": ...}}, as etcd does, and read
 * the next message only once the connection can take more (a slow reader holds back its stream, not memory).
 */
public final class HttpGateway {
    private static final JsonFormat.Printer PRINTER = JsonFormat.printer().preservingProtoFieldNames()
        .omittingInsignificantWhitespace();
    private static final JsonFormat.Parser PARSER = JsonFormat.parser().ignoringUnknownFields();
    private static final long CALL_TIMEOUT_S = 15;
    /** Base64 makes a message a third larger, JSON adds its names. */
    private static final Metadata.Key<String> TOKEN_HEADER = Metadata.Key.of("token", Metadata.ASCII_STRING_MARSHALLER);
    private static final Metadata.Key<String> AUTHORIZATION_HEADER =
        Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
    private static final String JSON = "application/json";
    private static final String TEXT = "text/plain; charset=utf-8";

    private final NodeStatus status;
    private final int requestBytesMax;
    private final MemberMetrics metrics;
    private final Channel channel;
    private final Map<String, Call> calls = new HashMap<>();

    /**
     * A gateway path: the request message it parses, the method it calls, and how.
     *
     * @param request   a builder of the request message.
     * @param method    the gRPC method.
     * @param deadline  unary calls get a deadline, except those that wait by design (a lock).
     * @param halfClose a bidirectional stream ends its requests after the body's one (keep-alive), or stays open
     *                  (watch).
     */
    private record Call(Supplier<Message.Builder> request, MethodDescriptor<Message, Message> method,
        boolean deadline, boolean halfClose) {
    }

    /**
     * @param status  what {@code /health} reads.
     * @param metrics what {@code /metrics} writes.
     * @param channel the member's own gRPC services (in process), which the JSON paths call.
     * @param requestBytesMax the largest HTTP request body (JSON's base64 makes a request's bytes a third longer).
     */
    public HttpGateway(final NodeStatus status, final MemberMetrics metrics, final Channel channel,
        final int requestBytesMax) {
        this.requestBytesMax = requestBytesMax;
        this.status = status;
        this.metrics = metrics;
        this.channel = channel;
        call("/v3/kv/put", PutRequest::newBuilder, KVGrpc.getPutMethod());
        call("/v3/kv/range", RangeRequest::newBuilder, KVGrpc.getRangeMethod());
        call("/v3/kv/deleterange", DeleteRangeRequest::newBuilder, KVGrpc.getDeleteRangeMethod());
        call("/v3/kv/txn", TxnRequest::newBuilder, KVGrpc.getTxnMethod());
        call("/v3/kv/compaction", CompactionRequest::newBuilder, KVGrpc.getCompactMethod());
        call("/v3/watch", WatchRequest::newBuilder, WatchGrpc.getWatchMethod());
        call("/v3/lease/grant", LeaseGrantRequest::newBuilder, LeaseGrpc.getLeaseGrantMethod());
        call("/v3/lease/revoke", LeaseRevokeRequest::newBuilder, LeaseGrpc.getLeaseRevokeMethod());
        call("/v3/kv/lease/revoke", LeaseRevokeRequest::newBuilder, LeaseGrpc.getLeaseRevokeMethod()); // etcd's older
        call("/v3/lease/timetolive", LeaseTimeToLiveRequest::newBuilder, LeaseGrpc.getLeaseTimeToLiveMethod());
        call("/v3/kv/lease/timetolive", LeaseTimeToLiveRequest::newBuilder, LeaseGrpc.getLeaseTimeToLiveMethod());
        call("/v3/lease/keepalive", LeaseKeepAliveRequest::newBuilder, LeaseGrpc.getLeaseKeepAliveMethod());
        call("/v3/maintenance/status", StatusRequest::newBuilder, MaintenanceGrpc.getStatusMethod());
        call("/v3/maintenance/alarm", AlarmRequest::newBuilder, MaintenanceGrpc.getAlarmMethod());
        call("/v3/maintenance/defragment", io.etcd.jetcd.api.DefragmentRequest::newBuilder,
            MaintenanceGrpc.getDefragmentMethod());
        call("/v3/maintenance/hash", io.etcd.jetcd.api.HashRequest::newBuilder, MaintenanceGrpc.getHashMethod());
        call("/v3/maintenance/hashkv", io.etcd.jetcd.api.HashKVRequest::newBuilder, MaintenanceGrpc.getHashKVMethod());
        call("/v3/maintenance/snapshot", io.etcd.jetcd.api.SnapshotRequest::newBuilder,
            MaintenanceGrpc.getSnapshotMethod());
        call("/v3/maintenance/transfer-leadership", io.etcd.jetcd.api.MoveLeaderRequest::newBuilder,
            MaintenanceGrpc.getMoveLeaderMethod());
        call("/v3/cluster/member/list", MemberListRequest::newBuilder, ClusterGrpc.getMemberListMethod());
        call("/v3/cluster/member/add", io.etcd.jetcd.api.MemberAddRequest::newBuilder,
            ClusterGrpc.getMemberAddMethod());
        call("/v3/cluster/member/remove", io.etcd.jetcd.api.MemberRemoveRequest::newBuilder,
            ClusterGrpc.getMemberRemoveMethod());
        call("/v3/cluster/member/update", io.etcd.jetcd.api.MemberUpdateRequest::newBuilder,
            ClusterGrpc.getMemberUpdateMethod());
        call("/v3/cluster/member/promote", io.etcd.jetcd.api.MemberPromoteRequest::newBuilder,
            ClusterGrpc.getMemberPromoteMethod());
        call("/v3/lock/lock", io.etcd.jetcd.api.lock.LockRequest::newBuilder,
            io.etcd.jetcd.api.lock.LockGrpc.getLockMethod());
        call("/v3/lock/unlock", io.etcd.jetcd.api.lock.UnlockRequest::newBuilder,
            io.etcd.jetcd.api.lock.LockGrpc.getUnlockMethod());
        call("/v3/election/campaign", io.etcd.jetcd.api.CampaignRequest::newBuilder,
            ElectionGrpc.getCampaignMethod());
        call("/v3/election/proclaim", io.etcd.jetcd.api.ProclaimRequest::newBuilder,
            ElectionGrpc.getProclaimMethod());
        call("/v3/election/leader", io.etcd.jetcd.api.LeaderRequest::newBuilder, ElectionGrpc.getLeaderMethod());
        call("/v3/election/observe", io.etcd.jetcd.api.LeaderRequest::newBuilder, ElectionGrpc.getObserveMethod());
        call("/v3/election/resign", io.etcd.jetcd.api.ResignRequest::newBuilder, ElectionGrpc.getResignMethod());
        authCalls();
    }

    private void authCalls() {
        call("/v3/auth/enable", io.etcd.jetcd.api.AuthEnableRequest::newBuilder,
            io.etcd.jetcd.api.AuthGrpc.getAuthEnableMethod());
        call("/v3/auth/disable", io.etcd.jetcd.api.AuthDisableRequest::newBuilder,
            io.etcd.jetcd.api.AuthGrpc.getAuthDisableMethod());
        call("/v3/auth/authenticate", io.etcd.jetcd.api.AuthenticateRequest::newBuilder,
            io.etcd.jetcd.api.AuthGrpc.getAuthenticateMethod());
        call("/v3/auth/user/add", io.etcd.jetcd.api.AuthUserAddRequest::newBuilder,
            io.etcd.jetcd.api.AuthGrpc.getUserAddMethod());
        call("/v3/auth/user/get", io.etcd.jetcd.api.AuthUserGetRequest::newBuilder,
            io.etcd.jetcd.api.AuthGrpc.getUserGetMethod());
        call("/v3/auth/user/list", io.etcd.jetcd.api.AuthUserListRequest::newBuilder,
            io.etcd.jetcd.api.AuthGrpc.getUserListMethod());
        call("/v3/auth/user/delete", io.etcd.jetcd.api.AuthUserDeleteRequest::newBuilder,
            io.etcd.jetcd.api.AuthGrpc.getUserDeleteMethod());
        call("/v3/auth/user/changepw", io.etcd.jetcd.api.AuthUserChangePasswordRequest::newBuilder,
            io.etcd.jetcd.api.AuthGrpc.getUserChangePasswordMethod());
        call("/v3/auth/user/grant", io.etcd.jetcd.api.AuthUserGrantRoleRequest::newBuilder,
            io.etcd.jetcd.api.AuthGrpc.getUserGrantRoleMethod());
        call("/v3/auth/user/revoke", io.etcd.jetcd.api.AuthUserRevokeRoleRequest::newBuilder,
            io.etcd.jetcd.api.AuthGrpc.getUserRevokeRoleMethod());
        call("/v3/auth/role/add", io.etcd.jetcd.api.AuthRoleAddRequest::newBuilder,
            io.etcd.jetcd.api.AuthGrpc.getRoleAddMethod());
        call("/v3/auth/role/get", io.etcd.jetcd.api.AuthRoleGetRequest::newBuilder,
            io.etcd.jetcd.api.AuthGrpc.getRoleGetMethod());
        call("/v3/auth/role/list", io.etcd.jetcd.api.AuthRoleListRequest::newBuilder,
            io.etcd.jetcd.api.AuthGrpc.getRoleListMethod());
        call("/v3/auth/role/delete", io.etcd.jetcd.api.AuthRoleDeleteRequest::newBuilder,
            io.etcd.jetcd.api.AuthGrpc.getRoleDeleteMethod());
        call("/v3/auth/role/grant", io.etcd.jetcd.api.AuthRoleGrantPermissionRequest::newBuilder,
            io.etcd.jetcd.api.AuthGrpc.getRoleGrantPermissionMethod());
        call("/v3/auth/role/revoke", io.etcd.jetcd.api.AuthRoleRevokePermissionRequest::newBuilder,
            io.etcd.jetcd.api.AuthGrpc.getRoleRevokePermissionMethod());
    }

    @SuppressWarnings("unchecked")
    private <Q extends Message, R extends Message> void call(final String path, final Supplier<Message.Builder> request,
        final MethodDescriptor<Q, R> method) {
        final boolean unary = method.getType() == MethodDescriptor.MethodType.UNARY;
        calls.put(path, new Call(request, (MethodDescriptor<Message, Message>)(MethodDescriptor<?, ?>)method,
            unary && !path.equals("/v3/lock/lock") && !path.equals("/v3/election/campaign"),
            !path.equals("/v3/watch")));
    }

    /**
     * Takes over a client-port connection that speaks HTTP/1.1: the codec, the aggregator and the gateway after the
     * given handler (which then leaves).
     *
     * @param ctx the deciding handler's context.
     */
    public void install(final ChannelHandlerContext ctx) {
        installHttp(ctx, requestBytesMax, new Connection(false));
    }

    /**
     * Puts HTTP/1.1's codec, an aggregator and {@code handler} after the deciding handler of a client-port
     * connection ({@link ClientPortProtocols}).
     *
     * @param ctx             the deciding handler's context.
     * @param requestBytesMax the largest request body.
     * @param handler         what answers the requests.
     */
    public static void installHttp(final ChannelHandlerContext ctx, final int requestBytesMax,
        final io.netty.channel.ChannelHandler handler) {
        final ChannelPipeline pipeline = ctx.pipeline();
        pipeline.addAfter(ctx.name(), "cairn-http-codec", new HttpServerCodec());
        pipeline.addAfter("cairn-http-codec", "cairn-http-aggregator", new HttpObjectAggregator(requestBytesMax));
        pipeline.addAfter("cairn-http-aggregator", "cairn-http", handler);
    }

    /**
     * Opens a listener of its own for the gateway, or for {@code /metrics} and {@code /health} alone.
     *
     * @param loops       the event loops to serve it on (the client port's).
     * @param address     where to listen.
     * @param tls         HTTPS, or null.
     * @param metricsOnly {@code --listen-metrics-urls}: {@code /metrics} and {@code /health} only.
     * @return the listening channel (close it to stop).
     * @throws IOException if the address cannot be bound.
     */
    public io.netty.channel.Channel listen(final EventLoopGroup loops, final InetSocketAddress address,
        final SslContext tls, final boolean metricsOnly) throws IOException {
        return listenHttp(loops, address, tls, requestBytesMax, () -> new Connection(metricsOnly));
    }

    /**
     * Opens an HTTP/1.1 listener (HTTPS with {@code tls}): codec, aggregator and a new handler per connection.
     *
     * @param loops           the event loops to serve it on.
     * @param address         where to listen.
     * @param tls             HTTPS, or null.
     * @param requestBytesMax the largest request body.
     * @param handler         makes each connection's handler.
     * @return the listening channel (close it to stop).
     * @throws IOException if the address cannot be bound.
     */
    public static io.netty.channel.Channel listenHttp(final EventLoopGroup loops, final InetSocketAddress address,
        final SslContext tls, final int requestBytesMax,
        final java.util.function.Supplier<io.netty.channel.ChannelHandler> handler) throws IOException {
        final io.netty.channel.ChannelFuture bound = new ServerBootstrap().group(loops)
            .channel(NioServerSocketChannel.class)
            .childHandler(new ChannelInitializer<SocketChannel>() {
                @Override
                protected void initChannel(final SocketChannel connection) {
                    if (tls != null) {
                        connection.pipeline().addLast(tls.newHandler(connection.alloc()));
                    }
                    connection.pipeline().addLast(new HttpServerCodec(),
                        new HttpObjectAggregator(requestBytesMax), handler.get());
                }
            }).bind(address).awaitUninterruptibly();
        if (!bound.isSuccess()) {
            throw new IOException("cannot listen on " + address + ": " + bound.cause().getMessage(), bound.cause());
        }
        return bound.channel();
    }

    /** One HTTP/1.1 connection: a request at a time (reading stops until its answer is written). */
    private final class Connection extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final boolean metricsOnly;
        /** Cancels the stream this connection is answering, if any. */
        private volatile ClientCall<Message, Message> open;
        private final AtomicBoolean wantsMore = new AtomicBoolean();

        Connection(final boolean metricsOnly) {
            this.metricsOnly = metricsOnly;
        }

        @Override
        protected void channelRead0(final ChannelHandlerContext ctx, final FullHttpRequest request) {
            ctx.channel().config().setAutoRead(false);
            final Exchange exchange = new Exchange(ctx, HttpUtil.isKeepAlive(request));
            final String path = new QueryStringDecoder(request.uri()).path();
            switch (path) {
                case "/health" -> health(exchange, request);
                case "/metrics" -> exchange.reply(HttpResponseStatus.OK, "text/plain; version=0.0.4; charset=utf-8",
                    metrics.scrape());
                case "/version" -> exchange.reply(metricsOnly ? HttpResponseStatus.NOT_FOUND : HttpResponseStatus.OK,
                    metricsOnly ? TEXT : JSON, metricsOnly ? "Not Found\n"
                        : "{\"etcdserver\":\"" + Node.ETCD_VERSION + "\",\"etcdcluster\":\"3.4.0\"}");
                default -> api(exchange, request, path);
            }
        }

        private void api(final Exchange exchange, final FullHttpRequest request, final String path) {
            // etcd 3.4 serves its gateway under /v3beta/ too (the 3.3 name), the same calls.
            final String name = path.startsWith("/v3beta/") ? "/v3/" + path.substring(8) : path;
            final Call call = metricsOnly ? null : calls.get(name);
            // Go's HTTP mux words, as etcd answers them.
            if (call == null && !(!metricsOnly && "/v3/lease/leases".equals(name))) {
                exchange.reply(HttpResponseStatus.NOT_FOUND, TEXT, "Not Found\n");
                return;
            }
            if (!HttpMethod.POST.equals(request.method())) {
                exchange.reply(HttpResponseStatus.METHOD_NOT_ALLOWED, TEXT, "Method Not Allowed\n");
                return;
            }
            final Channel credited = credited(request);
            if (call == null) {
                leases(exchange, credited);
                return;
            }
            final Message message;
            try {
                final Message.Builder builder = call.request().get();
                final String body = request.content().toString(StandardCharsets.UTF_8);
                PARSER.merge(body.isBlank() ? "{}" : body, builder);
                message = builder.build();
            } catch (final InvalidProtocolBufferException ex) {
                exchange.reply(HttpResponseStatus.BAD_REQUEST, JSON, error(Status.INVALID_ARGUMENT.withDescription(
                    ex.getMessage())));
                return;
            }
            final CallOptions options = call.deadline()
                ? CallOptions.DEFAULT.withDeadlineAfter(CALL_TIMEOUT_S, TimeUnit.SECONDS) : CallOptions.DEFAULT;
            final ClientCall<Message, Message> grpc = credited.newCall(call.method(), options);
            if (call.method().getType() == MethodDescriptor.MethodType.UNARY) {
                grpc.start(new Unary(exchange), new Metadata());
            } else {
                open = grpc;
                grpc.start(new Streamed(exchange, grpc), new Metadata());
            }
            grpc.request(1);
            grpc.sendMessage(message);
            if (call.halfClose()) {
                grpc.halfClose();
            }
        }

        @Override
        public void channelWritabilityChanged(final ChannelHandlerContext ctx) {
            final ClientCall<Message, Message> stream = open;
            if (stream != null && ctx.channel().isWritable() && wantsMore.compareAndSet(true, false)) {
                stream.request(1);
            }
            ctx.fireChannelWritabilityChanged();
        }

        @Override
        public void channelInactive(final ChannelHandlerContext ctx) {
            final ClientCall<Message, Message> stream = open;
            if (stream != null) {
                stream.cancel("the HTTP client went away", null);
            }
            ctx.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(final ChannelHandlerContext ctx, final Throwable cause) {
            ctx.close();
        }

        /** A stream's messages as lines of JSON; the next one is asked for once the connection can take it. */
        private final class Streamed extends ClientCall.Listener<Message> {
            private final Exchange exchange;
            private final ClientCall<Message, Message> call;

            Streamed(final Exchange exchange, final ClientCall<Message, Message> call) {
                this.exchange = exchange;
                this.call = call;
                final HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
                head.headers().set(HttpHeaderNames.CONTENT_TYPE, JSON);
                HttpUtil.setTransferEncodingChunked(head, true);
                exchange.ctx.writeAndFlush(head);
            }

            @Override
            public void onMessage(final Message message) {
                exchange.ctx.writeAndFlush(line("{\"result\":" + print(message) + "}\n"));
                if (exchange.ctx.channel().isWritable()) {
                    call.request(1);
                } else {
                    wantsMore.set(true);
                    if (exchange.ctx.channel().isWritable() && wantsMore.compareAndSet(true, false)) {
                        call.request(1);
                    }
                }
            }

            @Override
            public void onClose(final Status status, final Metadata trailers) {
                open = null;
                if (!status.isOk() && status.getCode() != Status.Code.CANCELLED) {
                    exchange.ctx.write(line("{\"error\":" + error(status) + "}\n"));
                }
                exchange.end(LastHttpContent.EMPTY_LAST_CONTENT);
            }
        }
    }

    /** The answer to a unary call: its message as JSON, or etcd's error body and grpc-gateway's HTTP status. */
    private static final class Unary extends ClientCall.Listener<Message> {
        private final Exchange exchange;
        private Message answer;

        Unary(final Exchange exchange) {
            this.exchange = exchange;
        }

        @Override
        public void onMessage(final Message message) {
            answer = message;
        }

        @Override
        public void onClose(final Status status, final Metadata trailers) {
            if (status.isOk() && answer != null) {
                exchange.reply(HttpResponseStatus.OK, JSON, print(answer));
            } else {
                final Status failed = status.isOk() ? Status.INTERNAL.withDescription("no answer") : status;
                exchange.reply(HttpResponseStatus.valueOf(httpStatus(failed.getCode())), JSON, error(failed));
            }
        }
    }

    /** A request being answered: writes through its handler's context (never the channel's tail, where gRPC's
     * negotiation buffer sits on a client-port connection), then reads the next request or closes. */
    private record Exchange(ChannelHandlerContext ctx, boolean keepAlive) {
        void reply(final HttpResponseStatus status, final String type, final String body) {
            final FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
            response.headers().set(HttpHeaderNames.CONTENT_TYPE, type);
            HttpUtil.setContentLength(response, response.content().readableBytes());
            end(response);
        }

        void end(final Object last) {
            if (keepAlive) {
                ctx.writeAndFlush(last).addListener((ChannelFutureListener)written -> {
                    if (written.isSuccess()) {
                        ctx.channel().config().setAutoRead(true);
                    } else {
                        ctx.close();
                    }
                });
            } else {
                ctx.writeAndFlush(last).addListener(ChannelFutureListener.CLOSE);
            }
        }
    }

    /**
     * etcd 3.4.23's {@code /health}: GET only; healthy with a leader and no alarm but those excluded
     * ({@code ?exclude=NOSPACE}, as kubeadm's probe asks), {@code {"health":"true"}}; otherwise 503 with
     * {@code {"health":"false"}} as Go's {@code http.Error} writes it (text, a newline). etcd also makes a quorum read
     * (QGET); Cairn's leader is known from its heartbeats within an election timeout.
     */
    private void health(final Exchange exchange, final FullHttpRequest request) {
        if (!HttpMethod.GET.equals(request.method())) {
            exchange.reply(HttpResponseStatus.METHOD_NOT_ALLOWED, TEXT, "Method Not Allowed\n");
            return;
        }
        int alarms = status.alarmBits();
        for (final String excluded : new QueryStringDecoder(request.uri()).parameters().getOrDefault("exclude",
            java.util.List.of())) {
            if ("NOSPACE".equals(excluded)) {
                alarms &= ~(1 << io.cairn.engine.mvcc.MvccCommand.ALARM_NOSPACE);
            } else if ("CORRUPT".equals(excluded)) {
                alarms &= ~(1 << io.cairn.engine.mvcc.MvccCommand.ALARM_CORRUPT);
            }
        }
        if (status.leaderId() != 0 && alarms == 0) {
            exchange.reply(HttpResponseStatus.OK, TEXT, "{\"health\":\"true\"}");
        } else {
            exchange.reply(HttpResponseStatus.SERVICE_UNAVAILABLE, TEXT, "{\"health\":\"false\"}\n");
        }
    }

    /**
     * etcd's grpc-gateway passes an HTTP {@code Authorization} header on as {@code authorization} metadata (the bare
     * token: no "Bearer "), and {@code Grpc-Metadata-Token} as {@code token}.
     */
    private Channel credited(final FullHttpRequest request) {
        final String authorization = request.headers().get(HttpHeaderNames.AUTHORIZATION);
        final String token = request.headers().get("Grpc-Metadata-Token");
        if (authorization == null && token == null) {
            return channel;
        }
        final Metadata headers = new Metadata();
        if (authorization != null) {
            headers.put(AUTHORIZATION_HEADER, authorization);
        }
        if (token != null) {
            headers.put(TOKEN_HEADER, token);
        }
        return ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(headers));
    }

    /** etcd 3.4's {@code /v3/lease/leases}: the method the stubs lack, its answer turned into etcd's JSON by hand. */
    private static void leases(final Exchange exchange, final Channel credited) {
        final ClientCall<byte[], byte[]> call = credited.newCall(io.cairn.server.node.LeaseLeases.METHOD,
            CallOptions.DEFAULT.withDeadlineAfter(CALL_TIMEOUT_S, TimeUnit.SECONDS));
        call.start(new ClientCall.Listener<>() {
            private byte[] answer;

            @Override
            public void onMessage(final byte[] message) {
                answer = message;
            }

            @Override
            public void onClose(final Status status, final Metadata trailers) {
                if (!status.isOk() || answer == null) {
                    final Status failed = status.isOk() ? Status.INTERNAL.withDescription("no answer") : status;
                    exchange.reply(HttpResponseStatus.valueOf(httpStatus(failed.getCode())), JSON, error(failed));
                    return;
                }
                try {
                    exchange.reply(HttpResponseStatus.OK, JSON, leasesJson(answer));
                } catch (final IOException ex) {
                    exchange.reply(HttpResponseStatus.INTERNAL_SERVER_ERROR, JSON, error(Status.INTERNAL
                        .withDescription(ex.getMessage())));
                }
            }
        }, new Metadata());
        call.request(1);
        call.sendMessage(new byte[0]);
        call.halfClose();
    }

    static String leasesJson(final byte[] answer) throws IOException {
        final CodedInputStream in = CodedInputStream.newInstance(answer);
        final StringBuilder json = new StringBuilder("{");
        final StringBuilder leases = new StringBuilder();
        for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
            if (tag >>> 3 == 1) {
                json.append("\"header\":").append(PRINTER.print(ResponseHeader.parseFrom(in.readBytes())));
            } else if (tag >>> 3 == 2) {
                final CodedInputStream status = CodedInputStream.newInstance(in.readByteArray());
                long id = 0;
                for (int field = status.readTag(); field != 0; field = status.readTag()) {
                    if (field >>> 3 == 1) {
                        id = status.readInt64();
                    } else {
                        status.skipField(field);
                    }
                }
                leases.append(leases.length() == 0 ? "" : ",").append("{\"ID\":\"").append(id).append("\"}");
            } else {
                in.skipField(tag);
            }
        }
        if (leases.length() > 0) {
            json.append(json.length() > 1 ? "," : "").append("\"leases\":[").append(leases).append(']');
        }
        return json.append('}').toString();
    }

    private static DefaultHttpContent line(final String text) {
        return new DefaultHttpContent(Unpooled.copiedBuffer(text, StandardCharsets.UTF_8));
    }

    private static String print(final Message message) {
        try {
            return PRINTER.print(message);
        } catch (final InvalidProtocolBufferException ex) {
            throw new IllegalStateException("a message JsonFormat cannot print: " + ex.getMessage(), ex);
        }
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
}
