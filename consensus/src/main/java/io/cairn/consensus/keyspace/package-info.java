/**
 * The keyspace as Raft's state machine: {@code KeyspaceStateMachine} applies committed runs to the MVCC store in one
 * LMDB transaction each; {@code SnapshotDirectory} keeps the member's snapshots as the store's own files and serves
 * them to the core as its snapshot source and sink; {@code LeaseKeeper} keeps lease time on the leader and proposes
 * revokes when leases expire.
 *
 * <p>Uses the engine's keyspace, leases and snapshots, and the core and loop of this module. Knows nothing of Aeron,
 * gRPC or the etcd API's protobuf.
 */
package io.cairn.consensus.keyspace;
