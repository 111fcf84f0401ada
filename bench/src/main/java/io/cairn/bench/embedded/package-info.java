/**
 * The embedded node's calls as a Java service makes them ({@code io.cairn.embedded}): a put's commit, gets,
 * linearizable and serializable, with three nodes in one JVM.
 */
package io.cairn.bench.embedded;
