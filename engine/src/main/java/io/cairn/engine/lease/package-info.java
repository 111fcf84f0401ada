/**
 * Leases: their state (ID, granted TTL, attached keys) lives in the keyspace's LMDB environment and changes through
 * keyspace commands ({@code LEASE_GRANT}, {@code LEASE_REVOKE}, puts with a lease), so it moves atomically with the
 * keys; expiry is decided by the leader above this module with {@link io.cairn.engine.lease.LeaseDeadlines}, a pure
 * structure of deadlines the leader computes from its own clock, and carried out by proposing revokes.
 *
 * <p>Knows nothing of Raft roles, the network or gRPC.
 */
package io.cairn.engine.lease;
