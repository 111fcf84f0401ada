package io.cairn.engine.mvcc;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.concurrent.TimeUnit;

/**
 * Where lmdbjava copies the LMDB library it carries. It copies it out of its jar into the temporary directory at every
 * start and deletes the copy at a clean exit only, so every process that died otherwise (SIGKILL, a crash, the OOM
 * killer, a power cut) left ~350 KB in {@code /tmp} for good: a test machine had 454 of them. Cairn points it at a
 * directory of the user's own, {@code <tmp>/cairn-lmdbjava-<user>} (mode 700, owned by the user, not a link: others
 * could otherwise swap the library between its copy and its load), and deletes the copies there that are over a
 * minute old — a library in use stays mapped by its process after its file is deleted, and one copied a minute ago is
 * loaded already. An operator's own {@code lmdbjava.extract.dir} or {@code lmdbjava.native.lib} is left as given; if
 * anything about the directory is not as it must be, lmdbjava keeps its default.
 */
final class LmdbLibrary {
    static final String EXTRACT_DIR_PROPERTY = "lmdbjava.extract.dir";
    private static final String NATIVE_LIB_PROPERTY = "lmdbjava.native.lib";
    private static final String COPY_GLOB = "lmdbjava-native-library-*";
    private static final long LOADED_AFTER_MS = TimeUnit.MINUTES.toMillis(1);
    private static final System.Logger LOG = System.getLogger(LmdbLibrary.class.getName());

    private LmdbLibrary() {
    }

    /** Sets lmdbjava's extraction directory, once per process, before lmdbjava loads the library. */
    static synchronized void prepare() {
        if (System.getProperty(EXTRACT_DIR_PROPERTY) != null || System.getProperty(NATIVE_LIB_PROPERTY) != null) {
            return;
        }
        final Path directory = directory(Path.of(System.getProperty("java.io.tmpdir")),
            System.getProperty("user.name"));
        if (directory != null) {
            System.setProperty(EXTRACT_DIR_PROPERTY, directory.toString());
        }
    }

    /**
     * @param temporary the temporary directory.
     * @param user      this process's user.
     * @return {@code temporary/cairn-lmdbjava-USER}, made if absent, with the copies over a minute old deleted; or
     *         null if it is not a directory of this user's alone (mode 700, not a link) or cannot be made.
     */
    static Path directory(final Path temporary, final String user) {
        final Path directory = temporary.resolve("cairn-lmdbjava-" + user);
        final EnumSet<PosixFilePermission> owner = EnumSet.of(PosixFilePermission.OWNER_READ,
            PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_EXECUTE);
        try {
            try {
                Files.createDirectory(directory, PosixFilePermissions.asFileAttribute(owner));
            } catch (final java.nio.file.FileAlreadyExistsException ex) {
                // made before (or by another process meanwhile): checked below like any other
            }
            final PosixFileAttributes attributes = Files.readAttributes(directory, PosixFileAttributes.class,
                LinkOption.NOFOLLOW_LINKS);
            if (!attributes.isDirectory() || !attributes.owner().getName().equals(user)
                || !attributes.permissions().equals(owner)) {
                LOG.log(System.Logger.Level.WARNING, "{0} is not a directory of this user''s alone (mode 700):"
                    + " LMDB''s library is copied to the temporary directory as lmdbjava does", directory);
                return null;
            }
            deleteOldCopies(directory);
            return directory;
        } catch (final IOException | UnsupportedOperationException ex) {
            LOG.log(System.Logger.Level.DEBUG, "LMDB''s library is copied to the temporary directory as lmdbjava"
                + " does ({0})", ex);
            return null;
        }
    }

    private static void deleteOldCopies(final Path directory) throws IOException {
        final long loadedBefore = System.currentTimeMillis() - LOADED_AFTER_MS;
        try (DirectoryStream<Path> copies = Files.newDirectoryStream(directory, COPY_GLOB)) {
            for (final Path copy : copies) {
                try {
                    if (Files.getLastModifiedTime(copy, LinkOption.NOFOLLOW_LINKS).toMillis() < loadedBefore) {
                        Files.deleteIfExists(copy);
                    }
                } catch (final IOException ex) {
                    // in use where a loaded library cannot be deleted, or gone meanwhile: next time
                }
            }
        }
    }
}
