/**
 * Consensus's peer messages over Aeron UDP: an embedded (or external) media driver, one subscription per node, one
 * exclusive publication per peer, every message in a checksummed {@code PeerFrame}; malformed frames are dropped and
 * counted, back-pressure is a return code.
 *
 * <p>Depends on {@code io.cairn.consensus} (and the engine's {@code Check}). Must not import the keyspace or gRPC.
 */
package io.cairn.transport.aeron;
