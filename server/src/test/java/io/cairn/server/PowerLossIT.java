package io.cairn.server;

import com.google.protobuf.ByteString;
import io.cairn.simulator.RecordedHistory;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.RangeResponse;
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
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

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
 * clients put and get 16 registers ({@link RecordedHistory}: Wing and Gong's search) and put unique keys, each
 * acknowledged one recorded; the faults, at random points ({@code -Dcairn.powerloss.seed}, printed): the leader's
 * power, a follower's, all three at once, the leader's again, all three again. Then: the history linearizable, every
 * acknowledged key on every member, the members' hashes equal, their corruption check quiet. Every member restarted
 * after a cut must have discarded its keyspace and rebuilt it (its log says so).
 *
 * <p>Needs root and {@code /dev/fuse} (skipped, saying so, without them) and Debian's {@code libfuse3-dev} and
 * {@code fuse3} ({@code ./test} installs them).
 */
@Timeout(600)
class PowerLossIT {
    private static final int CLIENTS = 4;
    private static final int REGISTERS = 16;
    private static final String PREFIX = "power/";
    private static final long SEED = Long.getLong("cairn.powerloss.seed", System.nanoTime());
    private static final int[] KEEP_PERCENT = {0, 30, 70, 100};

    @TempDir
    Path dir;

    private ProcessCluster cairn;
    private final Process[] filesystems = new Process[3];
    private final int[] keepPercent = new int[3];
    private final RecordedHistory history = new RecordedHistory();
    private final Set<String> acknowledged = ConcurrentHashMap.newKeySet();
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final AtomicLong okWrites = new AtomicLong();
    private final AtomicLong lastOkInvokedNs = new AtomicLong();
    private final SplittableRandom random = new SplittableRandom(SEED);
    private Path lossyfs;

    @AfterEach
    void stop() throws Exception {
        running.set(false);
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
        final List<Thread> clients = new ArrayList<>();
        for (int c = 0; c < CLIENTS; c++) {
            final int client = c;
            final Thread thread = new Thread(() -> runClient(client), "client-" + c);
            thread.setDaemon(true);
            thread.start();
            clients.add(thread);
        }
        final List<String> done = new ArrayList<>();
        try {
            for (final String fault : List.of("leader", "follower", "all", "leader", "all")) {
                final long before = okWrites.get();
                final long target = before + 200 + random.nextInt(600);
                Await.until("writes before cutting the power of " + fault, 120, () -> okWrites.get() >= target);
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
                Await.until("a write acknowledged after cutting the power of " + fault, 120,
                    () -> lastOkInvokedNs.get() > cutNs);
                done.add(report.toString());
            }
        } finally {
            running.set(false);
            for (final Thread client : clients) {
                client.join(20_000);
            }
        }
        finalChecks(done);
    }

    private void finalChecks(final List<String> done) throws Exception {
        for (int i = 0; i < 3; i++) {
            final int member = i;
            Await.until("member " + i + " answering", 60, () -> {
                try {
                    kv(member).range(RangeRequest.newBuilder().setKey(register(0)).build());
                    return true;
                } catch (final RuntimeException ex) {
                    return false;
                }
            });
            for (int k = 0; k < REGISTERS; k++) {
                final int handle = history.invokeGet(100 + i, k);
                history.ok(handle, value(kv(i).range(RangeRequest.newBuilder().setKey(register(k)).build())));
            }
        }
        final String verdict = history.check();
        System.out.printf("PowerLossIT: seed %d; power cuts (member:%% of unsynced pages kept) %s; %d operations,"
            + " %d writes acknowledged (%d unique keys); linearizable: %s%n", SEED, done, history.size(),
            okWrites.get(), acknowledged.size(), verdict == null ? "yes" : verdict);
        assertNull(verdict, verdict);
        for (int i = 0; i < 3; i++) {
            final int member = i;
            final long[] missing = {-1};
            Await.until("member " + i + " to serve every acknowledged key", 60, () -> {
                missing[0] = missing(member);
                return missing[0] == 0;
            });
            assertEquals(0, missing[0], "acknowledged keys missing on member " + i);
        }
        final long revision = kv(0).range(RangeRequest.newBuilder().setKey(register(0)).build()).getHeader()
            .getRevision();
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

    private void runClient(final int client) {
        final SplittableRandom choices = new SplittableRandom(SEED + client);
        int member = client % 3;
        long sequence = 0;
        while (running.get()) {
            try {
                final int key = choices.nextInt(REGISTERS);
                final int roll = choices.nextInt(3);
                if (roll == 0) {
                    final long value = ((long)(client + 1) << 40) | ++sequence;
                    final int handle = history.invokePut(client, key, value);
                    final long invokedNs = System.nanoTime();
                    try {
                        kv(member).put(PutRequest.newBuilder().setKey(register(key))
                            .setValue(ByteString.copyFromUtf8(Long.toString(value))).build());
                    } catch (final RuntimeException ex) {
                        history.unknown(handle);
                        throw ex;
                    }
                    history.ok(handle, 0);
                    acknowledged(invokedNs);
                } else if (roll == 1) {
                    final int handle = history.invokeGet(client, key);
                    try {
                        history.ok(handle, value(kv(member).range(RangeRequest.newBuilder().setKey(register(key))
                            .build())));
                    } catch (final RuntimeException ex) {
                        history.failed(handle);
                        throw ex;
                    }
                } else {
                    final String unique = "unique/" + client + "-" + ++sequence;
                    final long invokedNs = System.nanoTime();
                    kv(member).put(PutRequest.newBuilder().setKey(ByteString.copyFromUtf8(unique))
                        .setValue(ByteString.copyFromUtf8("v")).build());
                    acknowledged.add(unique);
                    acknowledged(invokedNs);
                }
            } catch (final RuntimeException ex) {
                member = (member + 1) % 3; // down, restarting or without a leader: try another
                Await.sleep(50);
            }
        }
    }

    private void acknowledged(final long invokedNs) {
        okWrites.incrementAndGet();
        lastOkInvokedNs.accumulateAndGet(invokedNs, Math::max);
    }

    private long missing(final int member) {
        long missing = 0;
        try {
            for (final String key : acknowledged) {
                if (kv(member).range(RangeRequest.newBuilder().setKey(ByteString.copyFromUtf8(key)).setCountOnly(true)
                    .build()).getCount() != 1) {
                    missing++;
                }
            }
        } catch (final RuntimeException ex) {
            return -1; // not answering yet
        }
        return missing;
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

    private KVGrpc.KVBlockingStub kv(final int member) {
        return KVGrpc.newBlockingStub(cairn.channel(member)).withDeadlineAfter(5, TimeUnit.SECONDS);
    }

    private static ByteString register(final int key) {
        return ByteString.copyFrom(PREFIX + key, StandardCharsets.UTF_8);
    }

    private static long value(final RangeResponse response) {
        return response.getKvsCount() == 0 ? 0 : Long.parseLong(response.getKvs(0).getValue().toStringUtf8());
    }
}
