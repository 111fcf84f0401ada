/**
 * A replicated Cairn node inside a Java service ({@link io.cairn.embedded.CairnNode}, started from a
 * {@link io.cairn.embedded.NodeConfig}): etcd's KV calls typed ({@link io.cairn.embedded.KvClient}), etcd's errors
 * as {@link io.cairn.embedded.CairnError}, and the command layer beneath them that the etcd gRPC server uses too.
 *
 * <p>Depends on the transport, consensus and the engine; knows nothing of gRPC, Netty or protobuf (the server is
 * built on this package, never the other way round).
 */
package io.cairn.embedded;
