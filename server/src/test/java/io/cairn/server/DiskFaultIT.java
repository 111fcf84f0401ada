package io.cairn.server;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.MaintenanceGrpc;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.StatusRequest;
import io.etcd.jetcd.api.StatusResponse;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static io.cairn.server.EtcdctlCompatibilityIT.etcdctl;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: a member whose files are damaged says so clearly and takes no part rather than serve or vote with a log it
 * cannot trust, its peers lose nothing, and etcd's replacement procedure brings it back. Method: three
 * {@code cairn member} processes with {@code --snapshot-count 200}; unique keys written through gRPC and every
 * acknowledged one remembered; then, on a follower SIGKILLed for each case: a byte flipped inside a WAL record
 * followed by later records, the latest snapshot file cut in half once the log below it is compacted, and the WAL's
 * format file naming an unknown format. Each time the member must exit with status 1 and a message naming the
 * damage and the way out, the other two must go on acknowledging writes, and the member must come back (format
 * restored; or member remove, data moved away, member add, start with {@code --initial-cluster-state existing}).
 * Then the last record of a follower's log, synced and acknowledged, is damaged: the member must start, report the
 * synced entries it lost (the WAL's sync note), and catch up. Finally every acknowledged key is read from every
 * member and the keyspace hashes agree. (A torn, unsynced last
 * record is the normal crash case: {@code WalCrashTest} SIGKILLs a writer mid-append and recovers it.)
 */
@Timeout(300)
class DiskFaultIT {
    @TempDir
    Path dir;

    @AutoClose // closed after each test, before its temporary directory goes
    private ProcessCluster cairn;
    private final List<String> acknowledged = new ArrayList<>();
    private int written;

    @Test
    void shouldRefuseDamagedFilesAndComeBackReplaced() throws Exception {
        cairn = ProcessCluster.prepareCairn(dir, "DiskFaultIT", 3).withFlags("--snapshot-count", "200");
        cairn.startAll();
        write(300, null);

        // 1. A flipped byte in a record that later records follow.
        int victim = follower();
        write(1, "flip-me-" + victim);
        write(30, null);
        cairn.kill(victim);
        flip(cairn.dataDir(victim).resolve("wal"), "flip-me-" + victim);
        expectRefusal(victim, "CORRUPTION", "checksum mismatch", "etcdctl member remove");
        write(50, null); // the other two go on
        replace(victim);

        // 2. The latest snapshot cut in half, the log below it compacted.
        victim = follower();
        write(700, null);
        cairn.kill(victim);
        final Path snapshot = latestSnapshot(cairn.dataDir(victim).resolve("snapshots"));
        try (RandomAccessFile file = new RandomAccessFile(snapshot.toFile(), "rw")) {
            file.setLength(file.length() / 2);
        }
        expectRefusal(victim, "valid snapshot covers it", "etcdctl member remove");
        write(50, null);
        replace(victim);

        // 3. A data directory from an unknown format version: refused, and fine once the format is back.
        victim = follower();
        cairn.kill(victim);
        final Path format = cairn.dataDir(victim).resolve("wal").resolve("cairn-wal.properties");
        final String original = Files.readString(format);
        Files.writeString(format, "format=99\n");
        expectRefusal(victim, "format=99", "refusing to open it");
        write(50, null);
        Files.writeString(format, original);
        cairn.start(victim);
        cairn.awaitPorts();

        // 4. A synced record at the end of the log damaged after the member acknowledged it: it looks like a torn
        //    tail, and the WAL's sync note says otherwise. The member starts, says what it lost, stays out of
        //    elections until the leader has given the entries back, and catches up.
        victim = follower();
        write(1, "tail-" + victim);
        final int tail = victim;
        final String tailKey = acknowledged.get(acknowledged.size() - 1);
        Await.until("the follower holding the last write", 30, () -> {
            try {
                return kv(tail).range(RangeRequest.newBuilder().setKey(ByteString.copyFromUtf8(tailKey)).build())
                    .getCount() == 1;
            } catch (final RuntimeException ex) {
                return false;
            }
        });
        cairn.kill(victim);
        flip(cairn.dataDir(victim).resolve("wal"), "tail-" + victim);
        final Path tailLog = Path.of("target", "it-logs", "DiskFaultIT", cairn.name(victim) + ".log");
        final long logBefore = Files.size(tailLog);
        cairn.start(victim);
        cairn.awaitPorts();
        write(50, null);
        Await.until("the damaged member catching up", 90, () -> missing(tail) == 0);
        final String said = Files.readString(tailLog).substring((int)logBefore);
        assertTrue(said.contains("but had synced entries through") && said.contains("it will not campaign"),
            "the member says it lost synced entries:\n" + said);

        write(50, null);
        for (int i = 0; i < 3; i++) {
            final int member = i;
            Await.until("member " + i + " serving every acknowledged key", 90, () -> missing(member) == 0);
        }
        final long revision = kv(0).range(RangeRequest.newBuilder().setKey(key(0)).build()).getHeader().getRevision();
        for (int i = 1; i < 3; i++) {
            assertEquals(cairn.hashKv(0, revision), cairn.hashKv(i, revision), "member " + i + "'s keyspace hash");
        }
        System.out.println("DiskFaultIT: " + acknowledged.size() + " writes acknowledged; three damaged members"
            + " refused to start, two replaced, one restored; one with a damaged synced tail caught up; every write"
            + " on every member");
    }

    private void expectRefusal(final int member, final String... phrases) throws Exception {
        final Path log = Path.of("target", "it-logs", "DiskFaultIT", cairn.name(member) + ".log");
        final long before = Files.exists(log) ? Files.size(log) : 0;
        cairn.start(member);
        assertTrue(cairn.process(member).waitFor(60, TimeUnit.SECONDS), "a damaged member must stop, not serve");
        assertEquals(1, cairn.process(member).exitValue(), "exit status of a refused start");
        final byte[] all = Files.readAllBytes(log);
        final String output = new String(all, (int)before, all.length - (int)before, StandardCharsets.UTF_8);
        for (final String phrase : phrases) {
            assertTrue(output.contains(phrase), "the refusal says '" + phrase + "':\n" + output);
        }
    }

    /** etcd's procedure for a member whose data is lost or damaged. */
    private void replace(final int member) throws Exception {
        final String id = Integer.toHexString(cairn.raftId(member));
        final String endpoints = cairn.endpointsExcept(member);
        assertTrue(etcdctl(endpoints, null, "member", "remove", id).contains(id + " removed"));
        final Path data = cairn.dataDir(member);
        Files.move(data, data.resolveSibling(cairn.name(member) + ".damaged-" + written));
        assertTrue(etcdctl(endpoints, null, "member", "add", cairn.name(member), "--peer-urls="
            + cairn.peerUrl(member)).contains("added to cluster"));
        cairn.startReplacement(member);
        cairn.awaitPorts();
        Await.until("the replaced member serving every acknowledged key", 90, () -> missing(member) == 0);
    }

    private void write(final int count, final String value) throws Exception {
        for (int n = 0; n < count; n++) {
            final String key = "disk/" + written++;
            final String text = value == null ? "v-" + key : value;
            Await.until("put " + key, 60, () -> {
                for (int i = 0; i < 3; i++) {
                    if (cairn.process(i) == null || !cairn.process(i).isAlive()) {
                        continue;
                    }
                    try {
                        kv(i).put(PutRequest.newBuilder().setKey(ByteString.copyFromUtf8(key))
                            .setValue(ByteString.copyFromUtf8(text)).build());
                        return true;
                    } catch (final RuntimeException ex) {
                        // that member cannot take it now: the next one
                    }
                }
                return false;
            });
            acknowledged.add(key);
        }
    }

    private long missing(final int member) {
        try {
            long missing = 0;
            for (final String key : acknowledged) {
                if (kv(member).range(RangeRequest.newBuilder().setKey(ByteString.copyFromUtf8(key)).setCountOnly(true)
                    .build()).getCount() != 1) {
                    missing++;
                }
            }
            return missing;
        } catch (final RuntimeException ex) {
            return -1;
        }
    }

    private int follower() throws Exception {
        final int[] found = {-1};
        Await.until("a leader", 60, () -> {
            for (int i = 0; i < 3; i++) {
                try {
                    final StatusResponse status = MaintenanceGrpc.newBlockingStub(cairn.channel(i))
                        .withDeadlineAfter(2, TimeUnit.SECONDS).status(StatusRequest.getDefaultInstance());
                    if (status.getLeader() != 0 && status.getLeader() != status.getHeader().getMemberId()) {
                        found[0] = i;
                        return true;
                    }
                } catch (final RuntimeException ex) {
                    // not answering
                }
            }
            return false;
        });
        return found[0];
    }

    private static void flip(final Path walDirectory, final String marker) throws IOException {
        final byte[] needle = marker.getBytes(StandardCharsets.UTF_8);
        try (Stream<Path> files = Files.list(walDirectory)) {
            for (final Path file : files.filter(p -> p.toString().endsWith(".cq4")).toList()) {
                final byte[] bytes = Files.readAllBytes(file);
                for (int at = 0; at + needle.length <= bytes.length; at++) {
                    if (java.util.Arrays.equals(bytes, at, at + needle.length, needle, 0, needle.length)) {
                        try (RandomAccessFile raw = new RandomAccessFile(file.toFile(), "rw")) {
                            raw.seek(at + 2);
                            raw.write(bytes[at + 2] ^ 0x20);
                        }
                        return;
                    }
                }
            }
        }
        throw new AssertionError(marker + " not found in " + walDirectory);
    }

    private static Path latestSnapshot(final Path directory) throws IOException {
        try (Stream<Path> files = Files.list(directory)) {
            return files.filter(p -> p.getFileName().toString().endsWith(".snap")).sorted()
                .reduce((first, second) -> second).orElseThrow(() -> new AssertionError("no snapshot in " + directory));
        }
    }

    private KVGrpc.KVBlockingStub kv(final int member) {
        return KVGrpc.newBlockingStub(cairn.channel(member)).withDeadlineAfter(5, TimeUnit.SECONDS);
    }

    private static ByteString key(final int n) {
        return ByteString.copyFromUtf8("disk/" + n);
    }
}
