package io.cairn.server.auth;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;

/**
 * etcd 3.4's authentication errors, with the gRPC codes and texts its clients match on ({@code rpctypes}).
 */
public final class AuthErrors {
    private AuthErrors() {
    }

    private static StatusRuntimeException error(final Status status, final String message) {
        return status.withDescription("etcdserver: " + message).asRuntimeException();
    }

    /** @return no credentials where some are needed. */
    public static StatusRuntimeException userEmpty() {
        return error(Status.INVALID_ARGUMENT, "user name is empty");
    }

    /** @return a token that is not (or no longer) valid. */
    public static StatusRuntimeException invalidToken() {
        return error(Status.UNAUTHENTICATED, "invalid auth token");
    }

    /** @return the caller may not do that. */
    public static StatusRuntimeException permissionDenied() {
        return error(Status.PERMISSION_DENIED, "permission denied");
    }

    /** @return a wrong user name or password. */
    public static StatusRuntimeException authFailed() {
        return error(Status.INVALID_ARGUMENT, "authentication failed, invalid user ID or password");
    }

    /** @return enabling without a root user. */
    public static StatusRuntimeException rootUserNotExist() {
        return error(Status.FAILED_PRECONDITION, "root user does not exist");
    }

    /** @return enabling while the root user lacks the root role. */
    public static StatusRuntimeException rootRoleNotExist() {
        return error(Status.FAILED_PRECONDITION, "root user does not have root role");
    }

    /** @return adding a user that exists. */
    public static StatusRuntimeException userAlreadyExist() {
        return error(Status.FAILED_PRECONDITION, "user name already exists");
    }

    /** @return naming a user that does not exist. */
    public static StatusRuntimeException userNotFound() {
        return error(Status.FAILED_PRECONDITION, "user name not found");
    }

    /** @return adding a role that exists. */
    public static StatusRuntimeException roleAlreadyExist() {
        return error(Status.FAILED_PRECONDITION, "role name already exists");
    }

    /** @return naming a role that does not exist. */
    public static StatusRuntimeException roleNotFound() {
        return error(Status.FAILED_PRECONDITION, "role name not found");
    }

    /** @return an empty role name. */
    public static StatusRuntimeException roleEmpty() {
        return error(Status.INVALID_ARGUMENT, "role name is empty");
    }

    /** @return a grant without a permission. */
    public static StatusRuntimeException permissionNotGiven() {
        return error(Status.INVALID_ARGUMENT, "permission not given");
    }

    /** @return revoking a role the user does not hold. */
    public static StatusRuntimeException roleNotGranted() {
        return error(Status.FAILED_PRECONDITION, "role is not granted to the user");
    }

    /** @return revoking a permission the role does not hold. */
    public static StatusRuntimeException permissionNotGranted() {
        return error(Status.FAILED_PRECONDITION, "permission is not granted to the role");
    }

    /** @return authenticating while authentication is disabled. */
    public static StatusRuntimeException authNotEnabled() {
        return error(Status.FAILED_PRECONDITION, "authentication is not enabled");
    }

    /** @return deleting root, or its root role, while enabled; a permission range that is no range. */
    public static StatusRuntimeException invalidAuthManagement() {
        return error(Status.INVALID_ARGUMENT, "invalid auth management");
    }

    /** @return a password given for a user made without one (etcd answers it as an unknown error). */
    public static StatusRuntimeException noPasswordUser() {
        return Status.UNKNOWN.withDescription("auth: authentication failed, password was given for no password user")
            .asRuntimeException();
    }
}
