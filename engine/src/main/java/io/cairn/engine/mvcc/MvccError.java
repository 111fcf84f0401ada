package io.cairn.engine.mvcc;

/**
 * Outcomes of keyspace operations, each with the message etcd 3.4 gives for it, so the server can answer with the same
 * gRPC status and text. {@link #OK} is zero; every other code is a refusal that changed nothing.
 */
public final class MvccError {
    /** Success. */
    public static final int OK = 0;
    /** Empty key (gRPC INVALID_ARGUMENT). */
    public static final int EMPTY_KEY = 1;
    /** Request over the size limit (gRPC INVALID_ARGUMENT). */
    public static final int REQUEST_TOO_LARGE = 2;
    /** More operations in one txn branch than allowed (gRPC INVALID_ARGUMENT). */
    public static final int TOO_MANY_OPS = 3;
    /** The same key written twice in one txn (gRPC INVALID_ARGUMENT). */
    public static final int DUPLICATE_KEY = 4;
    /** Revision below the compacted one (gRPC OUT_OF_RANGE). */
    public static final int COMPACTED = 5;
    /** Revision above the current one (gRPC OUT_OF_RANGE). */
    public static final int FUTURE_REVISION = 6;
    /** Lease does not exist (gRPC NOT_FOUND). */
    public static final int LEASE_NOT_FOUND = 7;
    /** Lease ID already granted (gRPC FAILED_PRECONDITION). */
    public static final int LEASE_EXISTS = 8;
    /** Lease TTL over the maximum (gRPC OUT_OF_RANGE). */
    public static final int LEASE_TTL_TOO_LARGE = 9;
    /** ignore_value/ignore_lease on a key that does not exist (gRPC INVALID_ARGUMENT). */
    public static final int KEY_NOT_FOUND = 10;
    /** ignore_value set and a value given too (gRPC INVALID_ARGUMENT). */
    public static final int VALUE_PROVIDED = 11;
    /** ignore_lease set and a lease given too (gRPC INVALID_ARGUMENT). */
    public static final int LEASE_PROVIDED = 12;
    /** The NOSPACE alarm is raised: writes that grow the store are refused (gRPC RESOURCE_EXHAUSTED). */
    public static final int NO_SPACE = 13;
    /**
     * Key longer than LMDB's key limit (gRPC INVALID_ARGUMENT). Cairn's own: etcd has no key limit below the request
     * size, but the keyspace indexes keys in LMDB, whose keys stop at 511 bytes.
     */
    public static final int KEY_TOO_LONG = 14;
    /** A command that does not decode (a bug or a corrupt entry; never applied). */
    public static final int MALFORMED = 15;
    /** Lease ID zero where one is required (gRPC INVALID_ARGUMENT; the leader assigns IDs before proposing). */
    public static final int LEASE_ID_REQUIRED = 16;
    /**
     * The CORRUPT alarm is raised (members' keyspaces differ): every write, compaction, lease grant and revoke is
     * refused until an operator disarms it (gRPC DATA_LOSS).
     */
    public static final int CORRUPT = 17;
    /**
     * The authentication state changed since the request's permissions were checked, or since the auth change was
     * prepared (gRPC INVALID_ARGUMENT, etcd's ErrAuthOldRevision).
     */
    public static final int AUTH_OLD_REVISION = 18;
    /** The highest code: codes 1..LAST are refusals (mirrored in order by the embedded API's error type). */
    public static final int LAST = AUTH_OLD_REVISION;

    private static final String[] MESSAGES = {
        "ok",
        "etcdserver: key is not provided",
        "etcdserver: request is too large",
        "etcdserver: too many operations in txn request",
        "etcdserver: duplicate key given in txn request",
        "etcdserver: mvcc: required revision has been compacted",
        "etcdserver: mvcc: required revision is a future revision",
        "etcdserver: requested lease not found",
        "etcdserver: lease already exists",
        "etcdserver: too large lease TTL",
        "etcdserver: key not found",
        "etcdserver: value is provided",
        "etcdserver: lease is provided",
        "etcdserver: mvcc: database space exceeded",
        "etcdserver: key is too long (Cairn keys are at most 511 bytes)",
        "cairn: malformed keyspace command",
        "etcdserver: lease ID is required",
        "etcdserver: corrupt cluster",
        "etcdserver: revision of auth store is old",
    };

    private MvccError() {
    }

    /**
     * @param code an outcome code.
     * @return etcd's message for it.
     */
    public static String message(final int code) {
        return code >= 0 && code < MESSAGES.length ? MESSAGES[code] : "cairn: unknown keyspace error " + code;
    }
}
