package io.cairn.server.node;

import io.etcd.jetcd.api.LeaseGrpc;
import io.grpc.MethodDescriptor;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * etcd 3.4's Lease/LeaseLeases, which jetcd's (older) proto lacks: the method, its messages as raw bytes (request:
 * empty; response: header = 1, repeated LeaseStatus{int64 ID = 1} = 2). The Lease service serves it and the JSON
 * gateway calls it.
 */
public final class LeaseLeases {
    /** The method. */
    public static final MethodDescriptor<byte[], byte[]> METHOD = MethodDescriptor.<byte[], byte[]>newBuilder()
        .setType(MethodDescriptor.MethodType.UNARY)
        .setFullMethodName(MethodDescriptor.generateFullMethodName(LeaseGrpc.SERVICE_NAME, "LeaseLeases"))
        .setRequestMarshaller(RawBytes.INSTANCE).setResponseMarshaller(RawBytes.INSTANCE).build();

    private LeaseLeases() {
    }

    private enum RawBytes implements MethodDescriptor.Marshaller<byte[]> {
        INSTANCE;

        @Override
        public InputStream stream(final byte[] value) {
            return new ByteArrayInputStream(value);
        }

        @Override
        public byte[] parse(final InputStream stream) {
            try {
                return stream.readAllBytes();
            } catch (final IOException ex) {
                throw new UncheckedIOException(ex);
            }
        }
    }
}
