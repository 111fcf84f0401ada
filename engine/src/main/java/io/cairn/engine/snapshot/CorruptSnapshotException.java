package io.cairn.engine.snapshot;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A snapshot file or stream that is truncated, damaged or of an unknown format. Whatever was being installed is
 * left out and the state it would have replaced stays as it was.
 */
public final class CorruptSnapshotException extends IOException {
    private static final long serialVersionUID = 1L;

    /**
     * @param file   the snapshot file (or the temporary file a stream was written to).
     * @param reason what is wrong.
     */
    public CorruptSnapshotException(final Path file, final String reason) {
        super("snapshot " + file + " rejected: " + reason);
    }
}
