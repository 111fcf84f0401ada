package io.cairn.bench.load;

import io.grpc.Status;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * Latencies and errors of one run, recorded from any thread (gRPC's callbacks) and collected by one (the progress
 * loop). Per operation type there are two histograms in microseconds: corrected, from each operation's intended
 * start (the fixed-rate schedule's; in a closed loop the same as its actual start), and uncorrected, from when it
 * was actually sent. Operations whose intended start falls before the end of the warmup are only counted.
 *
 * <p>Writers use HdrHistogram's {@link Recorder} (wait-free records, interval swaps); {@link #collect()} folds each
 * interval into the run's totals and into the all-types histogram progress reports read.
 */
final class LatencyRecorder {
    /** Three significant digits: 0.1% resolution at any magnitude. */
    static final int SIGNIFICANT_DIGITS = 3;
    private static final Status.Code[] CODES = Status.Code.values();

    private final long measureStartNs;
    private final Recorder[] corrected = new Recorder[OpType.ALL.length];
    private final Recorder[] uncorrected = new Recorder[OpType.ALL.length];
    // Collector-thread only from here to progress: each interval is recycled into its recorder.
    private final Histogram[] correctedInterval = new Histogram[OpType.ALL.length];
    private final Histogram[] uncorrectedInterval = new Histogram[OpType.ALL.length];
    private final Histogram[] correctedTotal = new Histogram[OpType.ALL.length];
    private final Histogram[] uncorrectedTotal = new Histogram[OpType.ALL.length];
    private final Histogram progress = new Histogram(SIGNIFICANT_DIGITS);
    /** Measured errors: index {@code type.ordinal() * CODES.length + code.value()}. */
    private final AtomicLongArray errors = new AtomicLongArray(OpType.ALL.length * CODES.length);
    private final LongAdder warmupOps = new LongAdder();

    /**
     * @param measureStartNs operations intended to start before this are warmup: counted, not recorded.
     */
    LatencyRecorder(final long measureStartNs) {
        this.measureStartNs = measureStartNs;
        for (final OpType type : OpType.ALL) {
            final int i = type.ordinal();
            corrected[i] = new Recorder(SIGNIFICANT_DIGITS);
            uncorrected[i] = new Recorder(SIGNIFICANT_DIGITS);
            correctedTotal[i] = new Histogram(SIGNIFICANT_DIGITS);
            uncorrectedTotal[i] = new Histogram(SIGNIFICANT_DIGITS);
        }
    }

    /**
     * @param nanoseconds a latency.
     * @return it in whole microseconds, rounded to nearest; never negative.
     */
    static long toMicros(final long nanoseconds) {
        return Math.max(0, nanoseconds + 500) / 1000;
    }

    /**
     * @param type the operation.
     * @param intendedStartNs when the schedule wanted it sent (the actual start in a closed loop).
     * @param actualStartNs when it was sent.
     * @param endNs when its response arrived.
     */
    void recordSuccess(final OpType type, final long intendedStartNs, final long actualStartNs, final long endNs) {
        if (intendedStartNs < measureStartNs) {
            warmupOps.increment();
            return;
        }
        corrected[type.ordinal()].recordValue(toMicros(endNs - intendedStartNs));
        uncorrected[type.ordinal()].recordValue(toMicros(endNs - actualStartNs));
    }

    /**
     * @param type the operation.
     * @param code the gRPC status it failed with.
     * @param intendedStartNs when the schedule wanted it sent.
     */
    void recordError(final OpType type, final Status.Code code, final long intendedStartNs) {
        if (intendedStartNs < measureStartNs) {
            warmupOps.increment();
            return;
        }
        errors.incrementAndGet(type.ordinal() * CODES.length + code.value());
    }

    /**
     * Folds everything recorded since the last call into the totals. Call from one thread only.
     *
     * @return the successful operations folded in.
     */
    long collect() {
        long count = 0;
        for (final OpType type : OpType.ALL) {
            final int i = type.ordinal();
            correctedInterval[i] = corrected[i].getIntervalHistogram(correctedInterval[i]);
            uncorrectedInterval[i] = uncorrected[i].getIntervalHistogram(uncorrectedInterval[i]);
            correctedTotal[i].add(correctedInterval[i]);
            uncorrectedTotal[i].add(uncorrectedInterval[i]);
            progress.add(correctedInterval[i]);
            count += correctedInterval[i].getTotalCount();
        }
        return count;
    }

    /**
     * @param type the operation.
     * @return its corrected latencies (µs) collected so far.
     */
    Histogram correctedTotal(final OpType type) {
        return correctedTotal[type.ordinal()];
    }

    /**
     * @param type the operation.
     * @return its uncorrected latencies (µs) collected so far.
     */
    Histogram uncorrectedTotal(final OpType type) {
        return uncorrectedTotal[type.ordinal()];
    }

    /**
     * @return corrected latencies (µs) of all operation types collected so far.
     */
    Histogram progress() {
        return progress;
    }

    /**
     * @param type the operation.
     * @return its measured errors by gRPC status code name, in code order; only codes that occurred.
     */
    Map<String, Long> errorsByCode(final OpType type) {
        final Map<String, Long> byCode = new LinkedHashMap<>();
        for (final Status.Code code : CODES) {
            final long count = errors.get(type.ordinal() * CODES.length + code.value());
            if (count > 0) {
                byCode.put(code.name(), count);
            }
        }
        return byCode;
    }

    /**
     * @return measured errors of all types.
     */
    long errorCount() {
        long count = 0;
        for (int i = 0; i < errors.length(); i++) {
            count += errors.get(i);
        }
        return count;
    }

    /**
     * @return operations (answered or failed) that started in the warmup.
     */
    long warmupOps() {
        return warmupOps.sum();
    }
}
