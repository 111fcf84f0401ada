package io.cairn.server;

import io.cairn.transport.aeron.AeronTransportConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A member process's resident memory by what holds it, from {@code /proc/PID/smaps}: the process's own (anonymous:
 * heap, direct buffers, metaspace, code, stacks), the keyspace's LMDB map, the WAL's Chronicle files, Aeron's term
 * buffers and the other mapped files (the JDK's and the jars' code). They grow for different reasons — the keyspace
 * with the data written, Aeron's toward a ceiling its term length sets, the process's own only by a leak — so a test
 * bounds each against its own cause rather than one total.
 *
 * @param anonymousKib the process's own memory.
 * @param keyspaceKib  LMDB's map ({@code data.mdb}, {@code lock.mdb}).
 * @param walKib       the WAL's files ({@code .cq4}, {@code .cq4t}).
 * @param aeronKib     the media driver's files (log buffers, {@code cnc.dat}, the loss report).
 * @param otherKib     every other mapped file.
 */
record ResidentMemory(long anonymousKib, long keyspaceKib, long walKib, long aeronKib, long otherKib) {
    static final ResidentMemory NONE = new ResidentMemory(0, 0, 0, 0, 0);

    /**
     * @param pid a live process.
     * @return its resident memory by kind; {@link #NONE} when it is gone.
     */
    static ResidentMemory of(final long pid) {
        final List<String> lines;
        try {
            lines = Files.readAllLines(Path.of("/proc", Long.toString(pid), "smaps"));
        } catch (final IOException | RuntimeException ex) {
            return NONE; // gone between the check and the read
        }
        long anonymous = 0;
        long keyspace = 0;
        long wal = 0;
        long aeron = 0;
        long other = 0;
        String path = "";
        for (final String line : lines) {
            if (isMappingHeader(line)) {
                // address perms offset dev inode [path]: the path is the sixth field, and may hold spaces
                final String[] fields = line.trim().split("\\s+", 6);
                path = fields.length == 6 ? fields[5] : "";
            } else if (line.startsWith("Rss:")) {
                final long kib = Long.parseLong(line.replaceAll("\\D", ""));
                if (path.isEmpty() || path.startsWith("[")) {
                    anonymous += kib;
                } else if (path.endsWith(".mdb")) {
                    keyspace += kib;
                } else if (path.endsWith(".cq4") || path.endsWith(".cq4t")) {
                    wal += kib;
                } else if (path.contains(AeronTransportConfig.DIRECTORY_PREFIX)) {
                    aeron += kib;
                } else {
                    other += kib;
                }
            }
        }
        return new ResidentMemory(anonymous, keyspace, wal, aeron, other);
    }

    /** A mapping's first line starts with its address range, {@code 7f12a000-7f12b000}; attribute lines with a name. */
    private static boolean isMappingHeader(final String line) {
        final int dash = line.indexOf('-');
        final int space = line.indexOf(' ');
        return dash > 0 && space > dash && line.substring(0, dash).chars().allMatch(c -> Character.digit(c, 16) >= 0);
    }

    /** @return the sum of every kind. */
    long totalKib() {
        return anonymousKib + keyspaceKib + walKib + aeronKib + otherKib;
    }

    /**
     * @param other another sample.
     * @return each kind's larger value.
     */
    ResidentMemory max(final ResidentMemory other) {
        return new ResidentMemory(Math.max(anonymousKib, other.anonymousKib), Math.max(keyspaceKib, other.keyspaceKib),
            Math.max(walKib, other.walKib), Math.max(aeronKib, other.aeronKib), Math.max(otherKib, other.otherKib));
    }

    @Override
    public String toString() {
        return String.format("own %d MiB, keyspace %d MiB, WAL %d MiB, Aeron %d MiB, other files %d MiB",
            anonymousKib >> 10, keyspaceKib >> 10, walKib >> 10, aeronKib >> 10, otherKib >> 10);
    }
}
