package io.cairn.simulator;

import io.cairn.consensus.RaftCore;
import io.cairn.consensus.Role;
import io.cairn.consensus.memory.MemoryWal;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Goal: Raft's safety properties (§5.2 figure 3), checked on every member after every step it takes, plus the
 * client-facing ones. Method: global tables built incrementally from what members do, compared against each new
 * observation:
 * <ul>
 *   <li>Election Safety: at most one leader per term (term → leader).</li>
 *   <li>Log Matching: an entry (index, term) always has the same content and the same previous term, wherever it
 *       is seen; by induction logs that share an entry share the prefix before it.</li>
 *   <li>Leader Completeness: a new leader of term T holds every entry committed in a term below T.</li>
 *   <li>State Machine Safety: every member applies the same entry at each index, and that entry is the one
 *       committed there; and its state after applying up to an index is the same as every other member's there (a
 *       cheap fingerprint after every run, restart and install, the revision in keyspace mode; a whole-state hash
 *       at snapshots and at the end, hashKv in keyspace mode), which catches an application that applies an entry
 *       twice, skips one or decides differently on the same input.</li>
 *   <li>No acknowledged write lost: an acknowledged write's (index, term) is the entry committed at that index.</li>
 * </ul>
 */
final class SafetyChecker {
    private record IndexTerm(long index, long term) {
    }

    /** What the first member to report it had at one applied index. */
    private static final class AppliedState {
        boolean fingerprinted;
        long fingerprint;
        int fingerprintNode;
        boolean hashed;
        long hash;
        int hashNode;
    }

    private final Map<Long, Integer> leaders = new HashMap<>();
    // index -> {term, content hash, lowest term of a member that knew it committed}
    private final TreeMap<Long, long[]> committed = new TreeMap<>();
    // (index, term) -> {content hash, previous term}
    private final Map<IndexTerm, long[]> entries = new HashMap<>();
    // index -> {term, content hash}
    private final Map<Long, long[]> applied = new HashMap<>();
    private final Map<Long, AppliedState> states = new HashMap<>();
    private final List<String> violations = new ArrayList<>();
    private final List<SimNode> nodes = new ArrayList<>();

    void register(final SimNode node) {
        nodes.add(node);
    }

    List<String> violations() {
        return violations;
    }

    private void violation(final String what) {
        if (violations.size() < 20) {
            violations.add(what);
        }
    }

    static long contentHash(final byte type, final byte[] payload) {
        return 31L * Arrays.hashCode(payload) + type;
    }

    /**
     * Checks one member after a step of its own.
     */
    void observe(final SimNode node) {
        final RaftCore core = node.core();
        final MemoryWal wal = node.wal();
        checkLog(node, wal);
        checkCommit(node, core, wal);
        if (core.role() == Role.LEADER && node.leaderTermSeen() != core.term()) {
            node.leaderTermSeen(core.term());
            checkNewLeader(node, core, wal);
        }
    }

    private void checkLog(final SimNode node, final MemoryWal wal) {
        final long from = Math.max(wal.takeChangedFrom(), wal.baseIndex() + 1);
        for (long i = from; i <= wal.lastIndex(); i++) {
            final MemoryWal.Entry entry = wal.entry(i);
            final long[] seen = new long[] {contentHash(entry.type(), entry.payload()), wal.term(i - 1)};
            final long[] known = entries.putIfAbsent(new IndexTerm(i, entry.term()), seen);
            if (known != null && (known[0] != seen[0] || known[1] != seen[1])) {
                violation("log matching: node " + node.id() + " holds a different entry (" + i + ", "
                    + entry.term() + ") than seen before (content or previous term " + known[1] + " vs " + seen[1]
                    + ")");
            }
        }
    }

    private void checkCommit(final SimNode node, final RaftCore core, final MemoryWal wal) {
        final long commit = core.commitIndex();
        if (core.role() == Role.LEADER) {
            for (long i = Math.max(node.commitSeen(), wal.baseIndex()) + 1; i <= commit; i++) {
                checkCommitSurvivesElections(node, i, wal.term(i));
            }
        }
        for (long i = Math.max(node.commitSeen(), wal.baseIndex()) + 1; i <= commit; i++) {
            if (i > wal.lastIndex()) {
                violation("node " + node.id() + " commit index " + commit + " beyond its log " + wal.lastIndex());
                break;
            }
            final MemoryWal.Entry entry = wal.entry(i);
            final long hash = contentHash(entry.type(), entry.payload());
            final long[] known = committed.get(i);
            if (known == null) {
                committed.put(i, new long[] {entry.term(), hash, core.term()});
            } else if (known[0] != entry.term() || known[1] != hash) {
                violation("two entries committed at index " + i + ": term " + known[0] + " and term "
                    + entry.term() + " (node " + node.id() + ")");
            } else {
                known[2] = Math.min(known[2], core.term());
            }
        }
        node.commitSeen(Math.max(node.commitSeen(), commit));
    }

    /**
     * The heart of §5.4's safety argument, checked when a leader commits: every server lacking the entry must be
     * unable to win an election, because a majority of the voters hold logs more up to date than its own (§5.4.1).
     * Otherwise the entry could be overwritten by a later leader (figure 8) even if no such election happens in
     * this run; checking the possibility catches the bug without waiting for the unlucky schedule.
     */
    private void checkCommitSurvivesElections(final SimNode leader, final long index, final long term) {
        final io.cairn.consensus.Membership voters = leader.core().membership();
        for (final SimNode candidate : nodes) {
            final MemoryWal log = candidate.wal();
            if (!voters.isVoter(candidate.id()) || index <= log.baseIndex() || log.term(index) == term
                || log.holdingLostEntries()) {
                continue; // a member whose log lost synced entries does not campaign until it has them back
            }
            int supporters = 0;
            for (int v = 0; v < voters.voterCount(); v++) {
                final MemoryWal voterLog = nodeById(voters.voter(v)).wal();
                final boolean atLeastAsUpToDate = log.lastTerm() > voterLog.lastTerm()
                    || (log.lastTerm() == voterLog.lastTerm() && log.lastIndex() >= voterLog.lastIndex());
                // ... nor votes for a candidate short of the log it had.
                final long[] note = voterLog.holdingLostEntries() ? voterLog.lostEntriesNote() : new long[2];
                final boolean reachesNote = log.lastTerm() > note[1]
                    || (log.lastTerm() == note[1] && log.lastIndex() >= note[0]);
                if (atLeastAsUpToDate && reachesNote) {
                    supporters++;
                }
            }
            if (supporters >= voters.quorum()) {
                violation("commit not safe: node " + leader.id() + " committed (" + index + ", " + term
                    + ") in term " + leader.core().term() + " but node " + candidate.id() + ", whose log lacks it"
                    + " (last " + log.lastIndex() + "/" + log.lastTerm() + "), could win an election with "
                    + supporters + " of " + voters.voterCount() + " votes (§5.4.2)");
                return;
            }
        }
    }

    private SimNode nodeById(final int id) {
        for (final SimNode node : nodes) {
            if (node.id() == id) {
                return node;
            }
        }
        throw new IllegalStateException("no node " + id);
    }

    private void checkNewLeader(final SimNode node, final RaftCore core, final MemoryWal wal) {
        final long term = core.term();
        final Integer previous = leaders.putIfAbsent(term, node.id());
        if (previous != null && previous != node.id()) {
            violation("election safety: nodes " + previous + " and " + node.id() + " both led term " + term);
        }
        for (final Map.Entry<Long, long[]> entry : committed.tailMap(wal.baseIndex(), false).entrySet()) {
            final long index = entry.getKey();
            final long[] known = entry.getValue();
            if (known[2] >= term) {
                continue;
            }
            if (index > wal.lastIndex() || wal.term(index) != known[0]) {
                violation("leader completeness: node " + node.id() + " leads term " + term + " without entry ("
                    + index + ", " + known[0] + ") committed in term " + known[2] + "; its log ends at "
                    + wal.lastIndex());
                return;
            }
        }
    }

    void observeApply(final SimNode node, final long index, final long term, final long hash) {
        final long[] known = applied.putIfAbsent(index, new long[] {term, hash});
        if (known != null && (known[0] != term || known[1] != hash)) {
            violation("state machine safety: node " + node.id() + " applied (" + index + ", " + term
                + ") where another applied term " + known[0]);
        }
        final long[] commit = committed.get(index);
        if (commit != null && (commit[0] != term || commit[1] != hash)) {
            violation("node " + node.id() + " applied (" + index + ", " + term + ") but (" + index + ", "
                + commit[0] + ") is committed");
        }
    }

    /**
     * Checks a member's state fingerprint at its applied index against every other member's there.
     */
    void observeState(final SimNode node, final long index, final long fingerprint) {
        final AppliedState known = states.computeIfAbsent(index, i -> new AppliedState());
        if (!known.fingerprinted) {
            known.fingerprinted = true;
            known.fingerprint = fingerprint;
            known.fingerprintNode = node.id();
        } else if (known.fingerprint != fingerprint) {
            violation("state machine safety: node " + node.id() + " has state fingerprint " + fingerprint
                + " at applied index " + index + " where node " + known.fingerprintNode + " had "
                + known.fingerprint);
        }
    }

    /**
     * Checks a member's whole-state hash at its applied index against every other member's there.
     */
    void observeContent(final SimNode node, final long index, final long hash) {
        final AppliedState known = states.computeIfAbsent(index, i -> new AppliedState());
        if (!known.hashed) {
            known.hashed = true;
            known.hash = hash;
            known.hashNode = node.id();
        } else if (known.hash != hash) {
            violation("state machine safety: node " + node.id() + " has state hash " + Long.toHexString(hash)
                + " at applied index " + index + " where node " + known.hashNode + " had "
                + Long.toHexString(known.hash));
        }
    }

    void checkAcknowledged(final History.Op op) {
        final long[] commit = committed.get(op.index);
        final long[] apply = applied.get(op.index);
        final long term = commit != null ? commit[0] : apply != null ? apply[0] : -1;
        if (term != op.term) {
            violation("acknowledged write lost: " + op + " but index " + op.index + " holds term " + term);
        }
    }

    long committedCount() {
        return committed.size();
    }

    int leaderTerms() {
        return leaders.size();
    }
}
