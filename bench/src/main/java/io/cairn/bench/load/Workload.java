package io.cairn.bench.load;

import java.util.List;
import java.util.Locale;

/**
 * What a run sends: one operation type, or a mix of point reads and puts in a given ratio.
 */
public enum Workload {
    /** Puts only. */
    PUT,
    /** Point ranges (gets) only. */
    RANGE,
    /** Single-branch transactions only. */
    TXN,
    /** Ranges with probability {@code readRatio}, puts otherwise. */
    MIXED;

    /**
     * @param name {@code put}, {@code range}, {@code txn} or {@code mixed}.
     * @return the workload.
     * @throws IllegalArgumentException naming the choices if {@code name} is none of them.
     */
    public static Workload parse(final String name) {
        for (final Workload workload : values()) {
            if (workload.label().equals(name)) {
                return workload;
            }
        }
        throw new IllegalArgumentException("--workload: expected put, range, txn or mixed, got '" + name + "'");
    }

    /**
     * @return the name on the command line and in results.
     */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * @return whether the workload reads, so that an empty key space would make it measure misses.
     */
    public boolean reads() {
        return this == RANGE || this == MIXED;
    }

    /**
     * @return the operation types it sends, each reported even if none succeeded.
     */
    public List<OpType> opTypes() {
        return switch (this) {
            case PUT -> List.of(OpType.PUT);
            case RANGE -> List.of(OpType.RANGE);
            case TXN -> List.of(OpType.TXN);
            case MIXED -> List.of(OpType.RANGE, OpType.PUT);
        };
    }

    /**
     * @param uniform a uniform random number in [0, 1).
     * @param readRatio the share of reads in {@link #MIXED}.
     * @return the type of the next operation.
     */
    public OpType next(final double uniform, final double readRatio) {
        return switch (this) {
            case PUT -> OpType.PUT;
            case RANGE -> OpType.RANGE;
            case TXN -> OpType.TXN;
            case MIXED -> uniform < readRatio ? OpType.RANGE : OpType.PUT;
        };
    }
}
