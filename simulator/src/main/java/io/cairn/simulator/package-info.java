/**
 * The deterministic simulator: whole clusters of {@link io.cairn.consensus.RaftCore}s (or of the keyspace state
 * machine) on a simulated clock, network and disk, driven by one seeded random source, so that any failing seed
 * replays exactly ({@code ./cairn simulate --seed S --count 1}). After every step {@link
 * io.cairn.simulator.SafetyChecker} checks Raft's safety properties and, at the end, {@link
 * io.cairn.simulator.LinearizabilityChecker} checks the clients' history; {@link io.cairn.simulator.RecordedHistory}
 * lets the process-level fault suites check theirs with the same checker.
 *
 * <p>A module of main sources rather than a test tree, so that the CLI can run it without shipping any test-jar;
 * the consensus module's own tests cannot use it (the module depends on consensus), so the tests that drive the
 * simulator live here. Depends on {@code io.cairn.consensus} and {@code io.cairn.engine}; must not import Aeron,
 * gRPC or the server.
 */
package io.cairn.simulator;
