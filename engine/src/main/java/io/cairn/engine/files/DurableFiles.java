package io.cairn.engine.files;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Making a new file appear whole or not at all: fsync it, rename it over its target, fsync the directory.
 */
public final class DurableFiles {
    private DurableFiles() {
    }

    /**
     * fsyncs {@code source}, renames it over {@code target} and fsyncs the directory, so that after a crash
     * {@code target} is either the old file or the whole new one.
     *
     * @param source a finished file.
     * @param target its final name.
     * @throws IOException if a step fails.
     */
    public static void moveDurably(final Path source, final Path target) throws IOException {
        try (FileChannel channel = FileChannel.open(source, StandardOpenOption.WRITE)) {
            channel.force(true);
        }
        Files.move(source, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        syncDirectory(target.toAbsolutePath().getParent());
    }

    /**
     * @param directory a directory whose entries must be durable.
     * @throws IOException if the fsync fails.
     */
    public static void syncDirectory(final Path directory) throws IOException {
        try (FileChannel channel = FileChannel.open(directory, StandardOpenOption.READ)) {
            channel.force(true);
        }
    }
}
