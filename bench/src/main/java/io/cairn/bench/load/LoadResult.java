package io.cairn.bench.load;

import org.HdrHistogram.Histogram;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What one run measured, as plain values: {@link LoadReport} prints and writes it.
 */
final class LoadResult {
    /** One operation type's measured latencies (µs) and errors. */
    static final class OpResult {
        final OpType type;
        final Histogram corrected;
        final Histogram uncorrected;
        /** gRPC status code name to count, only codes that occurred. */
        final Map<String, Long> errorsByCode;

        OpResult(final OpType type, final Histogram corrected, final Histogram uncorrected,
            final Map<String, Long> errorsByCode) {
            this.type = type;
            this.corrected = corrected;
            this.uncorrected = uncorrected;
            this.errorsByCode = errorsByCode;
        }

        long ops() {
            return corrected.getTotalCount();
        }

        long errors() {
            long count = 0;
            for (final long value : errorsByCode.values()) {
                count += value;
            }
            return count;
        }
    }

    /** CPU time one process used while the run was measured. */
    static final class CpuUsage {
        final String name;
        final long pid;
        final double cpuSeconds;

        CpuUsage(final String name, final long pid, final double cpuSeconds) {
            this.name = name;
            this.pid = pid;
            this.cpuSeconds = cpuSeconds;
        }
    }

    final LoadConfig config;
    final Instant startTime;
    final long measuredNs;
    final List<OpResult> opResults;
    /** Fixed rate: operations due in the measured window but never sent (the target rate was not reached). */
    final long unsentOps;
    final List<CpuUsage> cpu;
    /** The load generator's machine, as {@link io.cairn.bench.HardwareProfile#toJson()}. */
    final String profileJson;

    LoadResult(final LoadConfig config, final Instant startTime, final long measuredNs,
        final List<OpResult> opResults, final long unsentOps, final List<CpuUsage> cpu, final String profileJson) {
        this.config = config;
        this.startTime = startTime;
        this.measuredNs = measuredNs;
        this.opResults = List.copyOf(opResults);
        this.unsentOps = unsentOps;
        this.cpu = List.copyOf(cpu);
        this.profileJson = profileJson;
    }

    long ops() {
        long count = 0;
        for (final OpResult op : opResults) {
            count += op.ops();
        }
        return count;
    }

    long errors() {
        long count = 0;
        for (final OpResult op : opResults) {
            count += op.errors();
        }
        return count;
    }

    Map<String, Long> errorsByCode() {
        final Map<String, Long> byCode = new LinkedHashMap<>();
        for (final OpResult op : opResults) {
            op.errorsByCode.forEach((code, count) -> byCode.merge(code, count, Long::sum));
        }
        return byCode;
    }

    double measuredSeconds() {
        return measuredNs / 1e9;
    }

    /**
     * @return successful operations per second of the measured window.
     */
    double throughput() {
        return measuredNs == 0 ? 0 : ops() / measuredSeconds();
    }

    /**
     * @param usage one process's CPU time.
     * @return its CPU microseconds per successful operation, or 0 when none succeeded.
     */
    double cpuMicrosPerOp(final CpuUsage usage) {
        final long ops = ops();
        return ops == 0 ? 0 : usage.cpuSeconds * 1e6 / ops;
    }
}
