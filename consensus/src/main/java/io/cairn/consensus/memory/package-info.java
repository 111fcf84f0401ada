/**
 * The core's storage contracts in memory: a {@link io.cairn.consensus.memory.MemoryWal} with the real WAL's failure
 * model (what was not synced may be lost, in order, the first lost append possibly torn) and a
 * {@link io.cairn.consensus.memory.MemorySnapshotStore}. The deterministic simulator runs every member on them, and
 * the core's scenario tests use them where the disk is not what is tested.
 *
 * <p>Depends on {@code io.cairn.consensus} and the engine's WAL contract only.
 */
package io.cairn.consensus.memory;
