/**
 * A runnable Cairn member, as a composition root: {@link io.cairn.server.CairnMember} builds the keyspace member,
 * its Aeron transport, the node the services talk to ({@code node}), the etcd v3 gRPC services ({@code grpc}) and the
 * JSON gateway with {@code /health} and {@code /metrics} ({@code http}), starts them and stops them. Who the members
 * are and where they listen is in {@code cluster}; the command line in {@code cli}. Protobuf and gRPC types stop in
 * this module: below it everything is the keyspace's flat layouts.
 */
package io.cairn.server;
