package io.cairn.engine.wal;

import io.cairn.engine.check.Check;

import java.nio.file.Path;
import java.util.function.LongSupplier;

/**
 * Validated, immutable settings of one WAL.
 *
 * @param directory     where the queue files live (created when absent).
 * @param durable       true: {@link Wal#sync()} waits for the device (msync MS_SYNC). false: sync does nothing;
 *                      for measuring only, and logged loudly at open.
 * @param rollCycle     Chronicle roll cycle name (e.g. {@code TEN_MINUTELY}, {@code FAST_HOURLY},
 *                      {@code TEST_SECONDLY}): how much time one file covers, and so the granularity at which
 *                      {@link Wal#compactBefore(long)} can delete files.
 * @param entryBytesMax largest payload accepted in one entry.
 * @param clockMs       wall clock in milliseconds, used only to pick the roll cycle (tests inject one).
 */
public record WalConfig(Path directory, boolean durable, String rollCycle, int entryBytesMax, LongSupplier clockMs) {
    /** Default largest entry: etcd's request limit (1.5 MiB) with room for framing and batching. */
    public static final int ENTRY_BYTES_MAX_DEFAULT = 4 * 1024 * 1024;
    /** Default roll cycle: ten minutes of log per file. */
    public static final String ROLL_CYCLE_DEFAULT = "TEN_MINUTELY";

    /**
     * Checks the limits.
     */
    public WalConfig {
        Check.state(directory != null, "WAL directory required");
        Check.state(rollCycle != null, "roll cycle required");
        Check.state(entryBytesMax > 0 && entryBytesMax <= 256 * 1024 * 1024, "entryBytesMax", entryBytesMax);
        Check.state(clockMs != null, "clock required");
    }

    /**
     * @param directory where the queue files live.
     * @return a durable WAL with default limits and the system clock.
     */
    public static WalConfig durable(final Path directory) {
        return new WalConfig(directory, true, ROLL_CYCLE_DEFAULT, ENTRY_BYTES_MAX_DEFAULT, System::currentTimeMillis);
    }

    /**
     * @param durable true to really sync.
     * @return a copy with {@code durable} changed.
     */
    public WalConfig withDurable(final boolean durable) {
        return new WalConfig(directory, durable, rollCycle, entryBytesMax, clockMs);
    }

    /**
     * @param bytes the largest entry payload to accept.
     * @return a copy with {@code entryBytesMax} changed.
     */
    public WalConfig withEntryBytesMax(final int bytes) {
        return new WalConfig(directory, durable, rollCycle, bytes, clockMs);
    }

    /**
     * @param rollCycle a Chronicle roll cycle name.
     * @param clockMs   the clock that picks the cycle.
     * @return a copy with the roll cycle and clock changed.
     */
    public WalConfig withRollCycle(final String rollCycle, final LongSupplier clockMs) {
        return new WalConfig(directory, durable, rollCycle, entryBytesMax, clockMs);
    }
}
