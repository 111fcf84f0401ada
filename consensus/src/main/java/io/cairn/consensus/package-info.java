/**
 * Raft as a pure, deterministic state machine: ticks, peer messages and proposals in; a {@code Ready} of what to
 * persist, send and apply out. Owns no thread, clock, random source or I/O of its own.
 *
 * <p>Depends on {@code io.cairn.engine} only. Must not import Aeron, gRPC or the etcd API. Built under the issue
 * "Consensus"; this package holds nothing yet.
 */
package io.cairn.consensus;
