/**
 * The single-threaded event loop around the pure core: {@link io.cairn.consensus.loop.RaftAgent}, an Agrona
 * {@code Agent}, is the only class of the consensus module with a clock, and with its thread the only place where
 * the WAL is synced, messages meet the {@link io.cairn.consensus.Transport} and entries are applied to the
 * {@link io.cairn.consensus.StateMachine}. Callers on other threads reach it through a many-to-one ring buffer
 * ({@link io.cairn.consensus.loop.RaftRequests}) and hear back through a
 * {@link io.cairn.consensus.loop.RaftListener} called on the loop's thread.
 *
 * <p>Depends on {@code io.cairn.consensus} and {@code io.cairn.engine} (the WAL) only. Must not import Aeron, gRPC or
 * the etcd API: transports and state machines are injected.
 */
package io.cairn.consensus.loop;
