package io.cairn.server.grpc;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.UnknownFieldSet;
import io.cairn.engine.mvcc.MvccReader;
import io.cairn.server.auth.AuthStore;
import io.cairn.server.node.EtcdStatus;
import io.cairn.server.node.Node;
import io.etcd.jetcd.api.AuthDisableRequest;
import io.etcd.jetcd.api.AuthDisableResponse;
import io.etcd.jetcd.api.AuthEnableRequest;
import io.etcd.jetcd.api.AuthEnableResponse;
import io.etcd.jetcd.api.AuthGrpc;
import io.etcd.jetcd.api.AuthRoleAddRequest;
import io.etcd.jetcd.api.AuthRoleAddResponse;
import io.etcd.jetcd.api.AuthRoleDeleteRequest;
import io.etcd.jetcd.api.AuthRoleDeleteResponse;
import io.etcd.jetcd.api.AuthRoleGetRequest;
import io.etcd.jetcd.api.AuthRoleGetResponse;
import io.etcd.jetcd.api.AuthRoleGrantPermissionRequest;
import io.etcd.jetcd.api.AuthRoleGrantPermissionResponse;
import io.etcd.jetcd.api.AuthRoleListRequest;
import io.etcd.jetcd.api.AuthRoleListResponse;
import io.etcd.jetcd.api.AuthRoleRevokePermissionRequest;
import io.etcd.jetcd.api.AuthRoleRevokePermissionResponse;
import io.etcd.jetcd.api.AuthUserAddRequest;
import io.etcd.jetcd.api.AuthUserAddResponse;
import io.etcd.jetcd.api.AuthUserChangePasswordRequest;
import io.etcd.jetcd.api.AuthUserChangePasswordResponse;
import io.etcd.jetcd.api.AuthUserDeleteRequest;
import io.etcd.jetcd.api.AuthUserDeleteResponse;
import io.etcd.jetcd.api.AuthUserGetRequest;
import io.etcd.jetcd.api.AuthUserGetResponse;
import io.etcd.jetcd.api.AuthUserGrantRoleRequest;
import io.etcd.jetcd.api.AuthUserGrantRoleResponse;
import io.etcd.jetcd.api.AuthUserListRequest;
import io.etcd.jetcd.api.AuthUserListResponse;
import io.etcd.jetcd.api.AuthUserRevokeRoleRequest;
import io.etcd.jetcd.api.AuthUserRevokeRoleResponse;
import io.etcd.jetcd.api.AuthenticateRequest;
import io.etcd.jetcd.api.AuthenticateResponse;
import io.etcd.jetcd.api.ResponseHeader;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;

import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * etcd's Auth service: its sixteen calls over {@link AuthStore}, answered with etcd's headers and errors.
 */
public final class AuthService extends AuthGrpc.AuthImplBase {
    private final Node node;
    private final AuthStore auth;

    /**
     * @param node the member.
     * @param auth its authentication state.
     */
    public AuthService(final Node node, final AuthStore auth) {
        this.node = node;
        this.auth = auth;
    }

    private ResponseHeader header() {
        return node.header(node.read(MvccReader::revision));
    }

    /** Resolves the caller (an invalid token fails the call), runs the call, answers with what it completes. */
    private <T, R> void answer(final StreamObserver<R> observer, final Function<AuthStore.Caller, CompletableFuture<T>>
        call, final Function<T, R> response) {
        final CompletableFuture<T> done;
        try {
            done = call.apply(auth.caller());
        } catch (final RuntimeException ex) {
            observer.onError(EtcdStatus.of(ex));
            return;
        }
        done.whenComplete((result, error) -> {
            if (error != null) {
                observer.onError(EtcdStatus.of(error));
                return;
            }
            final R reply;
            try {
                reply = response.apply(result);
            } catch (final StatusRuntimeException ex) {
                observer.onError(ex);
                return;
            }
            observer.onNext(reply);
            observer.onCompleted();
        });
    }

    @Override
    public void authEnable(final AuthEnableRequest request, final StreamObserver<AuthEnableResponse> observer) {
        answer(observer, auth::enable, state -> AuthEnableResponse.newBuilder().setHeader(header()).build());
    }

    @Override
    public void authDisable(final AuthDisableRequest request, final StreamObserver<AuthDisableResponse> observer) {
        answer(observer, auth::disable, state -> AuthDisableResponse.newBuilder().setHeader(header()).build());
    }

    @Override
    public void authenticate(final AuthenticateRequest request, final StreamObserver<AuthenticateResponse> observer) {
        // No caller: a token sent with it is not looked at (etcd's Authenticate ignores it).
        answer(observer, caller -> auth.authenticate(request.getName(), request.getPassword()),
            token -> AuthenticateResponse.newBuilder().setHeader(header()).setToken(token).build());
    }

    @Override
    public void userAdd(final AuthUserAddRequest request, final StreamObserver<AuthUserAddResponse> observer) {
        answer(observer, caller -> auth.userAdd(caller, request.getName(), request.getPassword(), noPassword(request)),
            state -> AuthUserAddResponse.newBuilder().setHeader(header()).build());
    }

    /**
     * {@code options.no_password} (field 3, its field 1) of etcd 3.4's request, which the client library's protos do
     * not name: read from the unknown fields.
     */
    private static boolean noPassword(final AuthUserAddRequest request) {
        for (final com.google.protobuf.ByteString options : request.getUnknownFields().getField(3)
            .getLengthDelimitedList()) {
            try {
                final UnknownFieldSet.Field flag = UnknownFieldSet.parseFrom(options).getField(1);
                if (!flag.getVarintList().isEmpty() && flag.getVarintList().get(0) != 0) {
                    return true;
                }
            } catch (final InvalidProtocolBufferException ex) {
                return false;
            }
        }
        return false;
    }

    @Override
    public void userGet(final AuthUserGetRequest request, final StreamObserver<AuthUserGetResponse> observer) {
        answer(observer, caller -> auth.userGet(caller, request.getName()),
            user -> AuthUserGetResponse.newBuilder().setHeader(header()).addAllRoles(user.getRolesList()).build());
    }

    @Override
    public void userList(final AuthUserListRequest request, final StreamObserver<AuthUserListResponse> observer) {
        answer(observer, auth::userList,
            users -> AuthUserListResponse.newBuilder().setHeader(header()).addAllUsers(users).build());
    }

    @Override
    public void userDelete(final AuthUserDeleteRequest request, final StreamObserver<AuthUserDeleteResponse> observer) {
        answer(observer, caller -> auth.userDelete(caller, request.getName()),
            state -> AuthUserDeleteResponse.newBuilder().setHeader(header()).build());
    }

    @Override
    public void userChangePassword(final AuthUserChangePasswordRequest request,
        final StreamObserver<AuthUserChangePasswordResponse> observer) {
        answer(observer, caller -> auth.userChangePassword(caller, request.getName(), request.getPassword()),
            state -> AuthUserChangePasswordResponse.newBuilder().setHeader(header()).build());
    }

    @Override
    public void userGrantRole(final AuthUserGrantRoleRequest request,
        final StreamObserver<AuthUserGrantRoleResponse> observer) {
        answer(observer, caller -> auth.userGrantRole(caller, request.getUser(), request.getRole()),
            state -> AuthUserGrantRoleResponse.newBuilder().setHeader(header()).build());
    }

    @Override
    public void userRevokeRole(final AuthUserRevokeRoleRequest request,
        final StreamObserver<AuthUserRevokeRoleResponse> observer) {
        answer(observer, caller -> auth.userRevokeRole(caller, request.getName(), request.getRole()),
            state -> AuthUserRevokeRoleResponse.newBuilder().setHeader(header()).build());
    }

    @Override
    public void roleAdd(final AuthRoleAddRequest request, final StreamObserver<AuthRoleAddResponse> observer) {
        answer(observer, caller -> auth.roleAdd(caller, request.getName()),
            state -> AuthRoleAddResponse.newBuilder().setHeader(header()).build());
    }

    @Override
    public void roleGet(final AuthRoleGetRequest request, final StreamObserver<AuthRoleGetResponse> observer) {
        answer(observer, caller -> auth.roleGet(caller, request.getRole()),
            role -> AuthRoleGetResponse.newBuilder().setHeader(header()).addAllPerm(role.getKeyPermissionList())
                .build());
    }

    @Override
    public void roleList(final AuthRoleListRequest request, final StreamObserver<AuthRoleListResponse> observer) {
        answer(observer, auth::roleList,
            roles -> AuthRoleListResponse.newBuilder().setHeader(header()).addAllRoles(roles).build());
    }

    @Override
    public void roleDelete(final AuthRoleDeleteRequest request, final StreamObserver<AuthRoleDeleteResponse> observer) {
        answer(observer, caller -> auth.roleDelete(caller, request.getRole()),
            state -> AuthRoleDeleteResponse.newBuilder().setHeader(header()).build());
    }

    @Override
    public void roleGrantPermission(final AuthRoleGrantPermissionRequest request,
        final StreamObserver<AuthRoleGrantPermissionResponse> observer) {
        answer(observer, caller -> auth.roleGrantPermission(caller, request.getName(),
            request.hasPerm() ? request.getPerm() : null),
            state -> AuthRoleGrantPermissionResponse.newBuilder().setHeader(header()).build());
    }

    @Override
    public void roleRevokePermission(final AuthRoleRevokePermissionRequest request,
        final StreamObserver<AuthRoleRevokePermissionResponse> observer) {
        answer(observer, caller -> auth.roleRevokePermission(caller, request.getRole(), request.getKey(),
            request.getRangeEnd()), state -> AuthRoleRevokePermissionResponse.newBuilder().setHeader(header()).build());
    }
}
