package io.cairn.server.grpc;

import io.cairn.server.CairnMember;
import io.cairn.server.Topology;
import io.etcd.jetcd.api.ClusterGrpc;
import io.etcd.jetcd.api.Member;
import io.etcd.jetcd.api.MemberAddRequest;
import io.etcd.jetcd.api.MemberAddResponse;
import io.etcd.jetcd.api.MemberListRequest;
import io.etcd.jetcd.api.MemberListResponse;
import io.etcd.jetcd.api.MemberPromoteRequest;
import io.etcd.jetcd.api.MemberPromoteResponse;
import io.etcd.jetcd.api.MemberRemoveRequest;
import io.etcd.jetcd.api.MemberRemoveResponse;
import io.etcd.jetcd.api.MemberUpdateRequest;
import io.etcd.jetcd.api.MemberUpdateResponse;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;

/**
 * etcd's Cluster service. MemberList answers from the configured topology. Changing membership through the API is
 * not built yet (the Raft core supports it; the server does not yet carry member attributes through the log): those
 * calls answer UNIMPLEMENTED with a message saying so, rather than pretending.
 */
public final class ClusterService extends ClusterGrpc.ClusterImplBase {
    private static final String NOT_YET = "cairn: membership changes through the API are not supported yet;"
        + " restart the members with a new --initial-cluster";
    private final CairnMember member;

    /**
     * @param member the member it serves.
     */
    public ClusterService(final CairnMember member) {
        this.member = member;
    }

    static Member describe(final Topology.Member member) {
        final Member.Builder builder = Member.newBuilder().setID(member.id()).setName(member.name())
            .addPeerURLs(member.peerUrl());
        if (member.clientUrl() != null) {
            builder.addClientURLs(member.clientUrl());
        }
        return builder.build();
    }

    @Override
    public void memberList(final MemberListRequest request, final StreamObserver<MemberListResponse> observer) {
        final MemberListResponse.Builder response = MemberListResponse.newBuilder()
            .setHeader(member.header(member.read(reader -> reader.revision())));
        for (final Topology.Member each : member.config().topology().members()) {
            response.addMembers(describe(each));
        }
        observer.onNext(response.build());
        observer.onCompleted();
    }

    @Override
    public void memberAdd(final MemberAddRequest request, final StreamObserver<MemberAddResponse> observer) {
        observer.onError(Status.UNIMPLEMENTED.withDescription(NOT_YET).asRuntimeException());
    }

    @Override
    public void memberRemove(final MemberRemoveRequest request, final StreamObserver<MemberRemoveResponse> observer) {
        observer.onError(Status.UNIMPLEMENTED.withDescription(NOT_YET).asRuntimeException());
    }

    @Override
    public void memberUpdate(final MemberUpdateRequest request, final StreamObserver<MemberUpdateResponse> observer) {
        observer.onError(Status.UNIMPLEMENTED.withDescription(NOT_YET).asRuntimeException());
    }

    @Override
    public void memberPromote(final MemberPromoteRequest request,
        final StreamObserver<MemberPromoteResponse> observer) {
        observer.onError(Status.UNIMPLEMENTED.withDescription(NOT_YET).asRuntimeException());
    }
}
