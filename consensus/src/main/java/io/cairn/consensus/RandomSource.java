package io.cairn.consensus;

/**
 * The core's only source of randomness (election timeouts, thesis §3.4), injected and seeded by the owner so that a
 * run replays exactly: the event loop passes a seeded generator, the simulator one derived from its seed.
 */
@FunctionalInterface
public interface RandomSource {
    /**
     * @param bound exclusive upper bound, positive.
     * @return a value in {@code [0, bound)}.
     */
    int nextInt(int bound);
}
