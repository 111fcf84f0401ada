package io.cairn.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Where benchmarks put their files: {@code -Dcairn.bench.dir} or {@code target/bench} under the working directory.
 * Not {@code /tmp}: it may be tmpfs, where a sync costs nothing and the figures would lie.
 */
public final class BenchDirectories {
    private BenchDirectories() {
    }

    /**
     * @param name a label for the directory.
     * @return a new, empty directory.
     * @throws IOException if it cannot be made.
     */
    public static Path fresh(final String name) throws IOException {
        final Path root = Path.of(System.getProperty("cairn.bench.dir", "target/bench")).toAbsolutePath();
        Files.createDirectories(root);
        return Files.createTempDirectory(root, name + "-");
    }

    /**
     * Deletes a directory tree.
     *
     * @param directory what to delete.
     * @throws IOException if it cannot be deleted.
     */
    public static void delete(final Path directory) throws IOException {
        if (!Files.exists(directory)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(directory)) {
            for (final Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        }
    }
}
