package io.cairn.server.grpc;

import io.cairn.consensus.Role;
import io.cairn.engine.mvcc.MvccResponse;
import io.cairn.server.node.Node;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;

import java.util.ArrayDeque;
import java.util.function.BooleanSupplier;
import java.util.function.LongConsumer;
import java.util.function.LongSupplier;

/**
 * etcd 3.4's auto compaction ({@code --auto-compaction-mode}, {@code --auto-compaction-retention}), run by the leader
 * once a second on the node's watchdog thread (a follower's state is dropped: a new leader starts over, as etcd's
 * compactor pauses on followers). Compaction goes through Raft as a client's would.
 *
 * <ul>
 *   <li>periodic: keep the history of the last {@code retention} (a duration). The leader notes its revision every
 *       tenth of the retention, and every {@code min(retention, 1 h)} compacts at the revision it noted
 *       {@code retention} ago (none so old yet: it waits), as etcd's periodic compactor.</li>
 *   <li>revision: keep the last {@code retention} revisions; every five minutes compact at the current revision less
 *       the retention, when that moved, as etcd's revision compactor.</li>
 * </ul>
 */
public final class AutoCompactor implements Runnable {
    private static final System.Logger LOG = System.getLogger(AutoCompactor.class.getName());
    private static final long REVISION_INTERVAL_MS = 5 * 60_000L;
    private static final long HOUR_MS = 3_600_000L;

    /** How retention is counted. */
    public enum Mode {
        /** A duration. */
        PERIODIC,
        /** A number of revisions. */
        REVISION
    }

    /**
     * The flags, parsed.
     *
     * @param mode      periodic or revision.
     * @param retention milliseconds (periodic) or revisions (revision); 0 turns auto compaction off.
     */
    public record Settings(Mode mode, long retention) {
        /** Auto compaction off, etcd's default. */
        public static final Settings OFF = new Settings(Mode.PERIODIC, 0);

        /**
         * @return true when it runs.
         */
        public boolean enabled() {
            return retention > 0;
        }
    }

    private final Settings settings;
    private final LongSupplier clockMs;
    private final BooleanSupplier leading;
    private final LongSupplier revisionNow;
    private final LongConsumer compactor;
    /** Periodic: (time, revision) samples, oldest first. */
    private final ArrayDeque<long[]> samples = new ArrayDeque<>();
    private long lastSampleMs;
    private long lastCompactionMs;
    private long compactedAt;

    /**
     * @param node     the member.
     * @param settings mode and retention (enabled).
     * @param clockMs  the wall clock, in ms.
     */
    public AutoCompactor(final Node node, final Settings settings, final LongSupplier clockMs) {
        this(settings, clockMs, () -> node.role() == Role.LEADER, () -> node.read(reader -> reader.revision()),
            new Proposer(node, settings)::compact);
    }

    /**
     * @param settings    mode and retention.
     * @param clockMs     the wall clock, in ms.
     * @param leading     whether this member leads now.
     * @param revisionNow the keyspace's revision now.
     * @param compactor   compacts the keyspace at a revision.
     */
    AutoCompactor(final Settings settings, final LongSupplier clockMs, final BooleanSupplier leading,
        final LongSupplier revisionNow, final LongConsumer compactor) {
        this.settings = settings;
        this.clockMs = clockMs;
        this.leading = leading;
        this.revisionNow = revisionNow;
        this.compactor = compactor;
    }

    @Override
    public void run() {
        final long nowMs = clockMs.getAsLong();
        if (!leading.getAsBoolean()) {
            samples.clear();
            lastSampleMs = 0;
            lastCompactionMs = nowMs;
            return;
        }
        final long revision = revisionNow.getAsLong();
        if (settings.mode() == Mode.REVISION) {
            if (nowMs - lastCompactionMs >= REVISION_INTERVAL_MS) {
                lastCompactionMs = nowMs;
                compact(revision - settings.retention());
            }
            return;
        }
        final long retentionMs = settings.retention();
        if (lastSampleMs == 0 || nowMs - lastSampleMs >= Math.max(1_000, retentionMs / 10)) {
            samples.addLast(new long[] {nowMs, revision});
            lastSampleMs = nowMs;
        }
        if (nowMs - lastCompactionMs < Math.min(retentionMs, HOUR_MS)) {
            return;
        }
        long[] kept = null;
        while (!samples.isEmpty() && samples.peekFirst()[0] <= nowMs - retentionMs) {
            kept = samples.pollFirst();
        }
        if (kept != null) {
            samples.addFirst(kept); // still the newest revision old enough, until a newer one is
            lastCompactionMs = nowMs;
            compact(kept[1]);
        }
    }

    private void compact(final long revision) {
        if (revision <= compactedAt || revision <= 0) {
            return;
        }
        compactedAt = revision;
        compactor.accept(revision);
    }

    /** Compacts through Raft, as a client's Compact would, and says so in the log as etcd does. */
    private static final class Proposer {
        private final Node node;
        private final Settings settings;
        private final EtcdCommands commands = new EtcdCommands();

        Proposer(final Node node, final Settings settings) {
            this.node = node;
            this.settings = settings;
        }

        void compact(final long revision) {
            LOG.log(System.Logger.Level.INFO, "Starting auto-compaction at revision " + revision + " (retention: "
                + settings.retention() + (settings.mode() == Mode.PERIODIC ? " ms" : " revisions") + ")");
            commands.compact(revision);
            node.write(commands.buffer(), commands.length(), response -> MvccResponse.revision(response, 0),
                new StreamObserver<Long>() {
                    @Override
                    public void onNext(final Long ignored) {
                        LOG.log(System.Logger.Level.INFO, "Finished auto-compaction at revision " + revision);
                    }

                    @Override
                    public void onError(final Throwable error) {
                        final Status status = Status.fromThrowable(error);
                        LOG.log(status.getCode() == Status.Code.OUT_OF_RANGE ? System.Logger.Level.DEBUG
                            : System.Logger.Level.WARNING, "auto-compaction at revision " + revision + " failed: "
                            + status.getDescription());
                    }

                    @Override
                    public void onCompleted() {
                        // onNext said it
                    }
                });
        }
    }
}
