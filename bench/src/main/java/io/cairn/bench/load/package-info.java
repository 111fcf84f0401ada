/**
 * A load generator that speaks etcd's v3 gRPC API (the generated {@code KVGrpc} stubs over grpc-java's Netty
 * transport), so the same run drives Cairn and a real etcd: closed loop or fixed rate with coordinated omission
 * corrected, one HdrHistogram per operation type, CPU seconds of given processes, a text summary and JSON.
 *
 * <p>It owns the client side only and must not import Cairn's own modules ({@code io.cairn.engine},
 * {@code io.cairn.consensus}, {@code io.cairn.server}): what it measures has to be reachable by any etcd client.
 */
package io.cairn.bench.load;
