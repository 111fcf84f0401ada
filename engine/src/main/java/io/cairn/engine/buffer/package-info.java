/**
 * Flyweights, checksums and invariant checks shared by the engine's packages. Pure: no I/O.
 */
package io.cairn.engine.buffer;
