package io.cairn.simulator;

/**
 * Goal: the simulator's only notion of time, so that nothing in a run reads a real clock. Method: a millisecond
 * counter advanced by the simulator, one step per millisecond; members turn it into Raft ticks on their own
 * (slightly different) periods, which gives each member its own clock rate and phase.
 */
final class SimClock {
    private long nowMs;

    long nowMs() {
        return nowMs;
    }

    void advance() {
        nowMs++;
    }
}
