/**
 * Cairn's storage engine: the Raft log on Chronicle Queue ({@code wal}), the MVCC keyspace on LMDB ({@code mvcc}),
 * leases' state ({@code lease}), snapshots ({@code snapshot}), the always-on invariant checks they share
 * ({@code check}) and making a new file appear whole or not at all ({@code files}).
 *
 * <p>Knows nothing of Raft roles, the network or gRPC: it must not import {@code io.cairn.consensus},
 * {@code io.cairn.transport} or {@code io.cairn.server}.
 */
package io.cairn.engine;
