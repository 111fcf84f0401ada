package io.cairn.engine.mvcc;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: lmdbjava's copies of the LMDB library stop piling up in the temporary directory, and the directory they go
 * to cannot be one another user controls. Method: real directories under a temporary one, with their mode, owner
 * and links set up as each case needs.
 */
class LmdbLibraryTest {
    private static final String USER = System.getProperty("user.name");

    @TempDir
    Path temporary;

    @Test
    void shouldMakeAPrivateDirectoryAndDeleteCopiesOverAMinuteOld() throws IOException {
        final Path directory = LmdbLibrary.directory(temporary, USER);
        assertNotNull(directory);
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(directory)));
        final Path old = Files.write(directory.resolve("lmdbjava-native-library-1.so"), new byte[] {1});
        final Path fresh = Files.write(directory.resolve("lmdbjava-native-library-2.so"), new byte[] {2});
        final Path other = Files.write(directory.resolve("something-else"), new byte[] {3});
        Files.setLastModifiedTime(old, FileTime.fromMillis(System.currentTimeMillis() - 120_000));
        Files.setLastModifiedTime(other, FileTime.fromMillis(System.currentTimeMillis() - 120_000));
        assertEquals(directory, LmdbLibrary.directory(temporary, USER), "the same directory next time");
        assertFalse(Files.exists(old), "a copy over a minute old is deleted");
        assertTrue(Files.exists(fresh), "a copy just made may be loading: kept");
        assertTrue(Files.exists(other), "only lmdbjava's copies are touched");
    }

    @Test
    void shouldRefuseADirectoryOthersCanWriteOrALink() throws IOException {
        final Path open = Files.createDirectory(temporary.resolve("cairn-lmdbjava-" + USER));
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx"));
        assertNull(LmdbLibrary.directory(temporary, USER), "mode 777");
        Files.delete(open);
        final Path elsewhere = Files.createDirectory(temporary.resolve("elsewhere"));
        Files.setPosixFilePermissions(elsewhere, PosixFilePermissions.fromString("rwx------"));
        Files.createSymbolicLink(temporary.resolve("cairn-lmdbjava-" + USER), elsewhere);
        assertNull(LmdbLibrary.directory(temporary, USER), "a link");
        assertNull(LmdbLibrary.directory(temporary, USER + "-someone-else"), "made by this user, named for another");
    }
}
