package io.cairn.simulator;

import java.util.Random;

/**
 * Goal: one simulated run's parameters, drawn from its seed as a swarm (TigerBeetle's VOPR, Groce et al.'s swarm
 * testing): each seed enables a different mix and intensity of faults, so that rare combinations are reached by
 * some seeds rather than diluted in all. Method: {@link #swarm(Random, boolean)} draws every field; the same seed
 * always draws the same options. {@code keyspace} is not drawn but chosen by the caller: whether members replicate
 * the real keyspace ({@link KeyspaceApplication}) or the small register map ({@link KvApplication}); the draws are
 * the same either way, so a seed's faults are the same in both modes until the applications make them diverge.
 */
record SimOptions(
    boolean faulty,
    boolean storm,
    int clusterSize,
    int spareNodes,
    boolean preVote,
    boolean checkQuorum,
    int tickMs,
    int electionTicks,
    int heartbeatTicks,
    int inflightMessagesMax,
    int appendBytesMax,
    int appendEntriesMax,
    double lossProbability,
    double duplicateProbability,
    int delayMinMs,
    int delayMaxMs,
    int syncLatencyMaxMs,
    double crashPerMs,
    int restartDelayMaxMs,
    double partitionPerMs,
    double asymmetricPerMs,
    double healPerMs,
    double membershipPerMs,
    double transferPerMs,
    int snapshotInterval,
    int snapshotKeep,
    int snapshotChunkBytes,
    int clients,
    double clientOpPerMs,
    int clientTimeoutMs,
    int keys,
    int safetyMs,
    int livenessMs,
    double longDelayProbability,
    boolean keyspace) {

    static SimOptions swarm(final Random random, final boolean keyspace) {
        final int clusterSize = random.nextBoolean() ? 3 : 5;
        final int tickMs = 10;
        final boolean faulty = random.nextInt(10) != 0;
        // Some seeds are storms: partitions, losses and leader crashes every few hundred milliseconds, so that
        // terms churn and leaders often lose their first entries (the road to figure 8).
        final boolean storm = faulty && random.nextBoolean();
        return new SimOptions(
            faulty,
            storm,
            clusterSize,
            random.nextInt(3),
            random.nextInt(5) != 0,
            random.nextInt(5) != 0,
            tickMs,
            8 + random.nextInt(8),
            1 + random.nextInt(3),
            storm ? 1 + random.nextInt(2) : 1 + random.nextInt(16),
            random.nextBoolean() ? 32 + random.nextInt(64) : 64 + random.nextInt(1024),
            storm ? 1 : random.nextBoolean() ? 1 + random.nextInt(3) : 1 + random.nextInt(32),
            storm ? 0.2 + random.nextDouble() * 0.3 : faulty ? chance(random, 0.5, 0.2) : 0,
            faulty ? chance(random, 0.3, 0.1) : 0,
            1 + random.nextInt(3),
            4 + random.nextInt(40),
            random.nextInt(12),
            storm ? 0.002 + random.nextDouble() * 0.004 : faulty ? chance(random, 0.6, 0.002) : 0,
            storm ? 20 + random.nextInt(300) : 50 + random.nextInt(1500),
            storm ? 0.003 + random.nextDouble() * 0.007 : faulty ? chance(random, 0.5, 0.002) : 0,
            faulty ? chance(random, 0.3, 0.001) : 0,
            storm ? 0.001 + random.nextDouble() * 0.004 : 0.0005 + random.nextDouble() * 0.005,
            chance(random, 0.5, 0.004),
            chance(random, 0.5, 0.002),
            4 + random.nextInt(60),
            random.nextInt(8),
            8 + random.nextInt(120),
            1 + random.nextInt(5),
            0.02 + random.nextDouble() * 0.2,
            200 + random.nextInt(1500),
            1 + random.nextInt(4),
            3000 + random.nextInt(4000),
            20_000,
            // Some packets arrive after more than an election timeout (a stalled link, a paused peer): a vote or an
            // append from an earlier term reaching a member that has moved on.
            faulty ? chance(random, 0.4, 0.01) : 0,
            keyspace);
    }

    private static double chance(final Random random, final double enabledProbability, final double max) {
        return random.nextDouble() < enabledProbability ? random.nextDouble() * max : 0;
    }

    int nodeCount() {
        return clusterSize + spareNodes;
    }

    /**
     * @return the snapshot chunk in keyspace mode, derived from {@link #snapshotChunkBytes()} without another draw: a
     *     power of two (as {@code SnapshotDirectory} requires) of 1, 2 or 4 KiB, so that a store file of a few dozen
     *     KiB still takes many messages and transfers can be interrupted and resumed.
     */
    int keyspaceChunkBytes() {
        return 1024 << (snapshotChunkBytes % 3);
    }
}
