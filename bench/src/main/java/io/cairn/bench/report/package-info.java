/**
 * {@code report}: reads what the probes, JMH and the load generator stored under {@code perf-results/} and renders
 * {@code perf-results/README.md} (per hardware profile: the machine, the latest result of each benchmark beside the
 * physical limit it is bounded by, allocation, Cairn against etcd, headline numbers across profiles) and SVG charts in
 * {@code perf-results/charts/}. Same input, byte-identical output: everything is sorted and nothing is timestamped.
 *
 * <p>It reads files only and must not import Cairn's own modules ({@code io.cairn.engine}, {@code io.cairn.consensus},
 * {@code io.cairn.transport}, {@code io.cairn.server}).
 */
package io.cairn.bench.report;
