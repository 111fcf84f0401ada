/**
 * JMH harnesses for the transport: the loopback round trip over Cairn's Aeron transport, the network's physical
 * limit for replication on one machine.
 */
package io.cairn.bench.transport;
