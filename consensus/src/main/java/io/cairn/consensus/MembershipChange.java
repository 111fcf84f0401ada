package io.cairn.consensus;

/**
 * One-server-at-a-time membership changes (thesis §4.1) accepted by {@link RaftCore#proposeMembership(int, int)}.
 * Each becomes a {@link EntryType#CONFIG} entry holding the whole new configuration, in force on every member as
 * soon as it is appended to that member's log.
 */
public final class MembershipChange {
    /** Add a voter (for a server that is not a member; a learner is promoted instead). */
    public static final int ADD_VOTER = 1;
    /** Add a learner: it receives the log but neither votes nor counts toward a quorum (thesis §4.2.1). */
    public static final int ADD_LEARNER = 2;
    /** Make a caught-up learner a voter. */
    public static final int PROMOTE_LEARNER = 3;
    /** Remove a voter or a learner (the leader itself included: it steps down once the change commits, §4.2.2). */
    public static final int REMOVE = 4;
    /** Replace a member's attributes only (names, addresses: whatever the application keeps there). */
    public static final int UPDATE = 5;

    private MembershipChange() {
    }
}
