package io.cairn.consensus;

/**
 * Codes returned by the core's input methods. Refusals are codes, never exceptions: they are normal events (a
 * follower asked to propose, a full window). Methods that assign a log index return it (positive) when accepted.
 */
public final class RaftResult {
    /** Accepted (methods that assign no index). */
    public static final long ACCEPTED = 0;
    /** This member is not the leader (nor knows one, for forwarded reads): ask the leader. */
    public static final long NOT_LEADER = -1;
    /** Flow control: too many uncommitted entries or pending reads. Retry later. */
    public static final long FULL = -2;
    /** A leadership transfer is in progress: proposals wait (thesis §3.10). */
    public static final long TRANSFER_IN_PROGRESS = -3;
    /** The payload exceeds {@link RaftConfig#entryBytesMax()}. */
    public static final long TOO_LARGE = -4;
    /** A membership change is still uncommitted, or the leader has not yet committed an entry of its term (thesis
     * §4.1): one change at a time. */
    public static final long CONFIG_PENDING = -5;
    /** The request makes no sense (an unknown member, a reserved entry type, removing the last voter, ...). */
    public static final long INVALID = -6;
    /** A learner cannot be promoted before it has caught up with the commit index (thesis §4.2.1). */
    public static final long NOT_CAUGHT_UP = -7;

    private RaftResult() {
    }

    /**
     * @param code a code from this class.
     * @return its name.
     */
    public static String name(final long code) {
        if (code > 0) {
            return "INDEX(" + code + ")";
        }
        switch ((int)code) {
            case 0:
                return "ACCEPTED";
            case -1:
                return "NOT_LEADER";
            case -2:
                return "FULL";
            case -3:
                return "TRANSFER_IN_PROGRESS";
            case -4:
                return "TOO_LARGE";
            case -5:
                return "CONFIG_PENDING";
            case -6:
                return "INVALID";
            case -7:
                return "NOT_CAUGHT_UP";
            default:
                return "UNKNOWN(" + code + ")";
        }
    }
}
