package io.cairn.server.grpc;

import com.google.gson.stream.JsonWriter;
import com.google.protobuf.ByteString;
import io.cairn.engine.mvcc.MvccCommand;
import io.cairn.engine.mvcc.MvccError;
import io.cairn.embedded.cluster.ClusterView;
import io.cairn.engine.mvcc.MvccReader;
import io.cairn.engine.snapshot.EtcdSnapshots;
import io.cairn.server.auth.AuthStore;
import io.cairn.server.node.EtcdStatus;
import io.cairn.server.node.Node;
import io.etcd.jetcd.api.AlarmMember;
import io.etcd.jetcd.api.AlarmRequest;
import io.etcd.jetcd.api.AlarmResponse;
import io.etcd.jetcd.api.AlarmType;
import io.etcd.jetcd.api.DefragmentRequest;
import io.etcd.jetcd.api.DefragmentResponse;
import io.etcd.jetcd.api.HashKVRequest;
import io.etcd.jetcd.api.HashKVResponse;
import io.etcd.jetcd.api.HashRequest;
import io.etcd.jetcd.api.HashResponse;
import io.etcd.jetcd.api.MaintenanceGrpc;
import io.etcd.jetcd.api.MoveLeaderRequest;
import io.etcd.jetcd.api.MoveLeaderResponse;
import io.etcd.jetcd.api.SnapshotRequest;
import io.etcd.jetcd.api.SnapshotResponse;
import io.etcd.jetcd.api.StatusRequest;
import io.etcd.jetcd.api.StatusResponse;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;

import java.io.IOException;
import java.io.InputStream;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * etcd's Maintenance service: Status (version, db size, leader, Raft index and term, applied index), Hash and
 * HashKV (etcd 3.4's HashKV, byte for byte: {@code MvccReader.hashKv}; Hash, etcd's hash of its whole bbolt file, is
 * the same here), Alarm (list, and
 * activate/deactivate through the log: NOSPACE refuses writes until disarmed), Defragment (this member's keyspace
 * rewritten compactly while writes go on, answered once the compact file is in place: {@code Defragmenter}),
 * Snapshot (one consistent view of the keyspace written as etcd 3.4's backend database — a bbolt file with etcd's
 * buckets, {@code EtcdSnapshots} — and streamed in 64 KiB messages followed by its SHA-256, as etcd streams its own:
 * {@code etcdctl snapshot status} reads it, {@code etcdctl snapshot restore} starts etcd from it, and
 * {@code cairn snapshot restore} starts Cairn from it). MoveLeader asks the leader's loop to transfer leadership
 * (thesis §3.10) and answers once the
 * target leads.
 */
public final class MaintenanceService extends MaintenanceGrpc.MaintenanceImplBase {
    private static final int SNAPSHOT_MESSAGE_BYTES = 64 << 10;
    private static final int SNAPSHOT_BLOCK = 512;
    private static final int SHA256_BYTES = 32;
    private static final ThreadLocal<EtcdCommands> COMMANDS = ThreadLocal.withInitial(EtcdCommands::new);
    private final Node node;
    private final AuthStore auth;

    /**
     * @param node the member it serves.
     * @param auth its authentication state (checks of the caller; none while authentication is disabled).
     */
    public MaintenanceService(final Node node, final AuthStore auth) {
        this.node = node;
        this.auth = auth;
    }

    @Override
    public void status(final StatusRequest request, final StreamObserver<StatusResponse> observer) {
        final StatusResponse response = node.read(reader -> StatusResponse.newBuilder()
            .setHeader(node.header(reader.revision()))
            .setVersion(Node.ETCD_VERSION)
            .setDbSize(node.store().usedBytes())
            .setDbSizeInUse(node.store().inUseBytes())
            .setLeader(node.memberIdOf(node.leaderId()))
            .setRaftIndex(reader.appliedIndex())
            .setRaftTerm(node.term())
            .setRaftAppliedIndex(reader.appliedIndex())
            .build());
        observer.onNext(response);
        observer.onCompleted();
    }

    @Override
    public void hash(final HashRequest request, final StreamObserver<HashResponse> observer) {
        final HashResponse response = node.read(reader -> HashResponse.newBuilder()
            .setHeader(node.header(reader.revision())).setHash((int)reader.hashKv(0)).build());
        observer.onNext(response);
        observer.onCompleted();
    }

    @Override
    public void hashKV(final HashKVRequest request, final StreamObserver<HashKVResponse> observer) {
        final HashKVResponse response;
        try {
            response = node.read(reader -> {
                if (request.getRevision() > reader.revision()) {
                    throw EtcdStatus.exception(MvccError.FUTURE_REVISION);
                }
                if (request.getRevision() > 0 && request.getRevision() < reader.compactRevision()) {
                    throw EtcdStatus.exception(MvccError.COMPACTED);
                }
                return HashKVResponse.newBuilder().setHeader(node.header(reader.revision()))
                    .setHash((int)reader.hashKv(request.getRevision())).setCompactRevision(reader.compactRevision())
                    .build();
            });
        } catch (final StatusRuntimeException ex) {
            observer.onError(ex);
            return;
        }
        observer.onNext(response);
        observer.onCompleted();
    }

    @Override
    public void alarm(final AlarmRequest request, final StreamObserver<AlarmResponse> observer) {
        if (request.getAction() == AlarmRequest.AlarmAction.GET) {
            observer.onNext(alarms());
            observer.onCompleted();
            return;
        }
        try {
            auth.checkAdmin(auth.caller()); // raising or disarming an alarm: root only
        } catch (final StatusRuntimeException ex) {
            observer.onError(ex);
            return;
        }
        final int action = request.getAction() == AlarmRequest.AlarmAction.ACTIVATE
            ? MvccCommand.ALARM_ACTIVATE : MvccCommand.ALARM_DEACTIVATE;
        final int alarm = request.getAlarmValue() == AlarmType.NOSPACE_VALUE
            ? MvccCommand.ALARM_NOSPACE : MvccCommand.ALARM_CORRUPT;
        final EtcdCommands commands = COMMANDS.get();
        // Clients name etcd member IDs; alarms are kept under Raft IDs (a removed member's stays under its own).
        final int raftId = node.view().raftIdOf(request.getMemberID());
        commands.alarm(action, alarm, raftId != 0 ? raftId : request.getMemberID());
        node.write(commands.buffer(), commands.length(), response -> alarms(), observer);
    }

    private AlarmResponse alarms() {
        return node.read(reader -> {
            final AlarmResponse.Builder builder = AlarmResponse.newBuilder()
                .setHeader(node.header(reader.revision()));
            reader.alarms((memberId, alarm) -> builder.addAlarms(AlarmMember.newBuilder()
                .setMemberID(memberId > 0 && memberId <= Integer.MAX_VALUE ? node.memberIdOf((int)memberId) : memberId)
                .setAlarmValue(alarm == MvccCommand.ALARM_NOSPACE ? AlarmType.NOSPACE_VALUE : alarm)));
            return builder.build();
        });
    }

    @Override
    public void defragment(final DefragmentRequest request, final StreamObserver<DefragmentResponse> observer) {
        node.defragment().whenCompleteAsync((report, error) -> {
            if (error != null) {
                observer.onError(EtcdStatus.of(error));
                return;
            }
            observer.onNext(DefragmentResponse.newBuilder()
                .setHeader(node.header(node.read(reader -> reader.revision()))).build());
            observer.onCompleted();
        }, node.executor());
    }

    /** The members as etcd's backend keeps them (its membership JSON under the hex member ID), and their etcd IDs. */
    private EtcdSnapshots.Cluster cluster() throws IOException {
        final ClusterView view = node.view();
        final SortedMap<String, byte[]> members = new TreeMap<>();
        for (final ClusterView.Member member : view.members()) {
            final StringWriter text = new StringWriter();
            try (JsonWriter json = new JsonWriter(text)) {
                json.beginObject().name("id").jsonValue(Long.toUnsignedString(member.etcdId()));
                json.name("peerURLs").beginArray();
                for (final String url : member.peerUrls()) {
                    json.value(url);
                }
                json.endArray();
                if (member.learner()) {
                    json.name("isLearner").value(true);
                }
                if (!member.name().isEmpty()) {
                    json.name("name").value(member.name());
                }
                if (!member.clientUrls().isEmpty()) {
                    json.name("clientURLs").beginArray();
                    for (final String url : member.clientUrls()) {
                        json.value(url);
                    }
                    json.endArray();
                }
                json.endObject();
            }
            members.put(Long.toHexString(member.etcdId()), text.toString().getBytes(StandardCharsets.UTF_8));
        }
        return new EtcdSnapshots.Cluster(raftId -> raftId == 0 ? 0 : view.etcdIdOf((int)raftId), members);
    }

    @Override
    public void snapshot(final SnapshotRequest request, final StreamObserver<SnapshotResponse> observer) {
        Path file = null;
        try {
            file = Files.createTempFile(node.dataDir(), "client-snapshot-", ".snap");
            Files.delete(file);
            final long bytes;
            final long revision;
            try (MvccReader reader = node.store().newReader()) {
                revision = reader.revision();
                bytes = EtcdSnapshots.write(reader, cluster(), file);
            }
            // etcd's stream: the database, a multiple of 512 bytes, then the SHA-256 of it (etcdctl checks both).
            final long padding = (SNAPSHOT_BLOCK - bytes % SNAPSHOT_BLOCK) % SNAPSHOT_BLOCK;
            long remaining = bytes + padding + SHA256_BYTES;
            final MessageDigest sha = MessageDigest.getInstance("SHA-256");
            try (InputStream in = Files.newInputStream(file)) {
                final byte[] chunk = new byte[SNAPSHOT_MESSAGE_BYTES];
                int read;
                while ((read = in.readNBytes(chunk, 0, chunk.length)) > 0) {
                    remaining -= read;
                    sha.update(chunk, 0, read);
                    observer.onNext(SnapshotResponse.newBuilder().setHeader(node.header(revision))
                        .setRemainingBytes(remaining).setBlob(ByteString.copyFrom(chunk, 0, read)).build());
                }
            }
            final byte[] zeros = new byte[(int)padding];
            sha.update(zeros);
            final byte[] digest = sha.digest();
            observer.onNext(SnapshotResponse.newBuilder().setHeader(node.header(revision))
                .setRemainingBytes(0).setBlob(ByteString.copyFrom(zeros).concat(ByteString.copyFrom(digest)))
                .build());
            observer.onCompleted();
        } catch (final IOException | NoSuchAlgorithmException ex) {
            observer.onError(Status.INTERNAL.withDescription("cairn: snapshot failed: " + ex.getMessage())
                .asRuntimeException());
        } finally {
            if (file != null) {
                try {
                    Files.deleteIfExists(file);
                } catch (final IOException ex) {
                    System.getLogger(MaintenanceService.class.getName()).log(System.Logger.Level.WARNING,
                        "cannot delete " + file, ex);
                }
            }
        }
    }

    @Override
    public void moveLeader(final MoveLeaderRequest request, final StreamObserver<MoveLeaderResponse> observer) {
        node.cluster().moveLeader(node.view().raftIdOf(request.getTargetID())).whenComplete((done, error) -> {
            if (error != null) {
                observer.onError(EtcdStatus.of(error));
            } else {
                observer.onNext(MoveLeaderResponse.newBuilder()
                    .setHeader(node.header(node.read(reader -> reader.revision()))).build());
                observer.onCompleted();
            }
        });
    }
}
