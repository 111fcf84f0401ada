package io.cairn.server;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static io.cairn.server.EtcdctlCompatibilityIT.etcdctl;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: a member whose disk fills up stays up, the cluster refuses writes with etcd's NOSPACE error instead of
 * failing a WAL write, reads go on, and writes resume by themselves once space returns — nothing lost. Method: three
 * {@code cairn member} processes, one with its data directory on a 192 MiB tmpfs (mounted here: root only, as in CI;
 * skipped otherwise) and a 64 MiB {@code --disk-reserve-bytes}; a file fills the tmpfs until less than half the
 * reserve is free; then etcdctl must see the NOSPACE alarm, a refused put and a served get, the member must still
 * run; the file is deleted and puts must succeed again, with every earlier key on every member.
 */
@Timeout(180)
class DiskFullIT {
    private static final long RESERVE = 64L << 20;

    @TempDir
    Path dir;

    private ProcessCluster cairn;
    private Path mount;

    @AfterEach
    void stop() throws Exception {
        if (cairn != null) {
            cairn.close();
        }
        if (mount != null) {
            run("umount", mount.toString());
        }
    }

    @Test
    void shouldRefuseWritesWhileTheDiskIsFullAndResumeAfter() throws Exception {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "mounting a tmpfs needs root");
        mount = dir.resolve("m2");
        Files.createDirectories(mount);
        if (run("mount", "-t", "tmpfs", "-o", "size=192m", "tmpfs", mount.toString()) != 0) {
            mount = null;
            Assumptions.abort("mount -t tmpfs failed");
        }
        cairn = ProcessCluster.prepareCairn(dir, "DiskFullIT", 3).withFlags("--disk-reserve-bytes",
            Long.toString(RESERVE));
        cairn.startAll();
        final String endpoints = cairn.endpoints();
        for (int i = 0; i < 50; i++) {
            assertEquals("OK", etcdctl(endpoints, null, "put", "before-" + i, "v").strip());
        }

        final Path filler = mount.resolve("filler");
        fill(filler, mount);
        Await.output(() -> etcdctl(endpoints, null, "alarm", "list"), out -> out.contains("alarm:NOSPACE"),
            "the NOSPACE alarm");
        assertTrue(etcdctl(endpoints, null, "put", "during", "v").contains("database space exceeded"));
        assertEquals("before-7\nv", etcdctl(cairn.endpoint(1), null, "get", "before-7").strip(), "reads go on");
        assertTrue(cairn.process(1).isAlive(), "the member with the full disk runs on");

        Files.delete(filler);
        Await.output(() -> etcdctl(endpoints, null, "alarm", "list"), out -> out.isBlank(), "the alarm disarmed");
        assertEquals("OK", etcdctl(endpoints, null, "put", "after", "v").strip());
        for (int i = 0; i < 3; i++) {
            assertEquals(50, etcdctl(cairn.endpoint(i), null, "get", "before-", "--prefix", "--keys-only").lines()
                .filter(line -> !line.isBlank()).count(), "member " + i + " keeps every key");
        }
        assertTrue(cairn.process(1).isAlive());
    }

    private static void fill(final Path filler, final Path mount) throws IOException {
        final byte[] chunk = new byte[1 << 20];
        try (RandomAccessFile file = new RandomAccessFile(filler.toFile(), "rw")) {
            while (Files.getFileStore(mount).getUsableSpace() > RESERVE / 2) {
                file.write(chunk);
            }
        }
    }

    private static int run(final String... command) throws Exception {
        final Process process = new ProcessBuilder(command).inheritIO().start();
        return process.waitFor(30, TimeUnit.SECONDS) ? process.exitValue() : -1;
    }
}
