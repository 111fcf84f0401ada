package io.cairn.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * What a result was measured on: CPU, cores, memory, kernel, JDK, and the filesystem and device of the benchmark
 * directory. The profile name groups results under {@code perf-results/<name>/}; it is derived from the machine and
 * can be set with {@code -Dcairn.profile=NAME}.
 *
 * @param name            profile name.
 * @param cpuModel        CPU model string.
 * @param cores           processors available to the JVM.
 * @param memoryBytes     physical memory.
 * @param kernel          OS name and version.
 * @param architecture    CPU architecture.
 * @param jdk             JDK vendor and version.
 * @param filesystem      filesystem type of the benchmark directory.
 * @param device          block device of the benchmark directory.
 */
public record HardwareProfile(
    String name,
    String cpuModel,
    int cores,
    long memoryBytes,
    String kernel,
    String architecture,
    String jdk,
    String filesystem,
    String device) {

    /**
     * @param benchDirectory where benchmark files go (its filesystem and device are recorded).
     * @return this machine's profile.
     */
    public static HardwareProfile probe(final Path benchDirectory) {
        final String cpu = firstValue(Path.of("/proc/cpuinfo"), "model name", System.getProperty("os.arch"));
        final int cores = Runtime.getRuntime().availableProcessors();
        final long memory = parseKb(firstValue(Path.of("/proc/meminfo"), "MemTotal", "0 kB")) * 1024;
        final Path absolute = benchDirectory.toAbsolutePath();
        final DiskStats disk = DiskStats.forPath(absolute);
        final String name = System.getProperty("cairn.profile", derivedName(cpu, cores, memory));
        return new HardwareProfile(name, cpu, cores, memory,
            System.getProperty("os.name") + " " + System.getProperty("os.version"),
            System.getProperty("os.arch"),
            System.getProperty("java.vendor") + " " + System.getProperty("java.runtime.version"),
            filesystem(absolute), disk == null ? "unknown" : disk.deviceName());
    }

    private static String derivedName(final String cpu, final int cores, final long memoryBytes) {
        final String model = cpu.toLowerCase(Locale.ROOT)
            .replaceAll("\\(r\\)|\\(tm\\)|cpu|processor|@.*$", "")
            .replaceAll("[^a-z0-9]+", "-")
            .replaceAll("^-|-$", "");
        final long gib = Math.round(memoryBytes / (1024.0 * 1024 * 1024));
        return System.getProperty("os.arch") + "-" + cores + "c-" + gib + "g-" + model;
    }

    private static String firstValue(final Path file, final String key, final String fallback) {
        try {
            for (final String line : Files.readAllLines(file)) {
                if (line.startsWith(key)) {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        } catch (final IOException ex) {
            return fallback;
        }
        return fallback;
    }

    private static long parseKb(final String value) {
        try {
            return Long.parseLong(value.replace("kB", "").trim());
        } catch (final NumberFormatException ex) {
            return 0;
        }
    }

    private static String filesystem(final Path path) {
        try {
            final List<String> mounts = Files.readAllLines(Path.of("/proc/mounts"));
            String best = "unknown";
            int bestLength = -1;
            final String text = path.toString();
            for (final String line : mounts) {
                final String[] fields = line.split(" ");
                if (text.startsWith(fields[1]) && fields[1].length() > bestLength) {
                    best = fields[2] + " (" + fields[0] + " on " + fields[1] + ")";
                    bestLength = fields[1].length();
                }
            }
            return best;
        } catch (final IOException ex) {
            return "unknown";
        }
    }

    /**
     * @return the profile as a JSON object.
     */
    public String toJson() {
        return "{\n"
            + "  \"name\": " + Json.quote(name) + ",\n"
            + "  \"cpuModel\": " + Json.quote(cpuModel) + ",\n"
            + "  \"cores\": " + cores + ",\n"
            + "  \"memoryBytes\": " + memoryBytes + ",\n"
            + "  \"kernel\": " + Json.quote(kernel) + ",\n"
            + "  \"architecture\": " + Json.quote(architecture) + ",\n"
            + "  \"jdk\": " + Json.quote(jdk) + ",\n"
            + "  \"filesystem\": " + Json.quote(filesystem) + ",\n"
            + "  \"device\": " + Json.quote(device) + "\n"
            + "}";
    }
}
