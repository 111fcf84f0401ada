/**
 * A runnable Cairn member: {@link io.cairn.server.CairnMember} wires the keyspace member, its Aeron transport and
 * the client-facing services together and runs them; {@link io.cairn.server.Topology} and
 * {@link io.cairn.server.MemberAttributes} say who the members are and where they listen;
 * {@link io.cairn.server.ClusterView} is the configuration as etcd's member list. The etcd v3 gRPC services are in
 * {@code grpc}, the JSON gateway, {@code /health} and {@code /metrics} in {@code http}, the command line in
 * {@code cli}. Protobuf and gRPC types stop here: below this module everything is the keyspace's flat layouts.
 */
package io.cairn.server;
