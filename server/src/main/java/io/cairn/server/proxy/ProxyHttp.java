package io.cairn.server.proxy;

import io.cairn.server.http.ClientPortProtocols;
import io.cairn.server.http.HttpGateway;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.RangeRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.ssl.SslContext;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * The proxy's HTTP/1.1: {@code /metrics} (Prometheus) and {@code /health} (etcd's answer: {@code {"health":"true"}}
 * when a linearizable read through the proxy succeeds within 2 s), on its gRPC port (one port, both protocols, as
 * etcd's proxy multiplexes them: {@link ClientPortProtocols}) and on {@code --metrics-addr}.
 */
final class ProxyHttp {
    /** Its requests are GETs: no body worth more. */
    private static final int REQUEST_BYTES_MAX = 64 * 1024;
    private final ProxyMetrics metrics;
    private final Upstream upstream;

    /**
     * @param metrics  what {@code /metrics} writes.
     * @param upstream what {@code /health} reads through.
     */
    ProxyHttp(final ProxyMetrics metrics, final Upstream upstream) {
        this.metrics = metrics;
        this.upstream = upstream;
    }

    /**
     * Takes over an HTTP/1.1 connection on the gRPC port after the deciding handler.
     *
     * @param ctx the deciding handler's context.
     */
    void install(final ChannelHandlerContext ctx) {
        HttpGateway.installHttp(ctx, REQUEST_BYTES_MAX, new Handler());
    }

    /**
     * @param loops   event loops.
     * @param address {@code --metrics-addr}.
     * @param tls     HTTPS, or null.
     * @return the listening channel.
     * @throws IOException if it cannot be bound.
     */
    Channel listen(final EventLoopGroup loops, final InetSocketAddress address, final SslContext tls)
        throws IOException {
        return HttpGateway.listenHttp(loops, address, tls, REQUEST_BYTES_MAX, Handler::new);
    }

    /** One connection's requests. */
    private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        @Override
        protected void channelRead0(final ChannelHandlerContext ctx, final FullHttpRequest request) {
            final boolean keepAlive = HttpUtil.isKeepAlive(request);
            switch (new QueryStringDecoder(request.uri()).path()) {
                case "/metrics" -> reply(ctx, keepAlive, HttpResponseStatus.OK,
                    "text/plain; version=0.0.4; charset=utf-8", metrics.scrape());
                case "/health" -> health(ctx, keepAlive);
                default -> reply(ctx, keepAlive, HttpResponseStatus.NOT_FOUND, "text/plain; charset=utf-8",
                    "404 page not found\n");
            }
        }

        private void health(final ChannelHandlerContext ctx, final boolean keepAlive) {
            ctx.channel().config().setAutoRead(false);
            final var answer = KVGrpc.newFutureStub(upstream.own()).withDeadlineAfter(2, TimeUnit.SECONDS)
                .range(RangeRequest.newBuilder().setKey(com.google.protobuf.ByteString.copyFromUtf8("health"))
                    .setCountOnly(true).build());
            answer.addListener(() -> {
                boolean healthy;
                String reason = "";
                try {
                    answer.get();
                    healthy = true;
                } catch (final java.util.concurrent.ExecutionException ex) {
                    final Status status = ex.getCause() instanceof StatusRuntimeException error ? error.getStatus()
                        : Status.UNKNOWN;
                    // A cluster with auth on answers an anonymous read PERMISSION_DENIED: it is up.
                    healthy = status.getCode() == Status.Code.PERMISSION_DENIED;
                    reason = healthy ? "" : String.valueOf(status.getDescription());
                } catch (final InterruptedException ex) {
                    Thread.currentThread().interrupt();
                    healthy = false;
                }
                final String body = "{\"health\":\"" + healthy + "\""
                    + (reason.isEmpty() ? "" : ",\"reason\":\"" + reason.replace("\"", "'") + "\"") + "}";
                ctx.channel().config().setAutoRead(true);
                reply(ctx, keepAlive, healthy ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE,
                    "application/json", body);
            }, ctx.executor());
        }

        private void reply(final ChannelHandlerContext ctx, final boolean keepAlive, final HttpResponseStatus status,
            final String type, final String body) {
            final FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
            response.headers().set(HttpHeaderNames.CONTENT_TYPE, type);
            HttpUtil.setContentLength(response, response.content().readableBytes());
            HttpUtil.setKeepAlive(response, keepAlive);
            final var written = ctx.writeAndFlush(response);
            if (!keepAlive) {
                written.addListener(ChannelFutureListener.CLOSE);
            }
        }

        @Override
        public void exceptionCaught(final ChannelHandlerContext ctx, final Throwable cause) {
            ctx.close();
        }
    }
}
