package io.cairn.embedded.cluster;

import io.cairn.consensus.Membership;
import org.agrona.concurrent.UnsafeBuffer;

import java.util.ArrayList;
import java.util.List;

/**
 * The cluster as this member's Raft configuration says right now (thesis §4.1: the latest configuration in its log,
 * committed or not): an immutable copy other threads read.
 *
 * @param clusterId   etcd's cluster ID.
 * @param configIndex the index of the entry that set this configuration.
 * @param members     voters first, then learners, in the configuration's order.
 */
public record ClusterView(long clusterId, long configIndex, List<Member> members) {
    /**
     * One member as MemberList shows it.
     *
     * @param id         its Raft ID.
     * @param etcdId     its etcd member ID: what clients know it by ({@link EtcdIds}).
     * @param name       its name (empty until it has started and published it).
     * @param peerUrls   its peer URLs.
     * @param clientUrls its client URLs (empty until published).
     * @param learner    true if it does not vote.
     * @param published  true when the configuration itself holds its name and the client URLs shown (false: the
     *                   client URLs come from this member's flags, or the name is not known yet).
     */
    public record Member(int id, long etcdId, String name, List<String> peerUrls, List<String> clientUrls,
        boolean learner, boolean published) {
        /**
         * @return its Aeron endpoint (the first peer URL's host:port), or null.
         */
        public String peerEndpoint() {
            return peerUrls.isEmpty() ? null : Topology.hostPort(peerUrls.get(0));
        }

        /**
         * @return the first client URL's host:port, or null.
         */
        public String clientEndpoint() {
            return clientUrls.isEmpty() ? null : Topology.hostPort(clientUrls.get(0));
        }
    }

    /**
     * @param membership the configuration (read on the loop's thread).
     * @param index      the entry that set it.
     * @param topology   the flags' members: what a member without attributes is known by (a data directory from
     *                   before attributes existed).
     * @return the view.
     */
    public static ClusterView of(final Membership membership, final long index, final Topology topology) {
        final UnsafeBuffer scratch = new UnsafeBuffer(new byte[Membership.ATTRIBUTES_BYTES_MAX]);
        final List<Member> members = new ArrayList<>(membership.memberCount());
        long clusterId = topology.clusterId();
        boolean clusterIdKnown = false;
        for (int i = 0; i < membership.memberCount(); i++) {
            final int id = membership.member(i);
            final boolean learner = membership.isLearner(id);
            final MemberAttributes attributes = MemberAttributes.decode(scratch, 0,
                membership.attributes(id, scratch, 0));
            if (attributes != null) {
                if (!clusterIdKnown) {
                    clusterId = attributes.clusterId();
                    clusterIdKnown = true;
                }
                final Topology.Member flags = topology.byId(id);
                // Until a member publishes its client URL (one restored from a snapshot has none), the flags'
                // --initial-cluster-clients are the best knowledge: followers need the leader's to forward writes.
                final boolean fromFlags = attributes.clientUrls().isEmpty() && flags != null
                    && flags.clientUrl() != null;
                final List<String> clients = fromFlags ? List.of(flags.clientUrl()) : attributes.clientUrls();
                final long etcdId = attributes.memberId() != 0 ? attributes.memberId()
                    : flags != null ? flags.etcdId() : id;
                members.add(new Member(id, etcdId, attributes.name(), attributes.peerUrls(), clients, learner,
                    !fromFlags && !attributes.name().isEmpty()));
                continue;
            }
            final Topology.Member configured = topology.byId(id);
            members.add(configured == null ? new Member(id, id, "", List.of(), List.of(), learner, false)
                : new Member(id, configured.etcdId(), configured.name(), List.of(configured.peerUrl()),
                    configured.clientUrl() == null ? List.of() : List.of(configured.clientUrl()), learner, false));
        }
        return new ClusterView(clusterId, index, List.copyOf(members));
    }

    /**
     * @param id a member ID.
     * @return that member, or null.
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
     * @param raftId a member's Raft ID.
     * @return its etcd member ID; a member not in the configuration (one removed, whose alarm remains) is known by
     *     its Raft ID.
     */
    public long etcdIdOf(final int raftId) {
        final Member member = byId(raftId);
        return member != null ? member.etcdId() : raftId;
    }

    /**
     * @param etcdId an etcd member ID a client gave.
     * @return the Raft ID of the member it names; a Raft ID given instead (a log line's) names its member too, and
     *     an ID that names no member comes back as 0, which no member has.
     */
    public int raftIdOf(final long etcdId) {
        for (final Member member : members) {
            if (member.etcdId() == etcdId) {
                return member.id();
            }
        }
        return etcdId > 0 && etcdId <= Integer.MAX_VALUE ? (int)etcdId : 0;
    }

    /**
     * @param endpoint a peer host:port.
     * @return the member using it, or null.
     */
    public Member byPeerEndpoint(final String endpoint) {
        for (final Member member : members) {
            for (final String url : member.peerUrls()) {
                if (Topology.hostPort(url).equals(endpoint)) {
                    return member;
                }
            }
        }
        return null;
    }

    /**
     * @return how many are learners.
     */
    public int learnerCount() {
        return (int)members.stream().filter(Member::learner).count();
    }
}
