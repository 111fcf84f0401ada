/**
 * A runnable Cairn node: configuration, the etcd v3 gRPC services, the JSON gateway and the command line.
 * Protobuf and gRPC types stop here.
 *
 * <p>Built under the issue "Server"; this package holds nothing yet.
 */
package io.cairn.server;
