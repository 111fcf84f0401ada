package io.cairn.engine.wal;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
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
    private static final int ROUNDS = Integer.getInteger("cairn.test.crashRounds", 4);

    @TempDir
    Path dir;

    @Test
    @Timeout(value = 600, unit = TimeUnit.SECONDS)
    void shouldKeepEverySyncedEntryWhenKilledMidAppend() throws Exception {
        final Path walDir = dir.resolve("wal");
        final SplittableRandom random = new SplittableRandom(Long.getLong("cairn.test.seed", System.nanoTime()));
        long expectedAtLeast = 0;
        for (int round = 0; round < ROUNDS; round++) {
            final long synced = runAndKill(walDir, random.nextLong(), 150 + random.nextInt(400));
            assertTrue(synced > expectedAtLeast, "round " + round + ": the child made no progress");
            expectedAtLeast = synced;
            try (ChronicleWal wal = ChronicleWal.open(WalConfig.durable(walDir))) {
                assertTrue(wal.lastIndex() >= synced,
                    "acknowledged entry lost: synced " + synced + ", recovered " + wal.lastIndex());
                if (wal.recoveryReport() != null) {
                    assertTrue(wal.recoveryReport().tornTail(), wal.recoveryReport().toString());
                }
                verifyAll(wal);
                System.out.println("round " + round + ": synced " + synced + ", recovered " + wal.lastIndex()
                    + (wal.recoveryReport() == null ? "" : ", " + wal.recoveryReport()));
                expectedAtLeast = wal.lastIndex();
            }
        }
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

    /**
     * @return the last index the child reported synced before it was killed.
     */
    private static long runAndKill(final Path walDir, final long seed, final long runMs) throws Exception {
        final List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        for (final String flag : System.getProperty("cairn.jvm.flags", "").trim().split("\\s+")) {
            if (!flag.isEmpty()) {
                command.add(flag);
            }
        }
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(WalCrashChild.class.getName());
        command.add(walDir.toString());
        command.add(Long.toString(seed));
        final Process child = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        final long[] lastSynced = {0};
        final Thread reader = new Thread(() -> {
            try (BufferedReader lines = new BufferedReader(
                new InputStreamReader(child.getInputStream(), StandardCharsets.US_ASCII))) {
                String line;
                while ((line = lines.readLine()) != null) {
                    if (line.startsWith("synced ")) {
                        synchronized (lastSynced) {
                            lastSynced[0] = Long.parseLong(line.substring(7));
                        }
                    }
                }
            } catch (final IOException ex) {
                // The child died: the stream ends.
            }
        });
        reader.start();
        try {
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (current(lastSynced) == 0 && System.nanoTime() < deadline && child.isAlive()) {
                Thread.sleep(5);
            }
            assertTrue(current(lastSynced) > 0, "child never synced (alive: " + child.isAlive() + ")");
            Thread.sleep(runMs);
        } finally {
            child.destroyForcibly();
            assertTrue(child.waitFor(20, TimeUnit.SECONDS), "child did not die");
            reader.join(5000);
        }
        return current(lastSynced);
    }

    private static long current(final long[] lastSynced) {
        synchronized (lastSynced) {
            return lastSynced[0];
        }
    }
}
