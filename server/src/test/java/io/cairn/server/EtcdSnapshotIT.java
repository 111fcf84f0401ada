package io.cairn.server;

import com.google.protobuf.ByteString;
import io.cairn.server.cli.CairnCommand;
import io.etcd.jetcd.api.AuthGrpc;
import io.etcd.jetcd.api.AuthRoleAddRequest;
import io.etcd.jetcd.api.AuthRoleGetRequest;
import io.etcd.jetcd.api.AuthRoleGrantPermissionRequest;
import io.etcd.jetcd.api.AuthRoleListRequest;
import io.etcd.jetcd.api.AuthUserAddRequest;
import io.etcd.jetcd.api.AuthUserGetRequest;
import io.etcd.jetcd.api.AuthUserGrantRoleRequest;
import io.etcd.jetcd.api.AuthUserListRequest;
import io.etcd.jetcd.api.CompactionRequest;
import io.etcd.jetcd.api.Compare;
import io.etcd.jetcd.api.DeleteRangeRequest;
import io.etcd.jetcd.api.HashKVRequest;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.KeyValue;
import io.etcd.jetcd.api.LeaseGrantRequest;
import io.etcd.jetcd.api.LeaseGrpc;
import io.etcd.jetcd.api.LeaseTimeToLiveRequest;
import io.etcd.jetcd.api.LeaseTimeToLiveResponse;
import io.etcd.jetcd.api.MaintenanceGrpc;
import io.etcd.jetcd.api.Permission;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.RangeResponse;
import io.etcd.jetcd.api.RequestOp;
import io.etcd.jetcd.api.TxnRequest;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: data moves between etcd 3.4 and Cairn with etcd's own snapshot tools, revisions kept, both ways, and the move
 * can be checked with {@code etcdctl endpoint hashkv}. Method: one history (puts of every size class, overwrites,
 * leases with their keys, deletions, a txn, a physical compaction, users and a role with a permission) written to the
 * source; {@code etcdctl snapshot save}; then (etcd → Cairn) {@code cairn snapshot restore} into a three-member
 * cluster, or (Cairn → etcd) {@code etcdctl snapshot status} and {@code etcdctl snapshot restore} and an etcd started
 * on the result. Source and target must answer the same reads: every key-value with its revisions, version and lease
 * now and at two past revisions, the compacted revision's refusal, every lease with its TTL and keys, users and roles,
 * the revision and the HashKV; and the target takes writes. Damaged and truncated files are refused by
 * {@code cairn snapshot restore} with a message, and leave no data directory.
 */
@Timeout(300)
class EtcdSnapshotIT {
    private static final long LEASE = 0x1234_5678_9abcL;
    private static final String GROUP = "g".repeat(495);

    @TempDir
    Path dir;

    @Test
    void shouldMoveAnEtcdClusterToCairn() throws Exception {
        final Path saved = dir.resolve("from-etcd.db");
        final List<String> expected;
        try (ProcessCluster etcd = ProcessCluster.startEtcd(dir.resolve("etcd"), "EtcdSnapshotIT-etcd")) {
            history(etcd.channel(0));
            expected = state(etcd.channel(0));
            final String save = EtcdctlCompatibilityIT.etcdctl(etcd.endpoint(0), null, "snapshot", "save",
                saved.toString());
            assertTrue(save.contains("Snapshot saved at " + saved), save);
        }
        try (ProcessCluster cairn = ProcessCluster.prepareCairn(dir.resolve("cairn"), "EtcdSnapshotIT-cairn", 3)) {
            for (int i = 0; i < 3; i++) {
                final String out = restore(0, saved.toString(), "--data-dir=" + cairn.dataDir(i), "--name",
                    cairn.name(i), "--initial-cluster", cairn.initialCluster(), "--initial-advertise-peer-urls",
                    cairn.peerUrl(i), "--initial-cluster-token=etcd-cluster");
                assertTrue(out.contains("SHA-256 checked"), out);
                System.out.println("EtcdSnapshotIT: " + out.strip());
            }
            cairn.startAll();
            Await.until("a Cairn leader", 60, () -> cairn.leader() >= 0);
            for (int i = 0; i < 3; i++) {
                assertEquals(expected, state(cairn.channel(i)), "member " + i + " answers as etcd did");
            }
            final long revision = revision(cairn.channel(0));
            assertEquals("OK", EtcdctlCompatibilityIT.etcdctl(cairn.endpoints(), null, "put", "after", "move")
                .strip());
            assertEquals(revision + 1, revision(cairn.channel(0)), "the next write takes the next revision");
        }
    }

    @Test
    void shouldMoveACairnClusterToEtcd() throws Exception {
        final Path saved = dir.resolve("from-cairn.db");
        final List<String> expected;
        try (ProcessCluster cairn = ProcessCluster.startCairn(dir.resolve("cairn"), "EtcdSnapshotIT-source", 3)) {
            Await.until("a Cairn leader", 60, () -> cairn.leader() >= 0);
            history(cairn.channel(cairn.leader()));
            expected = state(cairn.channel(cairn.leader()));
            final String save = EtcdctlCompatibilityIT.etcdctl(cairn.endpoint(cairn.leader()), null, "snapshot",
                "save", saved.toString());
            assertTrue(save.contains("Snapshot saved at " + saved), save);
        }
        final String status = EtcdctlCompatibilityIT.etcdctl("127.0.0.1:1", null, "snapshot", "status",
            saved.toString(), "-w", "json");
        System.out.println("EtcdSnapshotIT: etcdctl snapshot status " + status.strip());
        final long revision = Long.parseLong(expected.get(0).replace("revision ", ""));
        assertTrue(status.contains("\"revision\":" + revision), status);
        try (ProcessCluster etcd = ProcessCluster.prepareEtcd(dir.resolve("etcd"), "EtcdSnapshotIT-target")) {
            final String restored = EtcdctlCompatibilityIT.etcdctl("127.0.0.1:1", null, "snapshot", "restore",
                saved.toString(), "--name", "etcd1", "--data-dir", dir.resolve("etcd").resolve("etcd1").toString(),
                "--initial-cluster", "etcd1=" + etcd.peerUrl(0), "--initial-advertise-peer-urls", etcd.peerUrl(0));
            System.out.println("EtcdSnapshotIT: etcdctl snapshot restore " + restored.strip());
            etcd.startEtcd();
            Await.until("etcd answers", 30, () -> {
                try {
                    revision(etcd.channel(0));
                    return true;
                } catch (final StatusRuntimeException notYet) {
                    return false;
                }
            });
            assertEquals(expected, state(etcd.channel(0)), "etcd answers as Cairn did");
            assertEquals("OK", EtcdctlCompatibilityIT.etcdctl(etcd.endpoint(0), null, "put", "after", "move").strip());
            assertEquals(revision + 1, revision(etcd.channel(0)));
        }
    }

    @Test
    void shouldRefuseDamagedSnapshotsAndLeaveNothing() throws Exception {
        final Path saved = dir.resolve("saved.db");
        try (ProcessCluster etcd = ProcessCluster.startEtcd(dir.resolve("etcd"), "EtcdSnapshotIT-damage")) {
            history(etcd.channel(0));
            EtcdctlCompatibilityIT.etcdctl(etcd.endpoint(0), null, "snapshot", "save", saved.toString());
        }
        final byte[] whole = Files.readAllBytes(saved);
        final Random random = new Random(17);
        final Path damaged = dir.resolve("damaged.db");
        for (int round = 0; round < 12; round++) {
            final byte[] bytes;
            if (round % 3 == 0) {
                bytes = Arrays.copyOf(whole, random.nextInt(whole.length));
            } else {
                bytes = whole.clone();
                bytes[random.nextInt(bytes.length)] ^= (byte)(1 << random.nextInt(8));
            }
            Files.write(damaged, bytes);
            final Path target = dir.resolve("never-" + round);
            final String out = restore(1, damaged.toString(), "--data-dir", target.toString());
            assertTrue(out.contains("cairn snapshot restore: snapshot " + damaged + " rejected: "), out);
            assertFalse(Files.exists(target.resolve("kv")), "nothing left behind: " + out);
        }
        final Path unhashed = dir.resolve("unhashed.db");
        Files.write(unhashed, Arrays.copyOf(whole, whole.length - 32));
        assertTrue(restore(1, unhashed.toString(), "--data-dir", dir.resolve("unhashed").toString())
            .contains("snapshot missing hash but --skip-hash-check=false"));
        assertTrue(restore(0, unhashed.toString(), "--data-dir", dir.resolve("unhashed").toString(),
            "--skip-hash-check").contains("revision"));
        assertTrue(Files.exists(dir.resolve("unhashed").resolve("kv")));
        assertTrue(restore(2, unhashed.toString(), "--wal-dir", "x").contains("--wal-dir is not supported"));
    }

    /** Runs {@code cairn snapshot restore} in this JVM; returns what it printed. */
    private static String restore(final int status, final String... args) {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        final String[] command = new String[args.length + 2];
        command[0] = "snapshot";
        command[1] = "restore";
        System.arraycopy(args, 0, command, 2, args.length);
        final int exit = CairnCommand.run(command, new PrintStream(out, true), new PrintStream(out, true));
        assertEquals(status, exit, out.toString());
        return out.toString();
    }

    /** The same requests to either system. */
    private static void history(final ManagedChannel channel) {
        final KVGrpc.KVBlockingStub kv = KVGrpc.newBlockingStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS);
        final LeaseGrpc.LeaseBlockingStub lease = LeaseGrpc.newBlockingStub(channel)
            .withDeadlineAfter(20, TimeUnit.SECONDS);
        lease.leaseGrant(LeaseGrantRequest.newBuilder().setID(LEASE).setTTL(600).build());
        lease.leaseGrant(LeaseGrantRequest.newBuilder().setID(77).setTTL(3600).build());
        final Random random = new Random(3);
        for (int i = 0; i < 120; i++) {
            final int size = i % 40 == 0 ? 20_000 : random.nextInt(400);
            put(kv, "k/" + random.nextInt(50), "v" + i + "x".repeat(size), i % 5 == 0 ? LEASE : 0);
        }
        put(kv, "empty", "", 77);
        // Keys past LMDB's 511 bytes, and a group of them sharing their first 495 bytes (Cairn's IndexKeys).
        for (final String tail : List.of("b".repeat(100), "a", "", "c".repeat(5_000), "b", "a".repeat(16))) {
            put(kv, GROUP + tail, "g-" + tail.length(), tail.length() % 2 == 0 ? 77 : 0);
        }
        put(kv, "long/" + "x".repeat(600), "long", LEASE);
        put(kv, GROUP + "b", "again", 0);
        kv.deleteRange(DeleteRangeRequest.newBuilder().setKey(utf8(GROUP + "a")).build());
        kv.deleteRange(DeleteRangeRequest.newBuilder().setKey(utf8("k/1")).setRangeEnd(utf8("k/2")).build());
        kv.txn(TxnRequest.newBuilder().addCompare(Compare.newBuilder().setKey(utf8("empty"))
                .setTarget(Compare.CompareTarget.VERSION).setResult(Compare.CompareResult.EQUAL).setVersion(1))
            .addSuccess(RequestOp.newBuilder().setRequestPut(PutRequest.newBuilder().setKey(utf8("t/1"))
                .setValue(utf8("one"))))
            .addSuccess(RequestOp.newBuilder().setRequestPut(PutRequest.newBuilder().setKey(utf8("t/2"))
                .setValue(utf8("two")).setLease(77)))
            .addSuccess(RequestOp.newBuilder().setRequestDeleteRange(DeleteRangeRequest.newBuilder()
                .setKey(utf8("k/3"))))
            .build());
        final long revision = kv.range(RangeRequest.newBuilder().setKey(utf8("-")).build()).getHeader().getRevision();
        kv.compact(CompactionRequest.newBuilder().setRevision(revision - 30).setPhysical(true).build());
        for (int i = 0; i < 20; i++) {
            put(kv, "after/" + i, "a" + i, i % 2 == 0 ? 77 : 0);
        }
        kv.deleteRange(DeleteRangeRequest.newBuilder().setKey(utf8("after/3")).build());
        final AuthGrpc.AuthBlockingStub auth = AuthGrpc.newBlockingStub(channel)
            .withDeadlineAfter(20, TimeUnit.SECONDS);
        auth.roleAdd(AuthRoleAddRequest.newBuilder().setName("reader").build());
        auth.roleGrantPermission(AuthRoleGrantPermissionRequest.newBuilder().setName("reader")
            .setPerm(Permission.newBuilder().setPermType(Permission.Type.READ).setKey(utf8("k/"))
                .setRangeEnd(utf8("k0")))
            .build());
        auth.userAdd(AuthUserAddRequest.newBuilder().setName("alice").setPassword("secret").build());
        auth.userGrantRole(AuthUserGrantRoleRequest.newBuilder().setUser("alice").setRole("reader").build());
    }

    /** Everything a client can ask of the data: the revision and hash first, then reads. */
    private static List<String> state(final ManagedChannel channel) {
        final List<String> lines = new ArrayList<>();
        final KVGrpc.KVBlockingStub kv = KVGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS);
        final long revision = revision(channel);
        lines.add("revision " + revision);
        lines.add("hashkv " + Integer.toUnsignedString(MaintenanceGrpc.newBlockingStub(channel)
            .withDeadlineAfter(20, TimeUnit.SECONDS).hashKV(HashKVRequest.newBuilder().build()).getHash()));
        for (final long at : new long[] {0, revision - 10, revision - 24}) {
            final RangeResponse all = kv.range(RangeRequest.newBuilder().setKey(ByteString.copyFrom(new byte[] {0}))
                .setRangeEnd(ByteString.copyFrom(new byte[] {0})).setRevision(at).build());
            lines.add("at " + at + ": " + all.getCount() + " keys");
            for (final KeyValue value : all.getKvsList()) {
                lines.add("  " + value.getKey().toStringUtf8() + " create " + value.getCreateRevision() + " mod "
                    + value.getModRevision() + " version " + value.getVersion() + " lease " + value.getLease()
                    + " value " + value.getValue().size() + " " + value.getValue().hashCode());
            }
        }
        final RangeResponse inGroup = kv.range(RangeRequest.newBuilder().setKey(utf8(GROUP + "a".repeat(3)))
            .setRangeEnd(utf8(GROUP + "c")).setLimit(3).build());
        lines.add("in the group: " + inGroup.getCount() + " more " + inGroup.getMore() + " " + inGroup.getKvsList()
            .stream().map(value -> value.getKey().size() + "/" + value.getModRevision()).toList());
        try {
            kv.range(RangeRequest.newBuilder().setKey(utf8("k/5")).setRevision(revision - 60).build());
            lines.add("below the compaction: answered");
        } catch (final StatusRuntimeException compacted) {
            lines.add("below the compaction: " + compacted.getStatus().getCode() + " "
                + compacted.getStatus().getDescription());
        }
        final LeaseGrpc.LeaseBlockingStub lease = LeaseGrpc.newBlockingStub(channel)
            .withDeadlineAfter(20, TimeUnit.SECONDS);
        for (final long id : new long[] {77, LEASE, 404}) { // jetcd's protos lack LeaseLeases: the IDs granted
            final LeaseTimeToLiveResponse ttl = lease.leaseTimeToLive(LeaseTimeToLiveRequest.newBuilder()
                .setID(id).setKeys(true).build());
            // The time left is the clock's, not the data's: only whether the lease lives.
            lines.add("lease " + id + " granted " + ttl.getGrantedTTL() + " alive " + (ttl.getTTL() > 0) + " keys "
                + ttl.getKeysList()
                .stream().map(ByteString::toStringUtf8).sorted().toList());
        }
        final AuthGrpc.AuthBlockingStub auth = AuthGrpc.newBlockingStub(channel)
            .withDeadlineAfter(20, TimeUnit.SECONDS);
        for (final String user : auth.userList(AuthUserListRequest.newBuilder().build()).getUsersList()) {
            lines.add("user " + user + " " + auth.userGet(AuthUserGetRequest.newBuilder().setName(user).build())
                .getRolesList());
        }
        for (final String role : auth.roleList(AuthRoleListRequest.newBuilder().build()).getRolesList()) {
            lines.add("role " + role + " " + auth.roleGet(AuthRoleGetRequest.newBuilder().setRole(role).build())
                .getPermList().toString().replace('\n', ' '));
        }
        return lines;
    }

    private static long revision(final ManagedChannel channel) {
        return KVGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS)
            .range(RangeRequest.newBuilder().setKey(utf8("-")).build()).getHeader().getRevision();
    }

    private static void put(final KVGrpc.KVBlockingStub kv, final String key, final String value, final long lease) {
        kv.put(PutRequest.newBuilder().setKey(utf8(key)).setValue(utf8(value)).setLease(lease).build());
    }

    private static ByteString utf8(final String text) {
        return ByteString.copyFrom(text, StandardCharsets.UTF_8);
    }
}
