package io.cairn.consensus;

/**
 * The roles of a member (§5.1, figure 4; PreVote adds the pre-candidate, thesis §9.6). Learners are followers that
 * are not voters in the configuration: they never campaign.
 */
public final class Role {
    /** Follows a leader, or waits for one. */
    public static final int FOLLOWER = 0;
    /** Asks whether it could win an election before disturbing anyone with a new term (thesis §9.6). */
    public static final int PRE_CANDIDATE = 1;
    /** Campaigns in a new term (§5.2). */
    public static final int CANDIDATE = 2;
    /** Leads the current term. */
    public static final int LEADER = 3;

    private Role() {
    }

    /**
     * @param role a role constant.
     * @return its name, for logs and test messages.
     */
    public static String name(final int role) {
        switch (role) {
            case FOLLOWER:
                return "FOLLOWER";
            case PRE_CANDIDATE:
                return "PRE_CANDIDATE";
            case CANDIDATE:
                return "CANDIDATE";
            case LEADER:
                return "LEADER";
            default:
                return "UNKNOWN(" + role + ")";
        }
    }
}
