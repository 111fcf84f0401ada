package io.cairn.bench.report;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * What one hardware profile's folder holds, reduced to the latest of each kind: per JMH configuration the latest
 * score (a run without {@code -prof gc} preferred on the same day) and the latest allocation figure, the latest sync
 * probe of each day, and the latest {@code compare} run.
 */
final class ProfileResults {
    final String name;
    /** {@code profile.json}: cpuModel, cores, memoryBytes, kernel, architecture, jdk, filesystem, device. */
    final Map<String, Object> hardware;
    /** Date folder to the files in it ({@code compare/} files prefixed), sorted. */
    final SortedMap<String, List<String>> runs = new TreeMap<>();
    /** JMH configuration ({@link JmhResult#key()}) to its latest score. */
    final SortedMap<String, JmhResult> jmh = new TreeMap<>();
    /** JMH configuration to its latest {@code -prof gc} result. */
    final SortedMap<String, JmhResult> allocation = new TreeMap<>();
    /** Date folder to its latest sync probe. */
    final SortedMap<String, SyncProbeResult> probes = new TreeMap<>();
    /** The latest compare run's results, sorted by workload, system and round; empty when there is none. */
    final List<LoadRun> compare = new ArrayList<>();
    /** The latest compare run's idle CPU, percent of one core for the three processes, by system ("etcd", "cairn"). */
    final java.util.SortedMap<String, Double> idlePercent = new java.util.TreeMap<>();

    ProfileResults(final String name, final Map<String, Object> hardware) {
        this.name = name;
        this.hardware = hardware;
    }

    /**
     * @return the latest sync probe, or null.
     */
    SyncProbeResult latestProbe() {
        return probes.isEmpty() ? null : probes.get(probes.lastKey());
    }

    /**
     * @param date a date folder.
     * @return the probe run that day, the physical limit measured beside that day's benchmarks; else the latest.
     */
    SyncProbeResult probeFor(final String date) {
        final SyncProbeResult sameDay = probes.get(date);
        return sameDay != null ? sameDay : latestProbe();
    }

    /**
     * @param date a date folder.
     * @return the probe of that day if it measured memory copy bandwidth, else the latest that did; null if none did.
     */
    SyncProbeResult memoryProbeFor(final String date) {
        final SyncProbeResult sameDay = probes.get(date);
        if (sameDay != null && !sameDay.copies().isEmpty()) {
            return sameDay;
        }
        SyncProbeResult latest = null;
        for (final SyncProbeResult probe : probes.values()) {
            if (!probe.copies().isEmpty()) {
                latest = probe;
            }
        }
        return latest;
    }

    /**
     * @param className a benchmark class's simple name.
     * @return its latest results, sorted by configuration.
     */
    List<JmhResult> jmh(final String className) {
        final List<JmhResult> results = new ArrayList<>();
        for (final JmhResult result : jmh.values()) {
            if (result.className().equals(className)) {
                results.add(result);
            }
        }
        results.sort(JmhResult.ORDER);
        return results;
    }

    /**
     * @return the date folder of the compare run, or the empty string.
     */
    String compareDate() {
        return compare.isEmpty() ? "" : compare.get(0).source().substring(0, compare.get(0).source().indexOf('/'));
    }
}
