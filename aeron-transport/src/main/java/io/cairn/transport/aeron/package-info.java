/**
 * Consensus's {@code Transport} over Aeron UDP and the peer message codecs.
 *
 * <p>Depends on {@code io.cairn.consensus}. Must not import the keyspace or gRPC. Built under the issue
 * "Aeron transport"; this package holds nothing yet.
 */
package io.cairn.transport.aeron;
