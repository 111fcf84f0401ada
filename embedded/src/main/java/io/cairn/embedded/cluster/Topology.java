package io.cairn.embedded.cluster;

import io.cairn.consensus.Membership;
import org.agrona.concurrent.UnsafeBuffer;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * The cluster's members as configured: etcd's {@code --initial-cluster name=peerURL,...} and each member's client URL
 * ({@code --initial-cluster-clients name=clientURL,...}). A member's ID is a hash of its peer URL's host:port
 * ({@link #idOf}), so a member that joins a running cluster knows the IDs of those it must answer before it has
 * heard the configuration, and the leader gives an added member the same ID from the URL alone (etcd derives member
 * IDs from peer URLs too). The configuration in force, with names and URLs, is replicated by Raft from then on
 * ({@link MemberAttributes}); this record only seeds it. Peer URLs' host:port are Aeron UDP endpoints; the scheme
 * is accepted and ignored.
 *
 * <p>Clients know members by etcd's 64-bit IDs, computed as etcd computes them from the peer URLs and the cluster token
 * ({@link EtcdIds}); the cluster ID is etcd's too.
 *
 * @param members   the members, in Raft ID order.
 * @param clusterId etcd's cluster ID: from the initial members' etcd IDs, the same on every member.
 */
public record Topology(List<Member> members, long clusterId) {
    /**
     * One member.
     *
     * @param id         its Raft ID ({@link #idOf} its peer URL).
     * @param etcdId     its etcd member ID ({@link EtcdIds#member}: its peer URL and the cluster token).
     * @param name       its name.
     * @param peerUrl    as configured (for MemberList).
     * @param clientUrl  as configured, or null.
     */
    public record Member(int id, long etcdId, String name, String peerUrl, String clientUrl) {
        /**
         * @return the peer URL's host:port (the Aeron endpoint).
         */
        public String peerEndpoint() {
            return hostPort(peerUrl);
        }

        /**
         * @return the client URL's host:port, or null.
         */
        public String clientEndpoint() {
            return clientUrl == null ? null : hostPort(clientUrl);
        }
    }

    /**
     * @param initialCluster etcd's {@code name=peerURL,...}.
     * @param clients        {@code name=clientURL,...} (may be empty).
     * @return the topology, with etcd's default cluster token.
     * @throws IllegalArgumentException for a malformed list, a duplicate name or a client URL of an unknown name.
     */
    public static Topology parse(final String initialCluster, final String clients) {
        return parse(initialCluster, clients, EtcdIds.TOKEN_DEFAULT);
    }

    /**
     * @param initialCluster etcd's {@code name=peerURL,...}.
     * @param clients        {@code name=clientURL,...} (may be empty).
     * @param token          etcd's {@code --initial-cluster-token} (mixed into the member IDs, as etcd does).
     * @return the topology.
     * @throws IllegalArgumentException for a malformed list, a duplicate name or a client URL of an unknown name.
     */
    public static Topology parse(final String initialCluster, final String clients, final String token) {
        final Map<String, String> peers = pairs(initialCluster, "--initial-cluster");
        final Map<String, String> clientUrls = clients == null || clients.isBlank()
            ? Map.of() : pairs(clients, "--initial-cluster-clients");
        for (final String name : clientUrls.keySet()) {
            if (!peers.containsKey(name)) {
                throw new IllegalArgumentException("--initial-cluster-clients names " + name
                    + ", which is not in --initial-cluster");
            }
        }
        final List<Member> members = new ArrayList<>();
        for (final Map.Entry<String, String> peer : peers.entrySet()) {
            final int id = idOf(peer.getValue());
            for (final Member other : members) {
                if (other.id() == id) {
                    throw new IllegalArgumentException("--initial-cluster: " + other.name() + " and " + peer.getKey()
                        + " have the same peer address (or, once in four billion, the same ID)");
                }
            }
            members.add(new Member(id, EtcdIds.member(List.of(peer.getValue()), token, null), peer.getKey(),
                peer.getValue(), clientUrls.get(peer.getKey())));
        }
        return new Topology(List.copyOf(members), EtcdIds.cluster(members.stream().map(Member::etcdId).toList()));
    }

    private static Map<String, String> pairs(final String list, final String flag) {
        final Map<String, String> pairs = new LinkedHashMap<>();
        for (final String item : list.split(",")) {
            final int equals = item.indexOf('=');
            if (equals <= 0 || equals == item.length() - 1) {
                throw new IllegalArgumentException(flag + ": expected name=URL, got '" + item + "'");
            }
            if (pairs.put(item.substring(0, equals).trim(), item.substring(equals + 1).trim()) != null) {
                throw new IllegalArgumentException(flag + ": member " + item.substring(0, equals) + " twice");
            }
        }
        return pairs;
    }

    /**
     * @param peerUrl a member's peer URL.
     * @return its member ID: CRC32C of its host:port, positive and never 0.
     */
    public static int idOf(final String peerUrl) {
        final CRC32C crc = new CRC32C();
        crc.update(hostPort(peerUrl).getBytes(StandardCharsets.UTF_8));
        final int id = (int)crc.getValue() & Integer.MAX_VALUE;
        return id == 0 ? 1 : id;
    }

    /**
     * @return the initial configuration: every member a voter, with its name and URLs as attributes.
     */
    public Membership bootstrap() {
        final Membership membership = Membership.ofVoters(ids());
        for (final Member member : members) {
            final byte[] attributes = new MemberAttributes(clusterId, member.etcdId(), member.name(),
                List.of(member.peerUrl()),
                member.clientUrl() == null ? List.of() : List.of(member.clientUrl())).encode();
            if (!membership.setAttributes(member.id(), new UnsafeBuffer(attributes), 0, attributes.length)) {
                throw new IllegalArgumentException("member " + member.name() + ": names and URLs over "
                    + Membership.ATTRIBUTES_BYTES_MAX + " bytes");
            }
        }
        return membership;
    }

    /**
     * @param url {@code scheme://host:port} or {@code host:port}.
     * @return {@code host:port}.
     * @throws IllegalArgumentException when it has no port.
     */
    public static String hostPort(final String url) {
        final URI uri = URI.create(url.contains("://") ? url : "tcp://" + url);
        if (uri.getHost() == null || uri.getPort() < 0) {
            throw new IllegalArgumentException("expected scheme://host:port, got '" + url + "'");
        }
        return uri.getHost() + ":" + uri.getPort();
    }

    /**
     * @param name a member's name.
     * @return it, or null.
     */
    public Member byName(final String name) {
        for (final Member member : members) {
            if (member.name().equals(name)) {
                return member;
            }
        }
        return null;
    }

    /**
     * @param id a Raft ID.
     * @return the member, or null.
     */
    public Member byId(final long id) {
        for (final Member member : members) {
            if (member.id() == id) {
                return member;
            }
        }
        return null;
    }

    /**
     * @return the Raft IDs.
     */
    public int[] ids() {
        return members.stream().mapToInt(Member::id).toArray();
    }
}
