/**
 * etcd's v3 gRPC services (KV, Watch, Lease, Cluster, Maintenance), the protobuf ↔ keyspace-layout codecs
 * ({@link io.cairn.server.grpc.EtcdCommands}, {@link io.cairn.server.grpc.EtcdAnswers}) and the watch hub. Every
 * service holds a {@link io.cairn.server.node.Node}, never the server. Must not import {@code http}, {@code cli} or
 * the composition root.
 */
package io.cairn.server.grpc;
