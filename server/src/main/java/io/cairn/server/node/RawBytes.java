package io.cairn.server.node;

import io.grpc.MethodDescriptor;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/** A gRPC marshaller that leaves messages as the bytes on the wire (for calls relayed without parsing them). */
public enum RawBytes implements MethodDescriptor.Marshaller<byte[]> {
    /** The one instance. */
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
