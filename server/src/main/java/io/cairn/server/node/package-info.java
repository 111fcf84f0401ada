/**
 * This member as the services see it: {@link io.cairn.server.node.Node} (what a gRPC service or the watch hub may
 * do: validate and write, read after a ReadIndex round, ask the lease keeper, change the membership, move the
 * leadership, reach the leader) and {@link io.cairn.server.node.NodeStatus} (what {@code /health} and
 * {@code /metrics} read), both implemented by {@link io.cairn.server.node.RaftNode} over the keyspace member. Also
 * etcd's gRPC statuses for refusals ({@link io.cairn.server.node.EtcdStatus}).
 *
 * <p>Depends on {@code cluster} and the layers below the server; must not import {@code grpc}, {@code http},
 * {@code cli} or the composition root.
 */
package io.cairn.server.node;
