package io.cairn.consensus.loop;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Goal: a heartbeat round trip is timed from the oldest unanswered heartbeat to its peer's answer, counted once, in
 * etcd's buckets (100 µs × 2^i); a lost heartbeat's timing expires; an answer never sent for is ignored.
 */
class PeerRoundTripsTest {
    private static final long MS = 1_000_000;

    @Test
    void shouldTimeEachAnsweredHeartbeatOnceInEtcdsBuckets() {
        final PeerRoundTrips trips = new PeerRoundTrips();
        trips.heartbeatAnswered(2, 5 * MS); // nothing sent yet: ignored
        trips.heartbeatSent(2, 10 * MS);
        trips.heartbeatSent(2, 11 * MS); // one timed at a time: the first stays
        trips.heartbeatAnswered(2, 10 * MS + 350_000); // 350 µs: bucket 2 (<= 400 µs)
        trips.heartbeatAnswered(2, 12 * MS); // answers the untimed second: ignored
        trips.heartbeatSent(3, 20 * MS);
        trips.heartbeatAnswered(3, 20 * MS + 50_000); // 50 µs: bucket 0
        assertEquals(2, trips.peers().length);
        final PeerRoundTrips.Peer two = trips.peers()[0];
        assertEquals(2, two.id());
        assertEquals(1, two.inBucket(2));
        assertEquals(350_000, two.nanosTotal());
        long counted = 0;
        for (int bucket = 0; bucket < PeerRoundTrips.BUCKETS; bucket++) {
            counted += two.inBucket(bucket);
        }
        assertEquals(1, counted);
        assertEquals(1, trips.peers()[1].inBucket(0));
    }

    @Test
    void shouldForgetALostHeartbeatAfterFiveSeconds() {
        final PeerRoundTrips trips = new PeerRoundTrips();
        trips.heartbeatSent(2, 0);
        trips.heartbeatSent(2, 6_000 * MS); // the first was lost: this one is timed instead
        trips.heartbeatAnswered(2, 6_000 * MS + 2 * MS);
        assertEquals(2 * MS, trips.peers()[0].nanosTotal());
    }
}
