/**
 * JMH harnesses for the keyspace: applying commands in batches, serving reads as views, compaction, snapshot take
 * and restore. Uses {@code io.cairn.engine} only.
 */
package io.cairn.bench.mvcc;
