package io.cairn.bench.load;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * CPU time of a process from {@code /proc/<pid>/stat}: user plus system time (fields 14 and 15, proc(5)), in clock
 * ticks. Read before and after the measured window, the difference is the CPU the process spent serving the run.
 */
final class ProcessCpu {
    /** Linux's USER_HZ on every mainstream architecture, used if {@code getconf CLK_TCK} cannot be run. */
    static final long DEFAULT_TICKS_PER_SECOND = 100;
    /** utime's place among the fields after the command name, which start at field 3 (state). */
    private static final int UTIME_AFTER_COMMAND = 14 - 3;

    private ProcessCpu() {
    }

    /**
     * @param statLine the contents of {@code /proc/<pid>/stat}.
     * @return utime + stime in clock ticks.
     * @throws IllegalArgumentException if the line is not in proc(5)'s format.
     */
    static long parseTicks(final String statLine) {
        // The command name (field 2) is in parentheses and may itself hold spaces and parentheses.
        final int commandEnd = statLine.lastIndexOf(')');
        if (commandEnd < 0 || commandEnd + 2 > statLine.length()) {
            throw new IllegalArgumentException("not a /proc/<pid>/stat line: " + statLine);
        }
        final String[] fields = statLine.substring(commandEnd + 2).trim().split(" +");
        if (fields.length <= UTIME_AFTER_COMMAND + 1) {
            throw new IllegalArgumentException("too few fields in /proc/<pid>/stat line: " + statLine);
        }
        try {
            return Long.parseLong(fields[UTIME_AFTER_COMMAND]) + Long.parseLong(fields[UTIME_AFTER_COMMAND + 1]);
        } catch (final NumberFormatException e) {
            throw new IllegalArgumentException("utime/stime are not numbers in: " + statLine, e);
        }
    }

    /**
     * @param pid a running process.
     * @return its utime + stime so far, in clock ticks.
     * @throws IOException if the process does not exist (any more) or /proc cannot be read.
     */
    static long readTicks(final long pid) throws IOException {
        return parseTicks(Files.readString(Path.of("/proc", Long.toString(pid), "stat"), StandardCharsets.UTF_8));
    }

    /**
     * @return clock ticks per second of /proc's times, from {@code getconf CLK_TCK}, else
     *     {@link #DEFAULT_TICKS_PER_SECOND}.
     */
    static long ticksPerSecond() {
        try {
            final Process process = new ProcessBuilder("getconf", "CLK_TCK").redirectErrorStream(true).start();
            final String text;
            try (InputStream in = process.getInputStream()) {
                text = new String(in.readAllBytes(), StandardCharsets.US_ASCII).trim();
            }
            if (process.waitFor() == 0 && text.matches("\\d+")) {
                return Long.parseLong(text);
            }
        } catch (final IOException e) {
            // No getconf: fall back to USER_HZ below.
            return DEFAULT_TICKS_PER_SECOND;
        } catch (final InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return DEFAULT_TICKS_PER_SECOND;
    }
}
