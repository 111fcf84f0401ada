package io.cairn.server.node;

import io.cairn.consensus.RaftResult;
import io.cairn.consensus.loop.RaftListener;
import io.cairn.embedded.CairnError;
import io.cairn.embedded.CairnException;
import io.cairn.embedded.ProposalFailed;
import io.cairn.engine.mvcc.MvccError;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;

import java.util.concurrent.TimeoutException;

/**
 * etcd 3.4's gRPC status for each refusal ({@code rpctypes}): the same code and the same message, so clients that
 * match on either (etcdctl, jetcd, Kubernetes) behave as they do against etcd.
 */
public final class EtcdStatus {
    /** No leader is known (etcd's {@code ErrGRPCNoLeader}). */
    public static final String NO_LEADER = "etcdserver: no leader";
    /** The request did not complete in time (etcd's {@code ErrGRPCTimeout}). */
    public static final String TIMEOUT = "etcdserver: request timed out";
    /** The member is stopping (etcd's {@code ErrGRPCStopped}). */
    public static final String STOPPED = "etcdserver: server stopped";

    private EtcdStatus() {
    }

    /**
     * etcd 3.4's text of a gRPC error as Go prints it ({@code rpc error: code = PermissionDenied desc = ...}): what
     * etcd puts in a refused watch's cancel reason.
     *
     * @param status the error.
     * @return its text.
     */
    public static String goText(final Status status) {
        final StringBuilder code = new StringBuilder();
        for (final String word : status.getCode().name().split("_")) {
            code.append(word.charAt(0)).append(word.substring(1).toLowerCase(java.util.Locale.ROOT));
        }
        return "rpc error: code = " + code + " desc = " + status.getDescription();
    }

    /**
     * @param code a keyspace refusal ({@link MvccError}).
     * @return the gRPC status etcd answers with.
     */
    public static Status of(final int code) {
        final String message = MvccError.message(code);
        switch (code) {
            case MvccError.COMPACTED:
            case MvccError.FUTURE_REVISION:
            case MvccError.LEASE_TTL_TOO_LARGE:
                return Status.OUT_OF_RANGE.withDescription(message);
            case MvccError.LEASE_NOT_FOUND:
                return Status.NOT_FOUND.withDescription(message);
            case MvccError.LEASE_EXISTS:
                return Status.FAILED_PRECONDITION.withDescription(message);
            case MvccError.NO_SPACE:
                return Status.RESOURCE_EXHAUSTED.withDescription(message);
            case MvccError.MALFORMED:
                return Status.INTERNAL.withDescription(message);
            case MvccError.CORRUPT:
                return Status.DATA_LOSS.withDescription(message);
            default:
                return Status.INVALID_ARGUMENT.withDescription(message);
        }
    }

    /**
     * @param code a keyspace refusal.
     * @return it as an exception for {@code StreamObserver.onError}.
     */
    public static StatusRuntimeException exception(final int code) {
        return of(code).asRuntimeException();
    }

    /**
     * @return etcd's answer when no leader is known.
     */
    public static StatusRuntimeException noLeader() {
        return Status.UNAVAILABLE.withDescription(NO_LEADER).asRuntimeException();
    }

    /**
     * @return etcd's answer when a request did not complete in time.
     */
    public static StatusRuntimeException timeout() {
        return Status.UNAVAILABLE.withDescription(TIMEOUT).asRuntimeException();
    }

    /**
     * The error a client sees for a failure.
     *
     * @param error what went wrong (possibly wrapped by a future).
     * @return etcd's status for it.
     */
    public static StatusRuntimeException of(final Throwable error) {
        Throwable cause = error;
        while (cause.getCause() != null && !(cause instanceof CairnException)
            && !(cause instanceof StatusRuntimeException)) {
            cause = cause.getCause();
        }
        if (cause instanceof StatusRuntimeException status) {
            return status;
        }
        if (cause instanceof TimeoutException) {
            return timeout();
        }
        if (cause instanceof ProposalFailed failure) {
            // The loop's refusals, as the server always answered them: what has no etcd status of its own (a
            // transfer or membership change refused, a proposal the loop gave up) is etcd's "request timed out".
            final long code = failure.code();
            return code == RaftResult.NOT_LEADER || code == RaftResult.FULL || code == RaftResult.TOO_LARGE
                || code == RaftListener.LOST ? of(failure.error()).asRuntimeException() : timeout();
        }
        if (cause instanceof CairnException failure) {
            return of(failure.error()).asRuntimeException();
        }
        return Status.INTERNAL.withDescription(String.valueOf(cause.getMessage())).withCause(cause)
            .asRuntimeException();
    }

    /**
     * @param error etcd's reason.
     * @return the gRPC status etcd answers with for it (its code and its text).
     */
    public static Status of(final CairnError error) {
        final int keyspace = error.ordinal() + 1;
        if (keyspace <= MvccError.LAST) {
            return of(keyspace);
        }
        return switch (error) {
            case LEARNER_NOT_READY, MEMBER_EXISTS, PEER_URL_EXISTS, NOT_ENOUGH_STARTED, NOT_LEARNER,
                TOO_MANY_LEARNERS, MEMBERSHIP_REFUSED, BAD_LEADER_TRANSFEREE ->
                Status.FAILED_PRECONDITION.withDescription(error.message());
            case BAD_URLS -> Status.INVALID_ARGUMENT.withDescription(error.message());
            case MEMBER_NOT_FOUND -> Status.NOT_FOUND.withDescription(error.message());
            case TOO_MANY_REQUESTS -> Status.RESOURCE_EXHAUSTED.withDescription(error.message());
            case LEADER_TRANSFER_TIMEOUT -> Status.DEADLINE_EXCEEDED.withDescription(error.message());
            case INVALID -> Status.INVALID_ARGUMENT.withDescription(error.message());
            case UNHEALTHY_CLUSTER, NO_LEADER, LEADER_CHANGED, TIMEOUT, STOPPED ->
                Status.UNAVAILABLE.withDescription(error.message());
            default -> Status.INTERNAL.withDescription(error.message());
        };
    }
}
