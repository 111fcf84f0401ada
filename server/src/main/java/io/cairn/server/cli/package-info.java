/**
 * The {@code cairn} command: one entry point for running a member ({@code member}) or a local three-member cluster,
 * the deterministic simulator ({@code simulate}) and the operator's tools on a data directory (WAL check, snapshot
 * restore).
 */
package io.cairn.server.cli;
