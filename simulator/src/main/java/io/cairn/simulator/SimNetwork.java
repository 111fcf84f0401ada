package io.cairn.simulator;

import org.agrona.DirectBuffer;

import java.util.PriorityQueue;
import java.util.Random;

/**
 * Goal: the simulator's network, unreliable in every way Raft must tolerate. Method: each message becomes a packet
 * with a delivery time drawn from {@code [delayMin, delayMax]} ms (so messages reorder) or, rarely, one to three
 * election timeouts later (a stalled link: a message from an earlier term arrives late), may be lost or duplicated,
 * and is dropped when its link is cut at send or at delivery time: a partition cuts both directions between two
 * groups, an asymmetric fault cuts one direction of one link. Nothing here knows Raft.
 */
final class SimNetwork {
    /** One message on the wire. */
    record Packet(long deliverAtMs, long sequence, int from, int to, byte[] bytes) implements Comparable<Packet> {
        @Override
        public int compareTo(final Packet other) {
            final int byTime = Long.compare(deliverAtMs, other.deliverAtMs);
            return byTime != 0 ? byTime : Long.compare(sequence, other.sequence);
        }
    }

    private final Random random;
    private final SimOptions options;
    private final PriorityQueue<Packet> inFlight = new PriorityQueue<>();
    // linkDown[from][to]: messages from -> to are dropped.
    private final boolean[][] linkDown;
    private boolean healed;
    private long sequence;
    private long sent;
    private long lost;
    private long duplicated;
    private long cut;
    private long longDelayed;

    SimNetwork(final Random random, final SimOptions options, final int nodeIdMax) {
        this.random = random;
        this.options = options;
        this.linkDown = new boolean[nodeIdMax + 1][nodeIdMax + 1];
    }

    void send(final int from, final int to, final DirectBuffer buffer, final int offset, final int length,
        final long nowMs) {
        sent++;
        if (to <= 0 || to >= linkDown.length) {
            lost++;
            return;
        }
        if (linkDown[from][to]) {
            cut++;
            return;
        }
        if (!healed && random.nextDouble() < options.lossProbability()) {
            lost++;
            return;
        }
        final byte[] bytes = new byte[length];
        buffer.getBytes(offset, bytes);
        inFlight.add(new Packet(nowMs + delay(), sequence++, from, to, bytes));
        if (!healed && random.nextDouble() < options.duplicateProbability()) {
            duplicated++;
            inFlight.add(new Packet(nowMs + delay(), sequence++, from, to, bytes));
        }
    }

    private long delay() {
        if (!healed && options.longDelayProbability() > 0 && random.nextDouble() < options.longDelayProbability()) {
            // Beyond an election timeout: one to three of them.
            final int electionMs = options.tickMs() * options.electionTicks();
            longDelayed++;
            return electionMs + random.nextInt(2 * electionMs + 1);
        }
        return options.delayMinMs() + random.nextInt(options.delayMaxMs() - options.delayMinMs() + 1);
    }

    /**
     * @return packets delivered more than an election timeout after they were sent.
     */
    long longDelayed() {
        return longDelayed;
    }

    /**
     * @return the next packet due at or before {@code nowMs}, or null.
     */
    Packet poll(final long nowMs) {
        while (true) {
            final Packet next = inFlight.peek();
            if (next == null || next.deliverAtMs() > nowMs) {
                return null;
            }
            inFlight.poll();
            if (!linkDown[next.from()][next.to()]) {
                return next;
            }
            // A link that fails while a packet is on it loses the packet too.
            cut++;
        }
    }

    /**
     * Puts a packet back for later delivery (its receiver was busy syncing).
     */
    void defer(final Packet packet, final long deliverAtMs) {
        inFlight.add(new Packet(deliverAtMs, sequence++, packet.from(), packet.to(), packet.bytes()));
    }

    void partition(final int[] groupOf) {
        for (int from = 1; from < linkDown.length; from++) {
            for (int to = 1; to < linkDown.length; to++) {
                linkDown[from][to] = groupOf[from] != groupOf[to];
            }
        }
    }

    void cutLink(final int from, final int to) {
        linkDown[from][to] = true;
    }

    void healPartitions() {
        for (final boolean[] row : linkDown) {
            java.util.Arrays.fill(row, false);
        }
    }

    /**
     * Ends every fault: links restored, no more loss or duplication (delays stay).
     */
    void healAll() {
        healPartitions();
        healed = true;
    }

    boolean anyLinkDown() {
        for (final boolean[] row : linkDown) {
            for (final boolean down : row) {
                if (down) {
                    return true;
                }
            }
        }
        return false;
    }

    long sent() {
        return sent;
    }

    long lost() {
        return lost;
    }

    long duplicated() {
        return duplicated;
    }

    long cut() {
        return cut;
    }
}
