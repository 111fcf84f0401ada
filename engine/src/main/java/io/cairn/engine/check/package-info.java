/**
 * Assertions that are always on ({@link io.cairn.engine.check.Check}), failing with
 * {@link io.cairn.engine.check.InvariantViolation}: a broken invariant is a bug, and the member stops rather than go
 * on with state it cannot trust (fail-stop). Bad input is not a bug: it is counted and dropped where it is read.
 * Pure: no I/O, no allocation on a passing check.
 */
package io.cairn.engine.check;
