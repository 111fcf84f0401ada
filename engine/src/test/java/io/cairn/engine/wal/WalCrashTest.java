package io.cairn.engine.wal;

import io.cairn.engine.ChildProcesses;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: after SIGKILL in the middle of appending, the WAL reopens at a whole, checksum-valid record, loses nothing
 * that a sync acknowledged, and serves every byte as written. Method: a real child JVM ({@link WalCrashChild})
 * appends random batches and prints each synced index; the test kills it with SIGKILL (by PID, via
 * {@code destroyForcibly}) at a random moment, reopens the WAL in this process and checks every entry, then lets a
 * new child continue the same log — several rounds, so recovery of a killed tail is itself recovered from.
 */
class WalCrashTest {
    @TempDir
    Path dir;

    @Test
    @Timeout(value = 600, unit = TimeUnit.SECONDS)
    void shouldKeepEverySyncedEntryWhenKilledMidAppend() throws Exception {
        final Path walDir = dir.resolve("wal");
        ChildProcesses.killInRounds(WalCrashChild.class, "synced ", 150, 400,
            random -> new String[] {walDir.toString(), Long.toString(random.nextLong())},
            (round, synced) -> {
                try (ChronicleWal wal = ChronicleWal.open(WalConfig.durable(walDir))) {
                    assertTrue(wal.lastIndex() >= synced,
                        "acknowledged entry lost: synced " + synced + ", recovered " + wal.lastIndex());
                    if (wal.recoveryReport() != null) {
                        assertTrue(wal.recoveryReport().tornTail(), wal.recoveryReport().toString());
                    }
                    verifyAll(wal);
                    System.out.println("round " + round + ": synced " + synced + ", recovered " + wal.lastIndex()
                        + (wal.recoveryReport() == null ? "" : ", " + wal.recoveryReport()));
                    return wal.lastIndex();
                }
            });
    }

    private static void verifyAll(final ChronicleWal wal) {
        final UnsafeBuffer expected = new UnsafeBuffer(ByteBuffer.allocateDirect(64 * 1024));
        final long[] next = {wal.firstIndex()};
        final int read = wal.readRange(wal.firstIndex(), wal.lastIndex(), Integer.MAX_VALUE, Long.MAX_VALUE,
            (index, term, type, buffer, offset, length) -> {
                assertEquals(next[0], index);
                final int expectedLength = WalCrashChild.fill(expected, index);
                assertEquals(expectedLength, length, "length of entry " + index);
                for (int i = 0; i < length; i++) {
                    if (expected.getByte(i) != buffer.getByte(offset + i)) {
                        throw new AssertionError("entry " + index + " differs at byte " + i);
                    }
                }
                next[0]++;
            });
        assertEquals(wal.lastIndex(), read);
    }
}
