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
        final MemberAttributes attributes = new MemberAttributes(0x1234_5678_9abc_def0L, "infra-é",
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
