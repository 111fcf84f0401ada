package io.cairn.simulator;

import io.cairn.consensus.PlantedBug;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Goal: run any range of simulator seeds from the command line and say plainly what happened: {@code --seed S
 * --count N} runs seeds S .. S+N-1 and prints the seeds run, simulated time, faults injected by kind and every
 * violation with a one-line replay command; exit status 1 if any seed failed (or, with {@code --require-faults}, if
 * a kind of fault never happened in the range), 2 on a usage error; {@code --keyspace}
 * makes members replicate the real keyspace (LMDB and snapshot files) instead of the in-memory register map. Method:
 * one {@link Simulator} per seed, in order, on this thread.
 */
public final class SimulatorMain {
    /** How a failure tells the reader to replay it. */
    static final String REPLAY = "./cairn simulate --seed %d --count 1%s";
    private static final String USAGE = "usage: simulate --seed S --count N [--keyspace] [--require-faults]"
        + " [--plant BUG] [--verbose]";
    /**
     * The faults and events a seed range must have produced for {@code --require-faults}: a run in which one never
     * happened tested less than it claims (a swarm whose options drew it away, a fault whose injection broke).
     * Torn writes are left out: a crash must hit the one unsynced write in flight, a few seeds in 5,000.
     */
    static final List<String> REQUIRED = List.of("crashes", "restarts", "partitions", "asymmetric link cuts",
        "packets lost", "packets duplicated", "packets delayed beyond an election timeout", "packets to crashed nodes",
        "leadership transfers", "membership changes", "snapshots taken", "snapshots installed from leader",
        "unsynced writes lost", "synced tails lost", "client timeouts", "seeds with fault storms");
    /** Besides {@link #REQUIRED}, in keyspace mode. */
    static final List<String> REQUIRED_KEYSPACE = List.of("stores taken back to a snapshot");

    private SimulatorMain() {
    }

    /**
     * @param args {@code --seed S --count N [--keyspace] [--require-faults] [--plant BUG] [--verbose]}.
     */
    public static void main(final String[] args) {
        System.exit(run(args, System.out));
    }

    /**
     * @param args {@code --seed S --count N [--keyspace] [--require-faults] [--plant BUG] [--verbose]}.
     * @param out  where the report goes.
     * @return 0 when every seed passed, 1 on a violation, 2 on a usage error.
     */
    public static int run(final String[] args, final PrintStream out) {
        long seed = 1;
        long count = 1;
        boolean verbose = false;
        boolean keyspace = false;
        boolean requireFaults = false;
        PlantedBug plant = PlantedBug.NONE;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--seed" -> seed = Long.parseLong(args[++i]);
                case "--count" -> count = Long.parseLong(args[++i]);
                case "--keyspace" -> keyspace = true;
                case "--require-faults" -> requireFaults = true;
                case "--plant" -> {
                    try {
                        plant = PlantedBug.valueOf(args[++i]);
                    } catch (final IllegalArgumentException ex) {
                        out.println("unknown bug " + args[i] + "; known: " + java.util.Arrays.toString(
                            PlantedBug.values()));
                        return 2;
                    }
                }
                case "--verbose" -> verbose = true;
                default -> {
                    out.println(USAGE);
                    return 2;
                }
            }
        }
        if (plant != PlantedBug.NONE) {
            out.println("planted bug: " + plant + " (the seeds should fail)");
        }
        PlantedBug.plant(plant);
        try {
            return runSeeds(seed, count, keyspace, requireFaults, verbose, out);
        } finally {
            PlantedBug.plant(PlantedBug.NONE);
        }
    }

    private static int runSeeds(final long seed, final long count, final boolean keyspace, final boolean requireFaults,
        final boolean verbose, final PrintStream out) {
        final long startNs = System.nanoTime();
        final Map<String, Long> totals = new TreeMap<>();
        long simulatedMs = 0;
        long failed = 0;
        for (long s = seed; s < seed + count; s++) {
            final Simulator.Result result = Simulator.run(s, keyspace);
            simulatedMs += result.stepsMs();
            result.counters().forEach((what, amount) -> totals.merge(what, amount, Long::sum));
            if (verbose) {
                out.println("seed " + s + (result.passed() ? " ok " : " FAILED ") + result.options());
            }
            if (!result.passed()) {
                failed++;
                out.println("seed " + s + " FAILED: " + result.violations().size() + " violation(s)");
                for (final String violation : result.violations()) {
                    out.println("  " + violation);
                }
                out.println("  options: " + result.options());
                out.println("  replay: " + String.format(REPLAY, s, keyspace ? " --keyspace" : ""));
            }
        }
        final double seconds = (System.nanoTime() - startNs) / 1e9;
        out.printf("seeds run: %d (%d..%d)%s, failed: %d, steps: %d (1 simulated ms each), wall: %.1f s,"
            + " %.1f seeds/s%n", count, seed, seed + count - 1, keyspace ? " in keyspace mode" : "", failed,
            simulatedMs, seconds, count / seconds);
        out.println("faults and events (all seeds):");
        totals.forEach((what, amount) -> out.printf("  %-32s %d%n", what, amount));
        final List<String> missing = new ArrayList<>();
        if (requireFaults) {
            for (final String kind : keyspace ? concat(REQUIRED, REQUIRED_KEYSPACE) : REQUIRED) {
                if (totals.getOrDefault(kind, 0L) == 0) {
                    missing.add(kind);
                }
            }
            if (!missing.isEmpty()) {
                out.println("never happened in this range (--require-faults): " + String.join(", ", missing));
            }
        }
        return failed == 0 && missing.isEmpty() ? 0 : 1;
    }

    private static List<String> concat(final List<String> first, final List<String> second) {
        final List<String> both = new ArrayList<>(first);
        both.addAll(second);
        return both;
    }
}
