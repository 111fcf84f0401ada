/**
 * etcd's JSON gateway (it calls the member's own gRPC port, so answers and errors are the gRPC ones), {@code /health},
 * {@code /version} and {@code /metrics} (read from a {@link io.cairn.server.node.NodeStatus}). Must not import
 * {@code grpc}, {@code cli} or the composition root.
 */
package io.cairn.server.http;
