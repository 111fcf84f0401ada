/**
 * etcd's MVCC data model on LMDB: revisions (main, sub); per key create/mod revision, version and lease; put, range,
 * delete range, txn (nested, compares on value/version/revisions/lease), compaction; the changes since a revision
 * for watchers; leases' and alarms' state. Commands and responses are flat off-heap layouts ({@code MvccCommand},
 * {@code MvccResponse}); reads hand out views into LMDB's map.
 *
 * <p>Knows nothing of Raft roles, the network or gRPC: imports only {@code io.cairn.engine.check},
 * {@code io.cairn.engine.files} and {@code io.cairn.engine.lease}.
 */
package io.cairn.engine.mvcc;
