package io.cairn.server.node;

import io.etcd.jetcd.api.LeaseGrpc;
import io.grpc.MethodDescriptor;


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
}
