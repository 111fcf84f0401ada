package io.cairn.embedded;

import io.cairn.consensus.RaftCore;
import io.cairn.consensus.RaftResult;
import io.cairn.consensus.Role;
import io.cairn.consensus.loop.LoopDuty;
import io.cairn.consensus.loop.RaftRequests;
import io.cairn.embedded.cluster.ClusterView;
import io.cairn.engine.mvcc.CommandEncoder;
import io.cairn.engine.mvcc.MvccCommand;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.ByteOrder;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Members compare their keyspaces while they run (etcd's corruption check, {@code --experimental-corrupt-check-time}),
 * and a mismatch raises etcd's CORRUPT alarm, which stops every write on every member until an operator disarms it.
 *
 * <p>Each follower, soon after it starts and then once per interval, hashes its keyspace at its own applied revision
 * ({@code MvccReader.hashKv}: the history up to that revision, the same on every member that applied the same log)
 * and sends (applied index, revision, compact revision, hash) to the leader inside Raft (a LOCAL request, as lease
 * keep-alives travel). The leader, once it has applied at least as far, hashes its own history at that revision — it
 * has it unless compaction took it — and answers MATCH, MISMATCH or NOT_COMPARABLE (another compaction point, an
 * index it has not applied yet). A follower whose revision is above the leader's although the leader applied at
 * least as far is a mismatch too (revisions grow with the log: the follower's store holds writes the log does not,
 * as etcd's check has it: a follower's revision must not exceed the leader's). On a mismatch it
 * names the odd member: the reporting follower if a majority of voters (the leader and the followers whose latest
 * report matched) agree, the leader itself if a majority of voters disagree with it, otherwise the follower (etcd's
 * choice) with a warning that it cannot yet tell; and proposes the alarm for that member. A follower hears the
 * verdict and logs a mismatch as an error. Start-up counts as a check: a member restarted with a damaged store is
 * compared within {@link #FIRST_CHECK_MS} of knowing a leader.
 *
 * <p>The hashing runs on the node's pool, never on the loop; the loop only relays. Requests and verdicts are LOCAL
 * frames: as unauthenticated as every peer frame until the security issue authenticates them.
 */
final class CorruptionCheck implements LoopDuty {
    /** A follower's report: to relay (follower's loop) or to judge (leader). */
    static final byte REPORT = MembershipRelay.ANSWER + 1;
    /** The leader's pool has a verdict for a report: send it. */
    static final byte VERDICT = REPORT + 1;
    /** Same hash at the same revision. */
    static final int MATCH = 0;
    /** Different hash at the same revision and compaction point: CORRUPT raised. */
    static final int MISMATCH = 1;
    /** Not comparable now (compaction points differ, or the leader has not applied that revision yet). */
    static final int NOT_COMPARABLE = 2;
    /** The first check after a member knows a leader. */
    static final long FIRST_CHECK_MS = 5_000;
    private static final System.Logger LOG = System.getLogger(CorruptionCheck.class.getName());
    private static final int REPORT_BYTES = 4 * Long.BYTES;
    /** A follower's verdict counts as evidence this long (in intervals). */
    private static final int EVIDENCE_INTERVALS = 3;

    private record Verdict(int code, long atNs) {
    }

    private final CairnNode node;
    private final Requests requests;
    private final long intervalNs;
    private final Map<Integer, Verdict> verdicts = new ConcurrentHashMap<>();
    private final AtomicBoolean reporting = new AtomicBoolean();
    private final AtomicLong checks = new AtomicLong();
    private final AtomicLong mismatches = new AtomicLong();
    private volatile RaftRequests loop;
    private volatile long reportId;
    private volatile long reportSentNs;
    private volatile long nextReportNs = Long.MAX_VALUE;
    private volatile int lastVerdict = -1;

    /**
     * @param node       the member.
     * @param requests   its correlation IDs.
     * @param intervalMs between a follower's reports.
     */
    CorruptionCheck(final CairnNode node, final Requests requests, final long intervalMs) {
        this.node = node;
        this.requests = requests;
        this.intervalNs = TimeUnit.MILLISECONDS.toNanos(intervalMs);
    }

    /**
     * @param requests the loop's request ring (set once the member is built).
     */
    void attach(final RaftRequests requests) {
        this.loop = requests;
    }

    /**
     * @return checks judged: on a leader, reports it compared; on a follower, verdicts it heard.
     */
    long checks() {
        return checks.get();
    }

    /**
     * @return mismatches found (leader) or heard (follower).
     */
    long mismatches() {
        return mismatches.get();
    }

    /**
     * @return the last verdict this follower heard ({@link #MATCH}, ...), -1 before the first.
     */
    int lastVerdict() {
        return lastVerdict;
    }

    /**
     * The watchdog's tick: a follower that knows a leader reports when its time has come.
     *
     * @param nowNs the node's clock.
     */
    void tick(final long nowNs) {
        if (node.isClosed() || node.role() == Role.LEADER || node.leaderId() == 0) {
            nextReportNs = Long.MAX_VALUE; // a new leader or a lost one: check again soon after one is known
            return;
        }
        if (nextReportNs == Long.MAX_VALUE) {
            nextReportNs = nowNs + Math.min(intervalNs, TimeUnit.MILLISECONDS.toNanos(FIRST_CHECK_MS));
        }
        if (reporting.get() && nowNs - reportSentNs > TimeUnit.MILLISECONDS.toNanos(2 * Requests.REQUEST_TIMEOUT_MS)) {
            reporting.set(false); // the report or its verdict was lost with a leader: report again
            nextReportNs = nowNs;
        }
        if (nowNs - nextReportNs < 0 || !reporting.compareAndSet(false, true)) {
            return;
        }
        try {
            node.executor().execute(() -> {
                try {
                    report();
                } catch (final RuntimeException ex) {
                    LOG.log(System.Logger.Level.WARNING, "member " + node.config().name() + ": hashing for the"
                        + " corruption check failed", ex);
                    finish(System.nanoTime());
                }
            });
        } catch (final RejectedExecutionException closing) {
            reporting.set(false);
        }
    }

    // On the pool: hash this member's keyspace and offer the report to the loop.
    private void report() {
        final long[] hashed = node.read(reader -> new long[] {reader.appliedIndex(), reader.revision(),
            reader.compactRevision(), reader.hashKv(reader.revision())});
        final UnsafeBuffer payload = new UnsafeBuffer(new byte[REPORT_BYTES]);
        for (int i = 0; i < hashed.length; i++) {
            payload.putLong(i * Long.BYTES, hashed[i], ByteOrder.LITTLE_ENDIAN);
        }
        final long id = requests.nextId();
        reportId = id;
        reportSentNs = System.nanoTime();
        final RaftRequests requests = loop;
        if (requests == null || !requests.offerLocal(id, REPORT, payload, 0, REPORT_BYTES)) {
            finish(System.nanoTime());
        }
    }

    private void finish(final long nowNs) {
        nextReportNs = nowNs + intervalNs;
        reporting.set(false);
    }

    @Override
    public int doWork(final long nowNs, final RaftCore core) {
        return 0;
    }

    @Override
    public void onLocalRequest(final long correlationId, final byte type, final DirectBuffer buffer, final int offset,
        final int length, final long nowNs, final RaftCore core) {
        if (type == VERDICT) {
            RelayAnswer.send(core, correlationId, buffer, offset);
            return;
        }
        if (core.forwardLocal(correlationId, REPORT, buffer, offset, length) != RaftResult.ACCEPTED
            && correlationId == reportId) {
            finish(nowNs); // no leader to ask now: the next interval will
        }
    }

    @Override
    public void onPeerRequest(final int from, final long requestId, final byte type, final DirectBuffer buffer,
        final int offset, final int length, final long nowNs, final RaftCore core) {
        if (type != REPORT || length != REPORT_BYTES || core.role() != Role.LEADER) {
            core.answerLocal(from, requestId, NOT_COMPARABLE, 0, 0);
            return;
        }
        final long appliedIndex = buffer.getLong(offset, ByteOrder.LITTLE_ENDIAN);
        final long revision = buffer.getLong(offset + Long.BYTES, ByteOrder.LITTLE_ENDIAN);
        final long compactRevision = buffer.getLong(offset + 2 * Long.BYTES, ByteOrder.LITTLE_ENDIAN);
        final long hash = buffer.getLong(offset + 3 * Long.BYTES, ByteOrder.LITTLE_ENDIAN);
        try {
            node.executor().execute(() -> judge(from, requestId, appliedIndex, revision, compactRevision, hash));
        } catch (final RejectedExecutionException closing) {
            core.answerLocal(from, requestId, NOT_COMPARABLE, 0, 0);
        }
    }

    @Override
    public void onPeerAnswer(final long requestId, final int code, final long value, final long second) {
        if (requestId != reportId || !reporting.get()) {
            return; // another duty's answer, or a late one
        }
        lastVerdict = code;
        checks.incrementAndGet();
        if (code == MISMATCH) {
            mismatches.incrementAndGet();
            LOG.log(System.Logger.Level.ERROR, "member " + node.config().name() + ": the leader's keyspace hash at"
                + " revision " + second + " differs from this member's: the CORRUPT alarm is raised and writes are"
                + " refused until an operator disarms it (compare `etcdctl endpoint hashkv --cluster`)");
        }
        finish(System.nanoTime());
    }

    // On the leader's pool: compare a follower's hash with this member's at the same revision.
    private void judge(final int from, final long requestId, final long appliedIndex, final long revision,
        final long compactRevision, final long hash) {
        final long[] own = node.read(reader -> {
            if (reader.appliedIndex() < appliedIndex) {
                return new long[] {NOT_COMPARABLE, 0}; // the follower applied more than this leader has yet
            }
            if (revision > reader.revision()) {
                // Revisions grow with the log: at a later entry of the same log the leader cannot be behind.
                return new long[] {MISMATCH, reader.revision()};
            }
            if (reader.compactRevision() != compactRevision || revision < reader.compactRevision()) {
                return new long[] {NOT_COMPARABLE, 0};
            }
            final long mine = reader.hashKv(revision);
            return new long[] {mine == hash ? MATCH : MISMATCH, mine};
        });
        final int code = (int)own[0];
        final long nowNs = System.nanoTime();
        if (code != NOT_COMPARABLE) {
            checks.incrementAndGet();
            verdicts.put(from, new Verdict(code, nowNs));
        }
        if (code == MISMATCH) {
            mismatches.incrementAndGet();
            raiseFor(from, revision, hash, own[1], nowNs);
        }
        RelayAnswer.offer(loop, requestId, VERDICT, from, code, own[1], revision); // lost: the follower re-reports
    }

    /** Names the odd member from the evidence (see the class comment) and proposes CORRUPT for it. */
    private void raiseFor(final int follower, final long revision, final long theirs, final long mine,
        final long nowNs) {
        final ClusterView view = node.view();
        int voters = 0;
        int agree = 0;
        int disagree = 0;
        for (final ClusterView.Member member : view.members()) {
            if (member.learner()) {
                continue;
            }
            voters++;
            if (member.id() == node.selfId()) {
                agree++;
                continue;
            }
            final Verdict verdict = verdicts.get(member.id());
            if (verdict != null && nowNs - verdict.atNs() < EVIDENCE_INTERVALS * intervalNs) {
                if (verdict.code() == MATCH) {
                    agree++;
                } else {
                    disagree++;
                }
            }
        }
        final int quorum = voters / 2 + 1;
        final int odd = agree >= quorum || disagree < quorum ? follower : node.selfId();
        LOG.log(System.Logger.Level.ERROR, "member " + node.config().name() + " (leader): keyspace hash mismatch at"
            + " revision " + revision + ": member " + Integer.toHexString(follower) + " has "
            + Long.toHexString(theirs) + ", this member " + Long.toHexString(mine) + "; " + agree + " of " + voters
            + " voters agree with the leader, " + disagree + " do not: raising CORRUPT for member "
            + Integer.toHexString(odd) + (agree >= quorum || disagree >= quorum ? ""
            : " (too few reports yet to tell which member is odd)"));
        final CommandEncoder encoder = new CommandEncoder();
        encoder.alarm(MvccCommand.ALARM_ACTIVATE, MvccCommand.ALARM_CORRUPT, odd);
        node.write(encoder.buffer(), encoder.length()).whenComplete((response, error) -> {
            if (error != null) {
                LOG.log(System.Logger.Level.WARNING, "raising CORRUPT failed (the next report retries)", error);
            }
        });
    }

}
