package io.cairn.transport.aeron;

import io.cairn.consensus.Role;
import io.cairn.consensus.keyspace.KeyspaceMember;
import io.cairn.consensus.loop.RaftListener;

import java.io.IOException;
import java.net.DatagramSocket;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * Test support: three {@link KeyspaceMember}s over Aeron UDP on loopback in this JVM (ids 1 to 3, each with an
 * embedded media driver), their roles recorded as their loops report them. {@link #close} stops whatever runs.
 */
final class AeronMembers implements AutoCloseable {
    /** Members, ids 1..COUNT. */
    static final int COUNT = 3;

    private final Map<Integer, String> endpoints = new HashMap<>();
    private final AeronTransport[] transports = new AeronTransport[COUNT + 1];
    private final KeyspaceMember[] members = new KeyspaceMember[COUNT + 1];
    private final AtomicIntegerArray roles = new AtomicIntegerArray(COUNT + 1);

    /**
     * Picks a free loopback UDP port for each member; starts nothing.
     *
     * @throws IOException if no port can be had.
     */
    AeronMembers() throws IOException {
        for (int id = 1; id <= COUNT; id++) {
            endpoints.put(id, "127.0.0.1:" + freePort());
        }
    }

    /**
     * @return a loopback port free now for UDP and for TCP (sealed frames agree their keys over TCP on it).
     * @throws IOException if none can be had.
     */
    static int freePort() throws IOException {
        // The kernel may give the same port to two asks in a row: hand each out once per JVM.
        for (int attempt = 0; attempt < 100; attempt++) {
            try (DatagramSocket socket = new DatagramSocket(0)) {
                if (tcpFree(socket.getLocalPort()) && HANDED_OUT.add(socket.getLocalPort())) {
                    return socket.getLocalPort();
                }
            }
        }
        throw new IOException("no free UDP port not handed out already");
    }

    private static boolean tcpFree(final int port) {
        try (java.net.ServerSocket socket = new java.net.ServerSocket()) {
            socket.bind(new java.net.InetSocketAddress("127.0.0.1", port));
            return true;
        } catch (final IOException ex) {
            return false;
        }
    }

    private static final java.util.Set<Integer> HANDED_OUT = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /**
     * Starts member {@code id} (its transport, then its loop on its own thread).
     *
     * @param id        the member.
     * @param settings  its settings (data directory, timing).
     * @param proposals told of each proposal's outcome, on the member's loop thread.
     * @throws IOException if its files cannot be opened.
     */
    void start(final int id, final KeyspaceMember.Settings settings, final RaftListener.ProposalOutcome proposals)
        throws IOException {
        transports[id] = AeronTransport.launch(AeronTransportConfig.ofMember(id, endpoints));
        members[id] = new KeyspaceMember(settings, transports[id],
            RaftListener.forWrites(proposals, (role, term, leaderId) -> roles.set(id, role)))
            .start(Throwable::printStackTrace);
    }

    /**
     * Stops member {@code id}'s loop and transport, if it runs.
     *
     * @param id the member.
     */
    void stop(final int id) {
        if (members[id] != null) {
            members[id].close();
            members[id] = null;
        }
        if (transports[id] != null) {
            transports[id].close();
            transports[id] = null;
        }
        roles.set(id, Role.FOLLOWER);
    }

    /**
     * @param id a member.
     * @return it, or null when it is not running.
     */
    KeyspaceMember member(final int id) {
        return members[id];
    }

    /**
     * @param id a member.
     * @return its transport, or null when it is not running.
     */
    AeronTransport transport(final int id) {
        return transports[id];
    }

    /**
     * @param id a member.
     * @return its endpoint, host:port.
     */
    String endpoint(final int id) {
        return endpoints.get(id);
    }

    /**
     * @param id a member.
     * @return the role its loop last reported.
     */
    int role(final int id) {
        return roles.get(id);
    }

    /**
     * @return a running member that says it leads, or 0.
     */
    int leader() {
        for (int id = 1; id <= COUNT; id++) {
            if (members[id] != null && roles.get(id) == Role.LEADER) {
                return id;
            }
        }
        return 0;
    }

    /**
     * @param seconds how long to wait.
     * @return the leader, once there is one.
     * @throws InterruptedException if interrupted.
     * @throws AssertionError if none is elected in time.
     */
    int awaitLeader(final long seconds) throws InterruptedException {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (leader() == 0) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no leader within " + seconds + " s");
            }
            Thread.sleep(10);
        }
        return leader();
    }

    @Override
    public void close() {
        for (int id = 1; id <= COUNT; id++) {
            stop(id);
        }
    }

    /**
     * @param from     the sender every message must come from.
     * @param received where copies of the messages go, in arrival order.
     * @return a handler that checks the sender and keeps a copy of each message.
     */
    static PeerMessageHandler collector(final int from, final java.util.List<byte[]> received) {
        return (sender, buffer, offset, length) -> {
            org.junit.jupiter.api.Assertions.assertEquals(from, sender);
            final byte[] copy = new byte[length];
            buffer.getBytes(offset, copy);
            received.add(copy);
        };
    }
}
