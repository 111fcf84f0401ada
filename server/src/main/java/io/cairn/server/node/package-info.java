/**
 * The embedded node as the etcd services see it: {@link io.cairn.server.node.Node} (what a gRPC service or the watch
 * hub may do: validate and write, read after a ReadIndex round, ask the lease keeper, change the membership, move
 * the leadership, reach the leader), implemented by {@link io.cairn.server.node.GrpcNode} over the embedded
 * {@code CairnNode}, with what only a server has: channels to the leader's client port, publishing this member's
 * client URL, noticing its removal. Also etcd's gRPC statuses for refusals ({@link io.cairn.server.node.EtcdStatus}).
 *
 * <p>Depends on the embedded node and the layers below the server; must not import {@code grpc}, {@code http},
 * {@code cli} or the composition root.
 */
package io.cairn.server.node;
