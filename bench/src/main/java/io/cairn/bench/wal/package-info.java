/**
 * JMH harnesses for the WAL: append throughput by batch size with sync on and (labelled) off.
 */
package io.cairn.bench.wal;
