package io.cairn.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Bytes written to the block device that holds a path, from {@code /proc/diskstats} (sectors written, 512 bytes
 * each). Device-wide: anything else writing to the same disk during a measurement is counted too, so measure over
 * a long enough run and compare ratios.
 */
public final class DiskStats {
    private final String deviceName;

    private DiskStats(final String deviceName) {
        this.deviceName = deviceName;
    }

    /**
     * @param path a file or directory on the device to watch.
     * @return the device's stats, or null if it cannot be found (not Linux, or a virtual filesystem).
     */
    public static DiskStats forPath(final Path path) {
        try {
            final long dev = ((Number)Files.getAttribute(path, "unix:dev")).longValue();
            final long major = (dev >>> 8) & 0xfff | ((dev >>> 32) & ~0xfffL);
            final long minor = (dev & 0xff) | ((dev >>> 12) & ~0xffL);
            for (final String line : Files.readAllLines(Path.of("/proc/diskstats"))) {
                final String[] fields = line.trim().split("\\s+");
                if (Long.parseLong(fields[0]) == major && Long.parseLong(fields[1]) == minor) {
                    return new DiskStats(fields[2]);
                }
            }
        } catch (final IOException | UnsupportedOperationException | IllegalArgumentException ex) {
            return null;
        }
        return null;
    }

    /**
     * @return the device's name in /proc/diskstats.
     */
    public String deviceName() {
        return deviceName;
    }

    /**
     * @return bytes written to the device since boot.
     */
    public long bytesWritten() {
        try {
            for (final String line : Files.readAllLines(Path.of("/proc/diskstats"))) {
                final String[] fields = line.trim().split("\\s+");
                if (fields[2].equals(deviceName)) {
                    return Long.parseLong(fields[9]) * 512;
                }
            }
        } catch (final IOException ex) {
            return -1;
        }
        return -1;
    }
}
