/**
 * Snapshots: a consistent copy of the keyspace's LMDB file, tagged with the Raft index and term it reflects, with
 * a checksummed trailer; streamed in checksummed chunks to a lagging follower; installed by swapping the store file
 * and cutting the WAL; restored into a new data directory. The store's file format is the snapshot's format, so
 * nothing is serialised or parsed on the way out or in.
 *
 * <p>Uses {@code io.cairn.engine.mvcc} and {@code io.cairn.engine.wal}; knows nothing of Raft roles or the network.
 */
package io.cairn.engine.snapshot;
