package io.cairn.server.http;

import io.grpc.Attributes;
import io.grpc.Grpc;
import io.grpc.InternalChannelz;
import io.grpc.SecurityLevel;
import io.grpc.internal.GrpcAttributes;
import io.grpc.netty.GrpcHttp2ConnectionHandler;
import io.grpc.netty.InternalProtocolNegotiationEvent;
import io.grpc.netty.InternalProtocolNegotiator;
import io.grpc.netty.InternalProtocolNegotiators;
import io.grpc.netty.ProtocolNegotiationEvent;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.AsciiString;
import io.netty.util.ReferenceCountUtil;

import java.util.function.Consumer;

/**
 * gRPC and HTTP/1.1 on one client port, as etcd serves them (it multiplexes its listener with cmux). grpc-netty asks
 * a protocol negotiator for the first handler of each connection; this one decides which protocol the connection
 * speaks and then steps aside, so a gRPC connection's pipeline afterwards is exactly grpc-netty's own and its calls
 * pay nothing for the choice.
 *
 * <ul>
 *   <li>Plaintext: the first bytes decide. HTTP/2 opens with its fixed client preface ({@code PRI * HTTP/2.0...}),
 *       and gRPC always speaks HTTP/2 with prior knowledge; anything else is HTTP/1.1. The decision needs at most the
 *       preface's 24 bytes, usually the first read.</li>
 *   <li>TLS: ALPN decides, after the handshake. The server offers {@code http/1.1} first, then {@code h2}: gRPC
 *       clients offer {@code h2} alone and get it; curl and browsers offer both and get HTTP/1.1 (the JSON gateway
 *       speaks HTTP/1.1 only); a client that offers nothing gets HTTP/1.1.</li>
 * </ul>
 *
 * <p>grpc-netty's negotiation API is marked internal; Cairn pins grpc-java's version, and {@code TlsIT} and
 * {@code HttpGatewayIT} exercise both paths with etcdctl, jetcd and curl on every build.
 */
public final class ClientPortProtocols implements InternalProtocolNegotiator.ProtocolNegotiator {
    private static final ByteBuf PREFACE = Http2CodecUtil.connectionPrefaceBuf();
    private static final AsciiString HTTP = AsciiString.of("http");
    private static final AsciiString HTTPS = AsciiString.of("https");

    private final SslContext tls;
    private final Consumer<ChannelHandlerContext> http1;

    /**
     * @param tls   the server's TLS, with ALPN offering {@code http/1.1} then {@code h2}; null for plaintext.
     * @param http1 installs the HTTP/1.1 handlers after the given (deciding) handler's place in the pipeline.
     */
    public ClientPortProtocols(final SslContext tls, final Consumer<ChannelHandlerContext> http1) {
        this.tls = tls;
        this.http1 = http1;
    }

    @Override
    public AsciiString scheme() {
        return tls == null ? HTTP : HTTPS;
    }

    @Override
    public io.netty.channel.ChannelHandler newHandler(final GrpcHttp2ConnectionHandler grpc) {
        return new Decider(grpc);
    }

    @Override
    public void close() {
        // nothing held
    }

    /** The first handler of a connection: decides, installs gRPC's or HTTP/1.1's handlers, and leaves. */
    private final class Decider extends ChannelInboundHandlerAdapter {
        private final GrpcHttp2ConnectionHandler grpc;
        private ProtocolNegotiationEvent event = InternalProtocolNegotiationEvent.getDefault();
        private ByteBuf first;
        private SslHandler sslHandler;

        Decider(final GrpcHttp2ConnectionHandler grpc) {
            this.grpc = grpc;
        }

        @Override
        public void handlerAdded(final ChannelHandlerContext ctx) {
            if (tls != null) {
                sslHandler = tls.newHandler(ctx.alloc());
                ctx.pipeline().addBefore(ctx.name(), null, sslHandler);
            }
        }

        @Override
        public void handlerRemoved(final ChannelHandlerContext ctx) {
            if (first != null) {
                first.release();
                first = null;
            }
        }

        @Override
        public void userEventTriggered(final ChannelHandlerContext ctx, final Object evt) throws Exception {
            if (evt instanceof ProtocolNegotiationEvent negotiation) {
                event = negotiation; // grpc-netty's start: kept for gRPC's handler, once chosen
            } else if (evt instanceof SslHandshakeCompletionEvent handshake) {
                if (!handshake.isSuccess()) {
                    ctx.close(); // refused certificate, wrong protocol: SslHandler has said why to the client
                    return;
                }
                if (ApplicationProtocolNames.HTTP_2.equals(sslHandler.applicationProtocol())) {
                    toGrpc(ctx, tlsAttributes(ctx));
                } else {
                    toHttp1(ctx);
                }
            } else {
                super.userEventTriggered(ctx, evt);
            }
        }

        @Override
        public void channelRead(final ChannelHandlerContext ctx, final Object msg) {
            if (!(msg instanceof ByteBuf bytes)) {
                ReferenceCountUtil.release(msg);
                return;
            }
            if (first == null) {
                first = ctx.alloc().buffer(PREFACE.readableBytes());
            }
            first.writeBytes(bytes);
            bytes.release();
            if (tls != null) {
                return; // ALPN decides (the handshake's end comes first; kept for the chosen handler all the same)
            }
            final int seen = Math.min(first.readableBytes(), PREFACE.readableBytes());
            if (!ByteBufUtil.equals(first, first.readerIndex(), PREFACE, PREFACE.readerIndex(), seen)) {
                toHttp1(ctx);
            } else if (seen == PREFACE.readableBytes()) {
                toGrpc(ctx, plainAttributes(ctx));
            }
        }

        @Override
        public void channelReadComplete(final ChannelHandlerContext ctx) {
            if (first != null) {
                ctx.read(); // still deciding: read more even without auto-read
            }
        }

        private Attributes plainAttributes(final ChannelHandlerContext ctx) {
            return InternalProtocolNegotiationEvent.getAttributes(event).toBuilder()
                .set(Grpc.TRANSPORT_ATTR_LOCAL_ADDR, ctx.channel().localAddress())
                .set(Grpc.TRANSPORT_ATTR_REMOTE_ADDR, ctx.channel().remoteAddress())
                .set(GrpcAttributes.ATTR_SECURITY_LEVEL, SecurityLevel.NONE)
                .build();
        }

        private Attributes tlsAttributes(final ChannelHandlerContext ctx) {
            return InternalProtocolNegotiationEvent.getAttributes(event).toBuilder()
                .set(Grpc.TRANSPORT_ATTR_LOCAL_ADDR, ctx.channel().localAddress())
                .set(Grpc.TRANSPORT_ATTR_REMOTE_ADDR, ctx.channel().remoteAddress())
                .set(GrpcAttributes.ATTR_SECURITY_LEVEL, SecurityLevel.PRIVACY_AND_INTEGRITY)
                .set(Grpc.TRANSPORT_ATTR_SSL_SESSION, sslHandler.engine().getSession())
                .build();
        }

        /** gRPC's own handler takes the connection, as grpc-netty's plaintext and TLS negotiators leave it. */
        private void toGrpc(final ChannelHandlerContext ctx, final Attributes attributes) {
            ProtocolNegotiationEvent done = InternalProtocolNegotiationEvent.withAttributes(event, attributes);
            if (sslHandler != null) {
                done = InternalProtocolNegotiationEvent.withSecurity(done, new InternalChannelz.Security(
                    new InternalChannelz.Tls(sslHandler.engine().getSession())));
            }
            ctx.pipeline().addAfter(ctx.name(), null, InternalProtocolNegotiators.grpcNegotiationHandler(grpc));
            ctx.fireUserEventTriggered(done);
            handOver(ctx);
        }

        private void toHttp1(final ChannelHandlerContext ctx) {
            grpc.notifyUnused(); // grpc-netty's transport for this connection ends when the connection does
            http1.accept(ctx);
            handOver(ctx);
        }

        /** Passes on what was read while deciding, and leaves the pipeline. */
        private void handOver(final ChannelHandlerContext ctx) {
            final ByteBuf read = first;
            first = null;
            if (read != null) {
                ctx.fireChannelRead(read);
                ctx.fireChannelReadComplete();
            }
            ctx.pipeline().remove(this);
        }
    }
}
