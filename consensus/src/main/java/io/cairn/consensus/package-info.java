/**
 * Raft as a pure, deterministic state machine: ticks, peer messages and proposals in; a
 * {@link io.cairn.consensus.Ready} of what to send, persist and apply out.
 *
 * <p>{@link io.cairn.consensus.RaftCore} owns no thread, clock, random source or I/O of its own: its log is the
 * engine's {@code Wal}, which it writes but never syncs; randomness comes from an injected
 * {@link io.cairn.consensus.RandomSource}; snapshots come and go through {@link io.cairn.consensus.SnapshotSource}
 * and {@link io.cairn.consensus.SnapshotSink}. Also here: the peer message flyweights
 * ({@link io.cairn.consensus.RaftMessage} layout, encoder, decoder), configurations
 * ({@link io.cairn.consensus.Membership}), per-follower replication state and flow control (Progress, Inflights),
 * quorum arithmetic, the ReadIndex queue, and the two interfaces the event loop drives:
 * {@link io.cairn.consensus.Transport} and {@link io.cairn.consensus.StateMachine}.
 *
 * <p>Depends on {@code io.cairn.engine} (the WAL contract, {@code Check}) and Agrona only. Must not import Aeron,
 * gRPC or the etcd API.
 */
package io.cairn.consensus;
