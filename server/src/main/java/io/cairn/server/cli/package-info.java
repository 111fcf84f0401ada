/**
 * The {@code cairn} command: one entry point for running members and clusters (issue "Server"), the simulator
 * (issue "Consensus") and the operator's tools on a data directory (WAL check, snapshot restore).
 */
package io.cairn.server.cli;
