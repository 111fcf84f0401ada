package io.cairn.consensus.keyspace;

import io.cairn.engine.mvcc.StoreFiles;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: a keyspace that may hold pages torn by a power failure is never opened as it is, and one that cannot is kept.
 * Method: a stand-in {@code data.mdb} and the boot ID read from a file this test writes ({@code cairn.bootIdFile}).
 */
class PowerLossGuardTest {
    @TempDir
    Path dir;

    private Path kv;
    private Path data;

    @BeforeEach
    void boot() throws IOException {
        kv = dir.resolve("kv");
        data = kv.resolve(StoreFiles.DATA_FILE);
        Files.writeString(dir.resolve("boot-id"), "boot-1\n");
        System.setProperty("cairn.bootIdFile", dir.resolve("boot-id").toString());
    }

    @AfterEach
    void clear() {
        System.clearProperty("cairn.bootIdFile");
    }

    private void store() throws IOException {
        Files.createDirectories(kv);
        Files.writeString(data, "pages");
    }

    @Test
    void shouldKeepTheStoreAfterAProcessCrashInTheSameBoot() throws IOException {
        assertFalse(PowerLossGuard.check(kv), "a new member has nothing to discard");
        store();
        assertFalse(PowerLossGuard.check(kv));
        assertTrue(Files.exists(data));
    }

    @Test
    void shouldDiscardTheStoreWhenTheMachineRestartedWhileItWasOpen() throws IOException {
        PowerLossGuard.check(kv);
        store();
        Files.writeString(dir.resolve("boot-id"), "boot-2\n");
        assertTrue(PowerLossGuard.check(kv));
        assertFalse(Files.exists(data));
        assertEquals("boot-2", Files.readString(kv.resolve(PowerLossGuard.BOOT_FILE)).trim());
    }

    @Test
    void shouldKeepTheStoreAfterARebootWhenItWasSyncedAndClosed() throws IOException {
        PowerLossGuard.check(kv);
        store();
        PowerLossGuard.closedSynced(kv);
        Files.writeString(dir.resolve("boot-id"), "boot-2\n");
        assertFalse(PowerLossGuard.check(kv));
        assertTrue(Files.exists(data));
        Files.writeString(dir.resolve("boot-id"), "boot-3\n");
        assertTrue(PowerLossGuard.check(kv), "opened again under boot 2, not closed: no longer trusted");
    }

    @Test
    void shouldDiscardAStoreWithNoRecordOfItsBoot() throws IOException {
        store();
        assertTrue(PowerLossGuard.check(kv));
        assertFalse(Files.exists(data));
    }
}
