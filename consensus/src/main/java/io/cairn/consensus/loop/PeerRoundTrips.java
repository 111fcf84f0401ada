package io.cairn.consensus.loop;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Round trips to each peer, as etcd's {@code etcd_network_peer_round_trip_time_seconds}: the time from a heartbeat
 * the leader sends to a peer until that peer's heartbeat response arrives, over the Raft path itself (Aeron UDP, the
 * two loops). One heartbeat at a time per peer is timed: a send while one is awaited is not (a lost one expires after
 * five seconds), so a response is matched with the oldest unanswered heartbeat and a figure may run long, never short.
 * Written by the loop's thread only, read from any (a metrics scrape); no allocation but a new peer's.
 */
public final class PeerRoundTrips {
    /** Buckets: bucket {@code i} counts round trips of at most 100 µs × 2^i (the last one counts the rest). */
    public static final int BUCKETS = 16;
    /** The first bucket's bound. */
    public static final long FIRST_BOUND_NS = 100_000;
    private static final long EXPIRE_NS = 5_000_000_000L;

    private volatile Peer[] peers = new Peer[0];

    /** One peer's round trips. */
    public static final class Peer {
        private final int id;
        private long sentNs = Long.MIN_VALUE;
        private final AtomicLongArray buckets = new AtomicLongArray(BUCKETS);
        private final AtomicLong nanosTotal = new AtomicLong();

        Peer(final int id) {
            this.id = id;
        }

        /**
         * @return the peer's member ID.
         */
        public int id() {
            return id;
        }

        /**
         * @param bucket 0 .. {@link #BUCKETS} - 1.
         * @return round trips in it.
         */
        public long inBucket(final int bucket) {
            return buckets.get(bucket);
        }

        /**
         * @return nanoseconds of every round trip, together.
         */
        public long nanosTotal() {
            return nanosTotal.get();
        }
    }

    /**
     * @return every peer heard of so far (the array is not to be changed).
     */
    public Peer[] peers() {
        return peers;
    }

    void heartbeatSent(final int peerId, final long nowNs) {
        Peer peer = find(peerId);
        if (peer == null) {
            final Peer[] more = java.util.Arrays.copyOf(peers, peers.length + 1);
            peer = new Peer(peerId);
            more[more.length - 1] = peer;
            peers = more;
        }
        if (peer.sentNs == Long.MIN_VALUE || nowNs - peer.sentNs > EXPIRE_NS) {
            peer.sentNs = nowNs;
        }
    }

    void heartbeatAnswered(final int peerId, final long nowNs) {
        final Peer peer = find(peerId);
        if (peer == null || peer.sentNs == Long.MIN_VALUE) {
            return;
        }
        final long roundTripNs = nowNs - peer.sentNs;
        peer.sentNs = Long.MIN_VALUE;
        int bucket = 0;
        while (bucket < BUCKETS - 1 && roundTripNs > FIRST_BOUND_NS << bucket) {
            bucket++;
        }
        peer.buckets.incrementAndGet(bucket);
        peer.nanosTotal.addAndGet(roundTripNs);
    }

    private Peer find(final int peerId) {
        for (final Peer peer : peers) {
            if (peer.id == peerId) {
                return peer;
            }
        }
        return null;
    }
}
