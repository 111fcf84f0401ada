package io.cairn.consensus;

import io.cairn.engine.check.Check;

/**
 * One {@link Progress} per member of the configuration in force, voters and learners (etcd-io/raft's
 * {@code tracker.ProgressTracker}): what the leader knows of each member's log and how it replicates to it. The
 * objects come from a pool sized for the largest configuration, so a configuration change allocates nothing. Iterate
 * with {@link #count()} and {@link #at(int)}; order is not meaningful.
 */
final class ProgressTracker {
    private final Progress[] progress = new Progress[Membership.MEMBERS_MAX];
    private final Progress[] free = new Progress[Membership.MEMBERS_MAX];
    private int count;
    private int freeCount;

    /**
     * @param inflightMessagesMax appends in flight to one member.
     * @param inflightBytesMax    bytes in flight to one member.
     */
    ProgressTracker(final int inflightMessagesMax, final long inflightBytesMax) {
        for (int i = 0; i < free.length; i++) {
            free[i] = new Progress(inflightMessagesMax, inflightBytesMax);
        }
        freeCount = free.length;
    }

    /**
     * @return members tracked.
     */
    int count() {
        return count;
    }

    /**
     * @param i 0 .. {@link #count()} - 1.
     * @return that member's progress.
     */
    Progress at(final int i) {
        return progress[i];
    }

    /**
     * @param member a member ID.
     * @return its progress, or null if it is not in the configuration.
     */
    Progress of(final int member) {
        for (int i = 0; i < count; i++) {
            if (progress[i].nodeId == member) {
                return progress[i];
            }
        }
        return null;
    }

    /**
     * Makes the tracked members those of {@code membership}: a member that left gives its progress back to the pool,
     * a new one gets a fresh progress expecting {@code nextIndex} (and counts as recently active, so CheckQuorum
     * gives it an election timeout to answer); a member that stays keeps its progress, its voter flag updated.
     *
     * @param membership the configuration in force.
     * @param nextIndex  the index a new member's next append would start at.
     */
    void sync(final Membership membership, final long nextIndex) {
        for (int i = count - 1; i >= 0; i--) {
            final Progress pr = progress[i];
            if (!membership.contains(pr.nodeId)) {
                free[freeCount++] = pr;
                progress[i] = progress[--count];
                progress[count] = null;
            }
        }
        for (int i = 0; i < membership.memberCount(); i++) {
            final int member = membership.member(i);
            Progress pr = of(member);
            if (pr == null) {
                pr = free[--freeCount];
                free[freeCount] = null;
                pr.init(member, membership.isVoter(member), nextIndex);
                pr.recentActive = true;
                progress[count++] = pr;
            } else {
                pr.voter = membership.isVoter(member);
            }
        }
    }

    /**
     * Exactly one progress per configured member and none for anyone else.
     *
     * @param membership the configuration in force.
     */
    void checkInvariants(final Membership membership) {
        Check.state(count == membership.memberCount(), "progress count differs from the configuration", count,
            membership.memberCount());
        for (int i = 0; i < count; i++) {
            final int member = progress[i].nodeId;
            Check.state(membership.contains(member), "progress for a member not configured", member);
            for (int j = i + 1; j < count; j++) {
                Check.state(progress[j].nodeId != member, "two progresses for one member", member);
            }
        }
    }
}
