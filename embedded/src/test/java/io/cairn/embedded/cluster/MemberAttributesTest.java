package io.cairn.embedded.cluster;

import io.cairn.consensus.Membership;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: a member's name and URLs survive the configuration they ride in, a damaged blob is refused rather than half
 * read, IDs follow the peer address alone, and a configuration without attributes (a data directory from before
 * they existed) still shows its members by the flags. Method: round trips, every truncation, and views built from
 * configurations with and without attributes.
 */
class MemberAttributesTest {
    @Test
    void shouldRoundTripAndRefuseEveryTruncation() {
        final MemberAttributes attributes = new MemberAttributes(0x1234_5678_9abc_def0L, 0xfedc_ba98_7654_3210L,
            "infra-é",
            List.of("http://127.0.0.1:12380", "http://10.0.0.1:12380"), List.of("http://127.0.0.1:2379"));
        final byte[] encoded = attributes.encode();
        assertEquals(attributes, MemberAttributes.decode(new UnsafeBuffer(encoded), 0, encoded.length));
        for (int length = 0; length < encoded.length; length++) {
            assertNull(MemberAttributes.decode(new UnsafeBuffer(encoded), 0, length), "cut at " + length);
        }
        final byte[] longer = java.util.Arrays.copyOf(encoded, encoded.length + 1);
        assertNull(MemberAttributes.decode(new UnsafeBuffer(longer), 0, longer.length), "a byte too many");
        encoded[0] = 9;
        assertNull(MemberAttributes.decode(new UnsafeBuffer(encoded), 0, encoded.length), "unknown version");
    }

    @Test
    void shouldReadTheFormerVersionWithoutAnEtcdId() {
        final byte[] current = new MemberAttributes(7, 9, "a", List.of("http://h:1"), List.of()).encode();
        // Version 1: the same without the member ID.
        final byte[] former = new byte[current.length - Long.BYTES];
        System.arraycopy(current, 0, former, 0, 1 + Long.BYTES);
        System.arraycopy(current, 1 + 2 * Long.BYTES, former, 1 + Long.BYTES, former.length - 1 - Long.BYTES);
        former[0] = 1;
        assertEquals(new MemberAttributes(7, 0, "a", List.of("http://h:1"), List.of()),
            MemberAttributes.decode(new UnsafeBuffer(former), 0, former.length));
    }

    @Test
    void shouldComputeEtcdsMemberAndClusterIds() {
        // What etcd 3.4.23 logged ("added member ... to cluster ...") for these flags, with the default token and
        // with --initial-cluster-token my-token.
        final String cluster = "a=http://127.0.0.1:12380,b=http://127.0.0.1:12381,c=http://127.0.0.1:12382";
        final Topology defaults = Topology.parse(cluster, "");
        assertEquals("ddd67b312462fd7b", Long.toHexString(defaults.byName("a").etcdId()));
        assertEquals("20841a002de00821", Long.toHexString(defaults.byName("b").etcdId()));
        assertEquals("248ff1817228a82b", Long.toHexString(defaults.byName("c").etcdId()));
        assertEquals("a540bbe014239a05", Long.toHexString(defaults.clusterId()));
        final Topology token = Topology.parse(cluster, "", "my-token");
        assertEquals("3e7ee80f5491fabd", Long.toHexString(token.byName("a").etcdId()));
        assertEquals("ca55da403e1e1308", Long.toHexString(token.byName("b").etcdId()));
        assertEquals("b7818a087fe67c8c", Long.toHexString(token.byName("c").etcdId()));
        assertEquals("46c87cde147b80be", Long.toHexString(token.clusterId()));
        // Clients give etcd IDs; the view maps them to Raft IDs and back (a Raft ID names its member too).
        final ClusterView view = ClusterView.of(defaults.bootstrap(), 0, defaults);
        final int b = defaults.byName("b").id();
        assertEquals(b, view.raftIdOf(defaults.byName("b").etcdId()));
        assertEquals(b, view.raftIdOf(b));
        assertEquals(0, view.raftIdOf(0x1234_5678_9abcL));
        assertEquals(defaults.byName("b").etcdId(), view.etcdIdOf(b));
        assertEquals(12345, view.etcdIdOf(12345), "a removed member is known by its Raft ID");
    }

    @Test
    void shouldDeriveIdsFromPeerAddressOnly() {
        assertEquals(Topology.idOf("http://127.0.0.1:12380"), Topology.idOf("https://127.0.0.1:12380"));
        assertNotEquals(Topology.idOf("http://127.0.0.1:12380"), Topology.idOf("http://127.0.0.1:12381"));
        final Topology topology = Topology.parse("a=http://127.0.0.1:1,b=http://127.0.0.1:2", "a=http://127.0.0.1:3");
        assertEquals(Topology.idOf("http://127.0.0.1:2"), topology.byName("b").id());
        assertTrue(topology.byName("a").id() > 0);
    }

    @Test
    void shouldViewConfigurationsWithAndWithoutAttributes() {
        final Topology topology = Topology.parse("a=http://127.0.0.1:1,b=http://127.0.0.1:2", "a=http://127.0.0.1:3");
        final ClusterView bootstrapped = ClusterView.of(topology.bootstrap(), 0, topology);
        assertEquals(topology.clusterId(), bootstrapped.clusterId());
        assertEquals(List.of("http://127.0.0.1:3"), bootstrapped.byId(topology.byName("a").id()).clientUrls());
        assertEquals("b", bootstrapped.byId(topology.byName("b").id()).name());

        final Membership old = Membership.ofVoters(topology.ids());
        final int learner = Topology.idOf("http://127.0.0.1:9");
        old.addLearner(learner);
        final ClusterView fallback = ClusterView.of(old, 7, topology);
        assertEquals("a", fallback.byId(topology.byName("a").id()).name(), "named by the flags");
        assertEquals("", fallback.byId(learner).name(), "unknown to the flags: unstarted");
        assertTrue(fallback.byId(learner).learner());
        assertEquals(1, fallback.learnerCount());
        assertEquals(topology.byName("b").id(), fallback.byPeerEndpoint("127.0.0.1:2").id());
    }
}
