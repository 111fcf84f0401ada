package io.cairn.server;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: nothing a client was told is written is lost when the power goes out under one member, a minority, or the
 * whole cluster — the case a SIGKILL cannot show, because a killed process leaves the page cache behind.
 *
 * <p>Method: each of three {@code cairn member} processes keeps its data directory on its own {@code lossyfs}
 * (src/test/c/lossyfs.c, built here with gcc against libfuse3): a FUSE file system that holds every write nobody
 * synced in memory. To cut a member's power the test SIGKILLs the member, then tells its file system to lose the
 * unsynced writes — each dirty page reaches the disk with a probability drawn per cut (0, 30, 70 or 100 %), as a disk
 * that had written back some pages in no order — and unmounts it; the member restarts on a fresh mount with a new boot
 * ID. Members take snapshots every 300 entries, so restarts meet compacted logs and stores that lag snapshots. Four
 * clients put and get 16 registers and put unique keys ({@link RegisterWorkload}: the history checked by Wing and
 * Gong's search, each acknowledged key remembered); the faults, at random points ({@code -Dcairn.powerloss.seed},
 * printed): the leader's power, a follower's, all three at once, the leader's again, all three again. Then: the
 * history linearizable, every acknowledged key on every member, the members' hashes equal, their corruption check
 * quiet. Every member restarted after a cut must have discarded its keyspace and rebuilt it (its log says so).
 *
 * <p>Needs root and {@code /dev/fuse} (skipped, saying so, without them) and Debian's {@code libfuse3-dev} and
 * {@code fuse3} ({@code ./test} installs them).
 */
@Timeout(1800) // long modes (rounds) included
class PowerLossIT {
    private static final int CLIENTS = 4;
    private static final int REGISTERS = 16;
    private static final String PREFIX = "power/";
    private static final long SEED = Long.getLong("cairn.powerloss.seed", System.nanoTime());
    private static final int[] KEEP_PERCENT = {0, 30, 70, 100};
    /** How many times the five cuts repeat ({@code -Dcairn.powerloss.rounds}, 1 in {@code ./test}). */
    private static final int ROUNDS = Integer.getInteger("cairn.powerloss.rounds", 1);

    @TempDir
    Path dir;

    private ProcessCluster cairn;
    private final Process[] filesystems = new Process[3];
    private final int[] keepPercent = new int[3];
    private final SplittableRandom random = new SplittableRandom(SEED);
    private RegisterWorkload load;
    private Path lossyfs;

    @AfterEach
    void stop() throws Exception {
        if (load != null) {
            load.stop();
        }
        if (cairn != null) {
            cairn.close();
        }
        for (int i = 0; i < filesystems.length; i++) {
            if (filesystems[i] != null) {
                unmount(i);
            }
        }
    }

    @Test
    void shouldLoseNothingAcknowledgedWhenThePowerGoesOut() throws Exception {
        Assumptions.assumeTrue(Files.isReadable(Path.of("/dev/fuse")) && "root".equals(System.getProperty(
            "user.name")), "PowerLossIT needs root and /dev/fuse to mount its FUSE file system: skipped");
        lossyfs = build();
        System.out.println("PowerLossIT: seed " + SEED + " (-Dcairn.powerloss.seed=" + SEED + " replays the choices)");
        cairn = ProcessCluster.prepareCairn(dir.resolve("members"), "PowerLossIT", 3).withFlags("--snapshot-count",
            "300", "--experimental-corrupt-check-time", "1s");
        for (int i = 0; i < 3; i++) {
            mount(i);
            cairn.newBoot(i);
        }
        cairn.startAll();
        Await.until("a leader", 60, () -> cairn.leader() >= 0);
        load = new RegisterWorkload(cairn, PREFIX, REGISTERS, SEED);
        load.start(CLIENTS);
        final List<String> done = new ArrayList<>();
        try {
            final List<String> faults = new ArrayList<>();
            for (int round = 0; round < ROUNDS; round++) {
                faults.addAll(List.of("leader", "follower", "all", "leader", "all"));
            }
            for (final String fault : faults) {
                load.awaitWrites(200 + random.nextInt(600), "before cutting the power of " + fault);
                final int[] leader = {-1};
                Await.until("a leader", 60, () -> (leader[0] = cairn.leader()) >= 0);
                final int[] victims = switch (fault) {
                    case "leader" -> new int[] {leader[0]};
                    case "follower" -> new int[] {(leader[0] + 1 + random.nextInt(2)) % 3};
                    default -> new int[] {0, 1, 2};
                };
                final long cutNs = System.nanoTime();
                final StringBuilder report = new StringBuilder(fault);
                for (final int victim : victims) {
                    cairn.kill(victim);
                }
                for (final int victim : victims) {
                    report.append(" m").append(victim + 1).append(':').append(keepPercent[victim]).append('%');
                    cutPower(victim);
                    mount(victim);
                    cairn.newBoot(victim);
                }
                for (final int victim : victims) {
                    cairn.start(victim);
                }
                cairn.awaitPorts();
                load.awaitWriteAfter(cutNs, "after cutting the power of " + fault);
                done.add(report.toString());
            }
        } finally {
            load.stop();
        }
        finalChecks(done);
    }

    private void finalChecks(final List<String> done) throws Exception {
        final String verdict = load.finalReadsAndCheck();
        System.out.printf("PowerLossIT: seed %d; power cuts (member:%% of unsynced pages kept) %s; %d operations,"
            + " %d writes acknowledged (%d unique keys); linearizable: %s%n", SEED, done, load.operations(),
            load.okWrites(), load.acknowledgedKeys(), verdict == null ? "yes" : verdict);
        assertNull(verdict, verdict);
        load.assertEveryAcknowledgedKeyOnEveryMember();
        final long revision = load.revision();
        for (int i = 1; i < 3; i++) {
            assertEquals(cairn.hashKv(0, revision), cairn.hashKv(i, revision), "member " + i + "'s keyspace hash");
        }
        cairn.assertCorruptionChecksFoundNoDifference();
        for (int i = 0; i < 3; i++) {
            final String log = Files.readString(Path.of("target", "it-logs", "PowerLossIT", "m" + (i + 1) + ".log"));
            assertTrue(log.contains("Discarding it: it is rebuilt from the latest snapshot and the log"),
                "member " + i + " restarted after a power cut without rebuilding its keyspace");
        }
    }

    /** Builds lossyfs from its source into target/ (once per run). */
    private static Path build() throws Exception {
        final Path binary = Path.of("target", "lossyfs").toAbsolutePath();
        final Path source = Path.of("src", "test", "c", "lossyfs.c").toAbsolutePath();
        final Process gcc = new ProcessBuilder("sh", "-c", "gcc -O2 -Wall -o '" + binary + "' '" + source
            + "' $(pkg-config --cflags --libs fuse3)").redirectErrorStream(true).start();
        final String output = new String(gcc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(gcc.waitFor(120, TimeUnit.SECONDS) && gcc.exitValue() == 0, "building lossyfs (needs gcc,"
            + " pkg-config and Debian's libfuse3-dev; ./test installs them): " + output);
        return binary;
    }

    /** Mounts member {@code i}'s lossyfs over its data directory, drawing how much its next power cut keeps. */
    private void mount(final int i) throws Exception {
        keepPercent[i] = KEEP_PERCENT[random.nextInt(KEEP_PERCENT.length)];
        final Path backing = dir.resolve("disks").resolve("m" + (i + 1));
        final Path mountPoint = cairn.dataDir(i).toAbsolutePath();
        Files.createDirectories(backing);
        Files.createDirectories(mountPoint);
        filesystems[i] = new ProcessBuilder(lossyfs.toString(), backing.toString(), mountPoint.toString(),
            Long.toString(random.nextLong() & Long.MAX_VALUE), Integer.toString(keepPercent[i]))
            .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(Path.of("target", "it-logs",
                "PowerLossIT", "lossyfs-m" + (i + 1) + ".log").toFile())).start();
        Await.until("lossyfs mounted on " + mountPoint, 30, () -> mounted(mountPoint));
    }

    private static boolean mounted(final Path mountPoint) throws IOException {
        for (final String line : Files.readAllLines(Path.of("/proc/self/mounts"))) {
            final String[] fields = line.split(" ");
            if (fields.length > 2 && fields[1].equals(mountPoint.toString()) && fields[0].equals("lossyfs")) {
                return true;
            }
        }
        return false;
    }

    /** Loses member {@code i}'s unsynced writes (its process already dead) and unmounts its file system. */
    private void cutPower(final int i) throws Exception {
        final Process signal = new ProcessBuilder("kill", "-USR1", Long.toString(filesystems[i].pid())).start();
        assertTrue(signal.waitFor(10, TimeUnit.SECONDS) && signal.exitValue() == 0, "kill -USR1 lossyfs");
        unmount(i);
    }

    private void unmount(final int i) throws Exception {
        final Path mountPoint = cairn.dataDir(i).toAbsolutePath();
        for (int attempt = 0; attempt < 50 && mounted(mountPoint); attempt++) {
            final Process umount = new ProcessBuilder("umount", mountPoint.toString()).redirectErrorStream(true)
                .start();
            umount.getInputStream().readAllBytes();
            if (umount.waitFor(30, TimeUnit.SECONDS) && umount.exitValue() == 0) {
                break;
            }
            Thread.sleep(200); // busy: a closing process still holds a file
        }
        if (!filesystems[i].waitFor(30, TimeUnit.SECONDS)) {
            filesystems[i].destroyForcibly();
            filesystems[i].waitFor(10, TimeUnit.SECONDS);
        }
        filesystems[i] = null;
    }
}
