package io.cairn.server.proxy;

import com.google.gson.Gson;
import com.google.gson.JsonObject;
import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.ClusterGrpc;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.KeyValue;
import io.etcd.jetcd.api.LeaseGrantRequest;
import io.etcd.jetcd.api.LeaseGrpc;
import io.etcd.jetcd.api.LeaseRevokeRequest;
import io.etcd.jetcd.api.Member;
import io.etcd.jetcd.api.MemberListRequest;
import io.etcd.jetcd.api.MemberListResponse;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.RangeResponse;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * {@code --resolver-prefix}: the proxies of one group find each other through the cluster, as etcd's do. Each proxy
 * keeps a key {@code PREFIX/ADDR} under a lease of {@code --resolver-ttl} seconds (kept alive; made again if it
 * lapses), its value etcd 3.4's gRPC naming update ({@code {"Op":0,"Addr":ADDR,"Metadata":"{\"Name\":HOST,
 * \"ClientURLs\":[ADDR]}"}}); and {@code MemberList} through a proxy lists the group's proxies instead of the
 * members, so a client that syncs its endpoints (etcdctl, clientv3, jetcd) stays on proxies.
 */
final class ProxyRegistration implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(ProxyRegistration.class.getName());
    private static final Gson GSON = new Gson();

    private final Upstream upstream;
    private final LeaseProxy leases;
    private final String prefix;
    private final String address;
    private final long ttlSeconds;
    private volatile long leaseId;

    /**
     * @param upstream   the cluster.
     * @param leases     keeps the registration's lease alive.
     * @param prefix     {@code --resolver-prefix}.
     * @param address    {@code --advertise-client-url}.
     * @param ttlSeconds {@code --resolver-ttl} (etcd's default when 0: 60 s).
     * @param timer      runs the keep-alive.
     */
    ProxyRegistration(final Upstream upstream, final LeaseProxy leases, final String prefix, final String address,
        final long ttlSeconds, final ScheduledExecutorService timer) {
        this.upstream = upstream;
        this.leases = leases;
        this.prefix = prefix;
        this.address = address;
        this.ttlSeconds = ttlSeconds > 0 ? ttlSeconds : 60;
        final long period = Math.max(1, this.ttlSeconds * 1000 / 3);
        timer.scheduleWithFixedDelay(this::keep, 0, period, TimeUnit.MILLISECONDS);
    }

    private ByteString key() {
        return ByteString.copyFromUtf8(prefix + "/" + address);
    }

    private void keep() {
        try {
            final long current = leaseId;
            if (current != 0) {
                leases.keepAlive(current, response -> {
                    if (response.getTTL() <= 0 && leaseId == current) {
                        LOG.log(System.Logger.Level.WARNING, "grpc-proxy: the registration's lease lapsed; again");
                        leaseId = 0;
                    }
                });
                return;
            }
            final long granted = LeaseGrpc.newBlockingStub(upstream.own()).withDeadlineAfter(5, TimeUnit.SECONDS)
                .leaseGrant(LeaseGrantRequest.newBuilder().setTTL(ttlSeconds).build()).getID();
            final JsonObject meta = new JsonObject();
            meta.addProperty("Name", hostName());
            final com.google.gson.JsonArray urls = new com.google.gson.JsonArray();
            urls.add(address);
            meta.add("ClientURLs", urls);
            final JsonObject update = new JsonObject();
            update.addProperty("Op", 0);
            update.addProperty("Addr", address);
            update.addProperty("Metadata", GSON.toJson(meta));
            KVGrpc.newBlockingStub(upstream.own()).withDeadlineAfter(5, TimeUnit.SECONDS).put(PutRequest.newBuilder()
                .setKey(key()).setValue(ByteString.copyFromUtf8(GSON.toJson(update))).setLease(granted).build());
            leaseId = granted;
            LOG.log(System.Logger.Level.INFO, "grpc-proxy: registered " + address + " under " + prefix + " (lease "
                + Long.toHexString(granted) + ", " + ttlSeconds + " s)");
        } catch (final RuntimeException ex) {
            LOG.log(System.Logger.Level.WARNING, "grpc-proxy: cannot register under " + prefix + " yet: "
                + ex.getMessage());
        }
    }

    private static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (final UnknownHostException ex) {
            return "localhost";
        }
    }

    /**
     * @return {@code MemberList}, answered with the group's proxies.
     */
    ServerServiceDefinition definition() {
        return ServerServiceDefinition.builder(ClusterGrpc.SERVICE_NAME)
            .addMethod(ClusterGrpc.getMemberListMethod(), ServerCalls.asyncUnaryCall(this::memberList))
            .build();
    }

    private void memberList(final MemberListRequest request, final StreamObserver<MemberListResponse> observer) {
        final ByteString start = ByteString.copyFromUtf8(prefix + "/");
        final ByteString end = ByteString.copyFromUtf8(prefix + "0"); // '/' + 1
        KVGrpc.newStub(upstream.forwarding()).withDeadlineAfter(10, TimeUnit.SECONDS).range(RangeRequest.newBuilder()
            .setKey(start).setRangeEnd(end).build(), KvProxy.relay(observer, this::members, null));
    }

    private MemberListResponse members(final RangeResponse range) {
        final MemberListResponse.Builder list = MemberListResponse.newBuilder().setHeader(range.getHeader());
        for (final KeyValue kv : range.getKvsList()) {
            try {
                final JsonObject update = GSON.fromJson(kv.getValue().toStringUtf8(), JsonObject.class);
                final Member.Builder member = Member.newBuilder();
                if (update.has("Metadata") && update.get("Metadata").isJsonPrimitive()) {
                    final JsonObject meta = GSON.fromJson(update.get("Metadata").getAsString(), JsonObject.class);
                    if (meta != null && meta.has("Name")) {
                        member.setName(meta.get("Name").getAsString());
                    }
                    if (meta != null && meta.has("ClientURLs")) {
                        meta.getAsJsonArray("ClientURLs").forEach(url -> member.addClientURLs(url.getAsString()));
                    }
                }
                if (member.getClientURLsCount() == 0 && update.has("Addr")) {
                    member.addClientURLs(update.get("Addr").getAsString());
                }
                list.addMembers(member);
            } catch (final RuntimeException ex) {
                LOG.log(System.Logger.Level.DEBUG, "grpc-proxy: not a registration: " + kv.getKey().toStringUtf8());
            }
        }
        return list.build();
    }

    /** Revokes the registration's lease (its key goes with it). */
    @Override
    public void close() {
        final long current = leaseId;
        leaseId = 0;
        if (current != 0) {
            try {
                LeaseGrpc.newBlockingStub(upstream.own()).withDeadlineAfter(2, TimeUnit.SECONDS)
                    .leaseRevoke(LeaseRevokeRequest.newBuilder().setID(current).build());
            } catch (final RuntimeException ex) {
                LOG.log(System.Logger.Level.DEBUG, "grpc-proxy: registration not revoked: " + ex.getMessage());
            }
        }
    }
}
