package io.cairn.embedded;

import io.cairn.consensus.Membership;
import io.cairn.consensus.RaftResult;
import io.cairn.consensus.loop.RaftListener;
import io.cairn.engine.mvcc.MvccError;

/**
 * Why a request was refused or did not complete, as etcd 3.4 names it ({@code rpctypes}); {@link #message()} is
 * etcd's own text, so a service that logs or shows it reads as etcd's clients do. The keyspace's refusals come first,
 * in {@link MvccError}'s order; then what the replication can answer.
 */
public enum CairnError {
    /** A key is required (etcd's {@code ErrGRPCEmptyKey}). */
    EMPTY_KEY(MvccError.message(MvccError.EMPTY_KEY)),
    /** Larger than the request limit. */
    REQUEST_TOO_LARGE(MvccError.message(MvccError.REQUEST_TOO_LARGE)),
    /** More operations in a transaction than allowed. */
    TOO_MANY_OPS(MvccError.message(MvccError.TOO_MANY_OPS)),
    /** A transaction writes one key twice. */
    DUPLICATE_KEY(MvccError.message(MvccError.DUPLICATE_KEY)),
    /** The revision asked for was compacted away. */
    COMPACTED(MvccError.message(MvccError.COMPACTED)),
    /** The revision asked for is not written yet. */
    FUTURE_REVISION(MvccError.message(MvccError.FUTURE_REVISION)),
    /** No such lease. */
    LEASE_NOT_FOUND(MvccError.message(MvccError.LEASE_NOT_FOUND)),
    /** A lease with that ID exists. */
    LEASE_EXISTS(MvccError.message(MvccError.LEASE_EXISTS)),
    /** The TTL asked for is too large. */
    LEASE_TTL_TOO_LARGE(MvccError.message(MvccError.LEASE_TTL_TOO_LARGE)),
    /** A put with "ignore value" or "ignore lease" on a key that does not exist. */
    KEY_NOT_FOUND(MvccError.message(MvccError.KEY_NOT_FOUND)),
    /** A value given with "ignore value". */
    VALUE_PROVIDED(MvccError.message(MvccError.VALUE_PROVIDED)),
    /** A lease given with "ignore lease". */
    LEASE_PROVIDED(MvccError.message(MvccError.LEASE_PROVIDED)),
    /** The NOSPACE alarm is raised: writes that add data are refused until it is disarmed. */
    NO_SPACE(MvccError.message(MvccError.NO_SPACE)),
    /** Longer than the keyspace's key limit. */
    KEY_TOO_LONG(MvccError.message(MvccError.KEY_TOO_LONG)),
    /** A command that does not decode (never applied). */
    MALFORMED(MvccError.message(MvccError.MALFORMED)),
    /** A lease ID of zero where one is needed. */
    LEASE_ID_REQUIRED(MvccError.message(MvccError.LEASE_ID_REQUIRED)),
    /** The CORRUPT alarm is raised: members' keyspaces differ, writes are refused until an operator disarms it. */
    CORRUPT(MvccError.message(MvccError.CORRUPT)),
    /** The authentication state changed after the request's permissions were checked. */
    AUTH_OLD_REVISION(MvccError.message(MvccError.AUTH_OLD_REVISION)),
    /** No leader is known, or this member must lead and does not. */
    NO_LEADER("etcdserver: no leader"),
    /** Too many requests waiting for the loop. */
    TOO_MANY_REQUESTS("etcdserver: too many requests"),
    /** The leader changed before the write committed: it may or may not have been applied. */
    LEADER_CHANGED("etcdserver: leader changed"),
    /** No answer within the request timeout: the outcome is unknown. */
    TIMEOUT("etcdserver: request timed out"),
    /** A leadership transfer did not finish in time. */
    LEADER_TRANSFER_TIMEOUT("etcdserver: request timed out, leader transfer took too long"),
    /** The node is stopping or stopped. */
    STOPPED("etcdserver: server stopped"),
    /** The request is not valid here (a membership or leadership call that cannot apply). */
    INVALID("etcdserver: invalid request"),
    /** A learner is promoted before it has caught up with the leader. */
    LEARNER_NOT_READY("etcdserver: can only promote a learner member which is in sync with leader"),
    /** A membership change is still pending: one at a time. */
    UNHEALTHY_CLUSTER("etcdserver: unhealthy cluster"),
    /** MemberAdd of a member whose ID (a hash of its peer URL) is in the cluster. */
    MEMBER_EXISTS("etcdserver: member ID already exist"),
    /** Another member has one of these peer URLs. */
    PEER_URL_EXISTS("etcdserver: Peer URLs already exists"),
    /** etcd's strict reconfiguration check: too few started voters would remain for a quorum. */
    NOT_ENOUGH_STARTED("etcdserver: re-configuration failed due to not enough started members"),
    /** Peer URLs missing or not {@code scheme://host:port}. */
    BAD_URLS("etcdserver: given member URLs are invalid"),
    /** No member with that ID. */
    MEMBER_NOT_FOUND("etcdserver: member not found"),
    /** Promotion of a member that votes already. */
    NOT_LEARNER("etcdserver: can only promote a learner member"),
    /** A second learner (etcd 3.4 allows one). */
    TOO_MANY_LEARNERS("etcdserver: too many learner members in cluster"),
    /** MoveLeader to a member that is not a voter of this cluster. */
    BAD_LEADER_TRANSFEREE("etcdserver: bad leader transferee"),
    /** A change the configuration cannot take (more members than it holds, or no voter left). */
    MEMBERSHIP_REFUSED("cairn: the configuration refused the change (at most " + Membership.MEMBERS_MAX
        + " members, at least one voter)");

    private static final CairnError[] KEYSPACE = values();

    private final String message;

    CairnError(final String message) {
        this.message = message;
    }

    /**
     * @return etcd's text for it.
     */
    public String message() {
        return message;
    }

    /**
     * @param code a keyspace outcome ({@link MvccError}), not OK.
     * @return its error.
     */
    public static CairnError ofKeyspace(final int code) {
        return code >= 1 && code <= MvccError.LAST ? KEYSPACE[code - 1] : MALFORMED;
    }

    /**
     * @param code a loop code: a {@link RaftResult} refusal or a {@link RaftListener} outcome other than COMMITTED.
     * @return its error.
     */
    public static CairnError ofLoop(final long code) {
        if (code == RaftResult.NOT_LEADER) {
            return NO_LEADER;
        }
        if (code == RaftResult.NOT_CAUGHT_UP) {
            return LEARNER_NOT_READY;
        }
        if (code == RaftResult.FULL) {
            return TOO_MANY_REQUESTS;
        }
        if (code == RaftResult.TOO_LARGE) {
            return REQUEST_TOO_LARGE;
        }
        if (code == RaftResult.INVALID || code == RaftResult.TRANSFER_IN_PROGRESS) {
            return INVALID;
        }
        if (code == RaftResult.CONFIG_PENDING) {
            return UNHEALTHY_CLUSTER;
        }
        if (code == RaftListener.LOST) {
            return LEADER_CHANGED;
        }
        return TIMEOUT;
    }
}
