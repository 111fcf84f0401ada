package io.cairn.bench.report;

import io.cairn.bench.JsonReader;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Walks {@code perf-results/}: every folder holding a {@code profile.json} or dated run folders
 * ({@code YYYY-MM-DD}) is a profile. Files are visited in name order, dates ascending, so "latest" is decided by the
 * folder's date and then the file name, never by file times.
 */
final class ResultsLoader {
    private static final Pattern DATE = Pattern.compile("[0-9]{4}-[0-9]{2}-[0-9]{2}");
    private static final Pattern JMH = Pattern.compile("jmh.*\\.json");
    private static final Pattern PROBE = Pattern.compile("sync-probe-.*\\.json");
    private static final String COMPARE = "compare";
    private static final Pattern IDLE = Pattern.compile("idle-(\\w+)\\.json");

    private ResultsLoader() {
    }

    /**
     * @param root     the results folder.
     * @param warnings where unreadable files are reported (they are skipped).
     * @return one entry per profile, by name.
     * @throws IOException if a folder cannot be listed.
     */
    static List<ProfileResults> load(final Path root, final PrintStream warnings) throws IOException {
        final List<ProfileResults> profiles = new ArrayList<>();
        for (final Path folder : sorted(root)) {
            if (!Files.isDirectory(folder) || folder.getFileName().toString().startsWith(".")) {
                continue;
            }
            final List<Path> dates = new ArrayList<>();
            for (final Path child : sorted(folder)) {
                if (Files.isDirectory(child) && DATE.matcher(child.getFileName().toString()).matches()) {
                    dates.add(child);
                }
            }
            final Path profileJson = folder.resolve("profile.json");
            if (dates.isEmpty() && !Files.isRegularFile(profileJson)) {
                continue;
            }
            Map<String, Object> hardware = Map.of();
            if (Files.isRegularFile(profileJson)) {
                hardware = JsonReader.object(read(profileJson, warnings));
            } else if (Files.isRegularFile(dates.get(dates.size() - 1).resolve("profile.json"))) {
                hardware = JsonReader.object(read(dates.get(dates.size() - 1).resolve("profile.json"), warnings));
            }
            final ProfileResults profile = new ProfileResults(folder.getFileName().toString(), hardware);
            for (final Path date : dates) {
                loadDate(profile, date, warnings);
            }
            profiles.add(profile);
        }
        return profiles;
    }

    private static void loadDate(final ProfileResults profile, final Path folder, final PrintStream warnings)
        throws IOException {
        final String date = folder.getFileName().toString();
        final List<String> files = new ArrayList<>();
        for (final Path file : sorted(folder)) {
            final String name = file.getFileName().toString();
            if (Files.isDirectory(file)) {
                if (COMPARE.equals(name)) {
                    loadCompare(profile, date, file, files, warnings);
                } else if (Files.isRegularFile(file.resolve("failover.md"))) {
                    files.add(name + "/failover.md"); // a failover run: its table is listed with the date's runs
                }
                continue;
            }
            files.add(name);
            final String source = date + "/" + name;
            if (JMH.matcher(name).matches()) {
                for (final Object element : JsonReader.array(read(file, warnings))) {
                    offer(profile, JmhResult.parse(element, source));
                }
            } else if (PROBE.matcher(name).matches()) {
                final Object json = read(file, warnings);
                if (json != null) {
                    // Names carry a UTC timestamp: the last one of the day is the latest.
                    profile.probes.put(date, SyncProbeResult.parse(json, source));
                }
            }
        }
        profile.runs.put(date, List.copyOf(files));
    }

    private static void offer(final ProfileResults profile, final JmhResult result) {
        final String key = result.key();
        final JmhResult allocation = profile.allocation.get(key);
        if (result.gcProfiled() && (allocation == null || !allocation.date().equals(result.date())
            || result.measuredSeconds() >= allocation.measuredSeconds())) {
            profile.allocation.put(key, result);
        }
        final JmhResult held = profile.jmh.get(key);
        // Dates ascend, so a later day always wins; on the same day a run without -prof gc wins (the profiler
        // perturbs the score), then the longer measurement, and between equals the later file name.
        if (held == null || !held.date().equals(result.date())) {
            profile.jmh.put(key, result);
        } else if (held.gcProfiled() != result.gcProfiled()) {
            if (!result.gcProfiled()) {
                profile.jmh.put(key, result);
            }
        } else if (result.measuredSeconds() >= held.measuredSeconds()) {
            profile.jmh.put(key, result);
        }
    }

    private static void loadCompare(final ProfileResults profile, final String date, final Path folder,
        final List<String> files, final PrintStream warnings) throws IOException {
        final List<LoadRun> runs = new ArrayList<>();
        final java.util.SortedMap<String, Double> idle = new java.util.TreeMap<>();
        for (final Path file : sorted(folder)) {
            final String name = file.getFileName().toString();
            files.add(COMPARE + "/" + name);
            final java.util.regex.Matcher idleName = IDLE.matcher(name);
            if (idleName.matches()) {
                final Object json = read(file, warnings);
                if (json instanceof java.util.Map<?, ?> fields
                    && fields.get("cpuPercentOfOneCore") instanceof Number percent) {
                    idle.put(idleName.group(1), percent.doubleValue());
                }
            } else if (LoadRun.isRunFile(name)) {
                final Object json = read(file, warnings);
                if (json != null) {
                    runs.add(LoadRun.parse(name, json, date + "/" + COMPARE + "/" + name));
                }
            }
        }
        if (!runs.isEmpty()) {
            runs.sort(Comparator.comparing(LoadRun::workload).thenComparing(LoadRun::system)
                .thenComparingInt(LoadRun::round));
            profile.compare.clear();
            profile.compare.addAll(runs);
            profile.idlePercent.clear();
            profile.idlePercent.putAll(idle);
        }
    }

    private static Object read(final Path file, final PrintStream warnings) throws IOException {
        try {
            return JsonReader.parse(Files.readString(file));
        } catch (final IllegalArgumentException ex) {
            warnings.println("report: skipped " + file + ": " + ex.getMessage());
            return null;
        }
    }

    private static List<Path> sorted(final Path folder) throws IOException {
        try (Stream<Path> children = Files.list(folder)) {
            return children.sorted(Comparator.comparing(path -> path.getFileName().toString())).toList();
        }
    }
}
