package io.cairn.transport.aeron;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Fault injection for tests of real processes: a network partition at the transport. When the system property
 * {@code cairn.transport.partitionFile} names a file, a daemon thread re-reads it every 50 ms; it lists the member IDs
 * (hex, as etcdctl prints them, separated by white space) this member neither sends to nor hears from — the frames
 * are dropped silently, as a cut network would drop them, and counted. No file, or an empty one: no partition.
 * Without the property nothing runs and the check costs one null test per frame.
 */
final class PartitionRules implements AutoCloseable {
    /** The system property naming the rules file. */
    static final String PROPERTY = "cairn.transport.partitionFile";
    private static final long POLL_MS = 50;

    private final Path file;
    private final Thread reader;
    private volatile int[] blocked = new int[0];
    private volatile boolean closed;

    private PartitionRules(final Path file) {
        this.file = file;
        this.reader = new Thread(this::run, "cairn-partition-rules");
        reader.setDaemon(true);
        load();
        reader.start();
    }

    /**
     * @return the rules named by {@link #PROPERTY}, or null when it is not set.
     */
    static PartitionRules fromSystemProperty() {
        final String path = System.getProperty(PROPERTY);
        return path == null || path.isBlank() ? null : new PartitionRules(Path.of(path));
    }

    /**
     * @param nodeId a peer.
     * @return true while frames to and from it are dropped.
     */
    boolean blocks(final int nodeId) {
        final int[] ids = blocked;
        for (final int id : ids) {
            if (id == nodeId) {
                return true;
            }
        }
        return false;
    }

    private void run() {
        while (!closed) {
            try {
                Thread.sleep(POLL_MS);
            } catch (final InterruptedException ex) {
                return;
            }
            load();
        }
    }

    private void load() {
        String text = "";
        try {
            if (Files.exists(file)) {
                text = Files.readString(file, StandardCharsets.US_ASCII).trim();
            }
        } catch (final IOException ex) {
            return; // being rewritten: keep the rules in force and read again next time
        }
        final int[] ids = text.isEmpty() ? new int[0]
            : Arrays.stream(text.split("\\s+")).mapToInt(id -> Integer.parseUnsignedInt(id, 16)).toArray();
        if (!Arrays.equals(ids, blocked)) {
            blocked = ids;
            System.getLogger(PartitionRules.class.getName()).log(System.Logger.Level.INFO,
                "partition rules from " + file + ": cut from " + (text.isEmpty() ? "nobody" : text));
        }
    }

    @Override
    public void close() {
        closed = true;
        reader.interrupt();
    }
}
