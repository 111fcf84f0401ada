/**
 * Benchmarks of the replicated write path: a three-member cluster over Aeron in one JVM.
 */
package io.cairn.bench.cluster;
