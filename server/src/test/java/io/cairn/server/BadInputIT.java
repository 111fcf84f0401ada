package io.cairn.server;

import com.google.protobuf.ByteString;
import com.google.protobuf.Message;
import com.google.protobuf.TextFormat;
import io.etcd.jetcd.api.ClusterGrpc;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.LeaseGrpc;
import io.etcd.jetcd.api.MaintenanceGrpc;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.RequestOp;
import io.etcd.jetcd.api.StatusRequest;
import io.etcd.jetcd.api.TxnRequest;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: whatever a client sends, Cairn answers as etcd 3.4 does — the same gRPC code and message, or success where
 * etcd succeeds — from any member, and stays healthy; nothing invalid reaches consensus. Method: the corpus in
 * {@code bad-input/requests.txt} (empty keys, future, negative and compacted revisions, negative and huge limits,
 * unknown enum values, reversed ranges, unknown leases, ignore_value/ignore_lease misuse, requests one byte over
 * etcd's limit and exactly at it, txns with duplicate keys at every nesting, too many ops, bad compares, lease TTLs
 * out of range, unknown members, bad peer URLs) goes to a real etcd 3.4 and to each of three {@code cairn member}
 * processes; every answer must match etcd's; then every member must still report status and take a write.
 */
@Timeout(240)
class BadInputIT {
    private static final int REQUEST_BYTES_MAX = 1_572_864; // etcd's --max-request-bytes default (1.5 MiB)

    @TempDir
    Path dir;

    @AutoClose
    private ProcessCluster etcd;
    @AutoClose
    private ProcessCluster cairn;

    @Test
    void shouldAnswerEveryBadRequestAsEtcdDoes() throws Exception {
        etcd = ProcessCluster.startEtcd(dir.resolve("etcd"), "BadInputIT-etcd");
        cairn = ProcessCluster.startCairn(dir.resolve("cairn"), "BadInputIT", 3);
        final ManagedChannel etcdChannel = etcd.channel(0);
        final List<ManagedChannel> members = List.of(cairn.channel(0), cairn.channel(1), cairn.channel(2));
        // The same starting state on both: one key written at revision 2.
        for (final ManagedChannel each : List.of(etcdChannel, members.get(0))) {
            KVGrpc.newBlockingStub(each).withDeadlineAfter(10, TimeUnit.SECONDS).put(PutRequest.newBuilder()
                .setKey(ByteString.copyFromUtf8("seed")).setValue(ByteString.copyFromUtf8("v")).build());
        }
        final List<String> differences = new ArrayList<>();
        int requests = 0;
        for (final String line : corpus()) {
            final int bar = line.indexOf('|');
            final String method = line.substring(0, bar).trim();
            final boolean etcdPanics = line.endsWith("@etcd-panics");
            final String body = line.substring(bar + 1, etcdPanics ? line.length() - "@etcd-panics".length()
                : line.length()).trim();
            if (etcdPanics) {
                for (int i = 0; i < 3; i++) {
                    final String actual = call(members.get(i), method, body);
                    requests++;
                    if (actual.startsWith("UNAVAILABLE") || actual.startsWith("INTERNAL")) {
                        differences.add(method + " | " + body + " (etcd panics)\n  cairn member " + (i + 1) + ": "
                            + actual);
                    }
                }
                continue;
            }
            for (int i = 0; i < 3; i++) {
                // etcd gets the request as often as Cairn does, so a repeat meets the same state on both.
                final String expected = call(etcdChannel, method, body);
                final String actual = call(members.get(i), method, body);
                requests++;
                if (!expected.equals(actual)) {
                    differences.add(method + " | " + abbreviate(body) + "\n  etcd:  " + expected + "\n  cairn member "
                        + (i + 1) + ": " + actual);
                }
            }
        }
        System.out.println("BadInputIT: " + requests + " requests to Cairn, " + differences.size() + " differences");
        assertTrue(differences.isEmpty(), differences.size() + " answers differ from etcd's:\n"
            + String.join("\n", differences));
        for (int i = 0; i < 3; i++) {
            final ManagedChannel member = members.get(i);
            MaintenanceGrpc.newBlockingStub(member).withDeadlineAfter(5, TimeUnit.SECONDS)
                .status(StatusRequest.getDefaultInstance());
            KVGrpc.newBlockingStub(member).withDeadlineAfter(10, TimeUnit.SECONDS).put(PutRequest.newBuilder()
                .setKey(ByteString.copyFromUtf8("after-" + i)).setValue(ByteString.copyFromUtf8("v")).build());
            assertEquals(1, KVGrpc.newBlockingStub(member).withDeadlineAfter(10, TimeUnit.SECONDS)
                .range(RangeRequest.newBuilder().setKey(ByteString.copyFromUtf8("after-" + i)).build()).getCount());
            assertTrue(cairn.process(i).isAlive());
        }
    }

    private static List<String> corpus() throws IOException {
        try (InputStream in = BadInputIT.class.getResourceAsStream("/bad-input/requests.txt")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines()
                .filter(line -> !line.isBlank() && !line.startsWith("#")).toList();
        }
    }

    private static final Map<String, MethodDescriptor<?, ?>> METHODS = Map.ofEntries(
        Map.entry("KV/Range", KVGrpc.getRangeMethod()),
        Map.entry("KV/Put", KVGrpc.getPutMethod()),
        Map.entry("KV/DeleteRange", KVGrpc.getDeleteRangeMethod()),
        Map.entry("KV/Txn", KVGrpc.getTxnMethod()),
        Map.entry("KV/Compact", KVGrpc.getCompactMethod()),
        Map.entry("Lease/LeaseGrant", LeaseGrpc.getLeaseGrantMethod()),
        Map.entry("Lease/LeaseRevoke", LeaseGrpc.getLeaseRevokeMethod()),
        Map.entry("Lease/LeaseTimeToLive", LeaseGrpc.getLeaseTimeToLiveMethod()),
        Map.entry("Maintenance/HashKV", MaintenanceGrpc.getHashKVMethod()),
        Map.entry("Maintenance/MoveLeader", MaintenanceGrpc.getMoveLeaderMethod()),
        Map.entry("Cluster/MemberAdd", ClusterGrpc.getMemberAddMethod()),
        Map.entry("Cluster/MemberRemove", ClusterGrpc.getMemberRemoveMethod()),
        Map.entry("Cluster/MemberUpdate", ClusterGrpc.getMemberUpdateMethod()),
        Map.entry("Cluster/MemberPromote", ClusterGrpc.getMemberPromoteMethod()));

    /** @return "OK", or the status code and message. */
    @SuppressWarnings("unchecked")
    private static String call(final ManagedChannel channel, final String method, final String body)
        throws Exception {
        final MethodDescriptor<Message, Message> descriptor = (MethodDescriptor<Message, Message>)METHODS.get(method);
        if (descriptor == null) {
            throw new IllegalArgumentException("unknown method in the corpus: " + method);
        }
        final Message request = body.startsWith("!") ? generated(body.substring(1)) : parse(descriptor, body);
        try {
            ClientCalls.blockingUnaryCall(channel, descriptor,
                CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), request);
            return "OK";
        } catch (final StatusRuntimeException ex) {
            final Status status = ex.getStatus();
            return status.getCode() + ": " + status.getDescription();
        }
    }

    private static Message parse(final MethodDescriptor<Message, Message> descriptor, final String body)
        throws TextFormat.ParseException {
        final Message prototype = ((MethodDescriptor.PrototypeMarshaller<Message>)descriptor.getRequestMarshaller())
            .getMessagePrototype();
        final Message.Builder builder = prototype.newBuilderForType();
        TextFormat.merge(body, builder);
        return builder.build();
    }

    private static Message generated(final String name) {
        return switch (name) {
            // etcd counts a put's size as its Raft request encoding: key, value and a few bytes of framing.
            case "value-over-request-limit" -> PutRequest.newBuilder().setKey(ByteString.copyFromUtf8("big"))
                .setValue(ByteString.copyFrom(new byte[REQUEST_BYTES_MAX])).build();
            case "value-at-request-limit" -> PutRequest.newBuilder().setKey(ByteString.copyFromUtf8("big"))
                .setValue(ByteString.copyFrom(new byte[REQUEST_BYTES_MAX - 32])).build();
            // Enum values no proto names (text format cannot write them).
            case "sort-order-7" -> RangeRequest.newBuilder().setKey(ByteString.copyFromUtf8("a")).setSortOrderValue(7)
                .build();
            case "sort-target-9" -> RangeRequest.newBuilder().setKey(ByteString.copyFromUtf8("a"))
                .setSortTargetValue(9).build();
            case "too-many-ops" -> {
                final TxnRequest.Builder txn = TxnRequest.newBuilder();
                for (int i = 0; i < 129; i++) {
                    txn.addSuccess(RequestOp.newBuilder().setRequestPut(PutRequest.newBuilder()
                        .setKey(ByteString.copyFromUtf8("op-" + i))));
                }
                yield txn.build();
            }
            default -> throw new IllegalArgumentException("unknown generator !" + name);
        };
    }

    private static String abbreviate(final String body) {
        return body.length() > 140 ? body.substring(0, 140) + "..." : body;
    }
}
