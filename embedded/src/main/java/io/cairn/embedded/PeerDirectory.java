package io.cairn.embedded;

import io.cairn.embedded.cluster.ClusterView;
import io.cairn.transport.aeron.AeronTransport;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Keeps the transport's peers equal to the configuration in force: a new member, or one whose peer URL moved, gets a
 * publication to its endpoint; a member no longer configured loses its publication. Only a member knows the
 * configuration for certain, so one still joining keeps the peers its flags named. Loop thread only (the loop tells
 * the node of every configuration change on its own thread).
 */
final class PeerDirectory {
    private final AeronTransport transport;
    private final int selfId;
    /** How long a removed member's publication stays open. */
    static final long LINGER_NS = TimeUnit.SECONDS.toNanos(5);
    private final Map<Integer, String> endpoints = new HashMap<>();
    private final Map<Integer, Long> lingering = new HashMap<>(); // removed member → when to close its publication

    /**
     * @param transport the member's transport.
     * @param selfId    this member's ID.
     * @param initial   the peers the transport was launched with (ID → host:port).
     */
    PeerDirectory(final AeronTransport transport, final int selfId, final Map<Integer, String> initial) {
        this.transport = transport;
        this.selfId = selfId;
        this.endpoints.putAll(initial);
    }

    /**
     * @param view     the configuration in force now.
     * @param isMember whether this member is in it.
     */
    void onConfiguration(final ClusterView view, final boolean isMember) {
        for (final ClusterView.Member each : view.members()) {
            final String endpoint = each.peerEndpoint();
            lingering.remove(each.id()); // a member removed and added back keeps its publication
            if (each.id() != selfId && endpoint != null && !endpoint.equals(endpoints.get(each.id()))) {
                transport.addPeer(each.id(), endpoint); // replaces: a new member, or a moved one
                endpoints.put(each.id(), endpoint);
            }
        }
        if (isMember) {
            endpoints.keySet().removeIf(id -> {
                if (view.byId(id) != null) {
                    return false;
                }
                lingering.put(id, System.nanoTime() + LINGER_NS);
                return true;
            });
        }
    }

    /**
     * Closes the publications of removed members whose linger is over.
     *
     * @param nowNs {@link System#nanoTime()}.
     * @return how many it closed.
     */
    int expire(final long nowNs) {
        if (lingering.isEmpty()) {
            return 0;
        }
        final int before = lingering.size();
        lingering.entrySet().removeIf(entry -> {
            if (nowNs - entry.getValue() < 0) {
                return false;
            }
            transport.removePeer(entry.getKey());
            return true;
        });
        return before - lingering.size();
    }
}
