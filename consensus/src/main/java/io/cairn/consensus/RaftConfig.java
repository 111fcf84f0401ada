package io.cairn.consensus;

import io.cairn.engine.check.Check;

/**
 * Validated, immutable limits of one member's core. Every buffer, window and queue the core uses is sized from these
 * at construction, so nothing grows on the hot path. Build with {@link #builder(int)}.
 */
public final class RaftConfig {
    private final int nodeId;
    private final int electionTimeoutTicks;
    private final int heartbeatIntervalTicks;
    private final boolean preVote;
    private final boolean checkQuorum;
    private final int inflightMessagesMax;
    private final long inflightBytesMax;
    private final int appendBytesMax;
    private final int appendEntriesMax;
    private final int entryBytesMax;
    private final int uncommittedEntriesMax;
    private final int readRequestsMax;
    private final int snapshotChunkBytesMax;
    private final int outboxBytes;
    private final int outboxMessagesMax;

    private RaftConfig(final Builder builder) {
        nodeId = builder.nodeId;
        electionTimeoutTicks = builder.electionTimeoutTicks;
        heartbeatIntervalTicks = builder.heartbeatIntervalTicks;
        preVote = builder.preVote;
        checkQuorum = builder.checkQuorum;
        inflightMessagesMax = builder.inflightMessagesMax;
        inflightBytesMax = builder.inflightBytesMax;
        appendBytesMax = builder.appendBytesMax;
        appendEntriesMax = builder.appendEntriesMax;
        entryBytesMax = builder.entryBytesMax;
        uncommittedEntriesMax = builder.uncommittedEntriesMax;
        readRequestsMax = builder.readRequestsMax;
        snapshotChunkBytesMax = builder.snapshotChunkBytesMax;
        outboxBytes = builder.outboxBytes;
        outboxMessagesMax = builder.outboxMessagesMax;
        Check.state(nodeId != 0, "nodeId must be non-zero");
        Check.state(heartbeatIntervalTicks > 0 && electionTimeoutTicks > heartbeatIntervalTicks,
            "election timeout must exceed the heartbeat interval", electionTimeoutTicks, heartbeatIntervalTicks);
        Check.state(inflightMessagesMax > 0 && inflightBytesMax > 0, "inflight window", inflightMessagesMax);
        Check.state(appendEntriesMax > 0 && appendBytesMax > 0 && entryBytesMax > 0, "append limits",
            appendEntriesMax, appendBytesMax);
        Check.state(uncommittedEntriesMax > 0 && readRequestsMax > 0, "queue limits", uncommittedEntriesMax,
            readRequestsMax);
        Check.state(snapshotChunkBytesMax > 0, "snapshotChunkBytesMax", snapshotChunkBytesMax);
        Check.state(outboxMessagesMax > 0 && outboxBytes >= 2L * messageBytesMax(),
            "outbox must hold at least two of the largest messages", outboxBytes, messageBytesMax());
    }

    /**
     * @param nodeId this member's id (non-zero).
     * @return a builder with the defaults.
     */
    public static Builder builder(final int nodeId) {
        return new Builder(nodeId);
    }

    /**
     * @return this member's id.
     */
    public int nodeId() {
        return nodeId;
    }

    /**
     * @return ticks without a leader before an election; each timeout is drawn from {@code [this, 2 * this)}.
     */
    public int electionTimeoutTicks() {
        return electionTimeoutTicks;
    }

    /**
     * @return ticks between the leader's heartbeats.
     */
    public int heartbeatIntervalTicks() {
        return heartbeatIntervalTicks;
    }

    /**
     * @return true to run a pre-vote before each election (thesis §9.6).
     */
    public boolean preVote() {
        return preVote;
    }

    /**
     * @return true: a leader steps down without a quorum heard within an election timeout, and followers that heard
     *     a leader within one reject (pre-)votes (thesis §6.2, §4.2.3).
     */
    public boolean checkQuorum() {
        return checkQuorum;
    }

    /**
     * @return most append messages in flight to one follower (pipelining window).
     */
    public int inflightMessagesMax() {
        return inflightMessagesMax;
    }

    /**
     * @return most entry payload bytes in flight to one follower.
     */
    public long inflightBytesMax() {
        return inflightBytesMax;
    }

    /**
     * @return payload byte budget of one append message (one entry is always sent even if larger).
     */
    public int appendBytesMax() {
        return appendBytesMax;
    }

    /**
     * @return most entries in one append message.
     */
    public int appendEntriesMax() {
        return appendEntriesMax;
    }

    /**
     * @return largest payload of one entry.
     */
    public int entryBytesMax() {
        return entryBytesMax;
    }

    /**
     * @return most entries the leader holds uncommitted before {@code propose} answers {@link RaftResult#FULL}.
     */
    public int uncommittedEntriesMax() {
        return uncommittedEntriesMax;
    }

    /**
     * @return most read requests waiting at the leader, and read states per {@link Ready}.
     */
    public int readRequestsMax() {
        return readRequestsMax;
    }

    /**
     * @return largest snapshot chunk the core puts in one message.
     */
    public int snapshotChunkBytesMax() {
        return snapshotChunkBytesMax;
    }

    /**
     * @return bytes of each outbox (the immediate one and the after-persist one).
     */
    public int outboxBytes() {
        return outboxBytes;
    }

    /**
     * @return most messages in each outbox.
     */
    public int outboxMessagesMax() {
        return outboxMessagesMax;
    }

    /**
     * @return the largest message the core may encode: an append at its budget plus one entry that crosses it, or a
     *     snapshot chunk.
     */
    public int messageBytesMax() {
        // The entry crossing the budget may be a configuration entry, which no entryBytesMax limits.
        final long append = RaftMessage.APPEND_ENTRIES_OFFSET + (long)appendBytesMax
            + Math.max(entryBytesMax, Membership.ENCODED_LENGTH_MAX)
            + (long)appendEntriesMax * RaftMessage.ENTRY_HEADER_LENGTH;
        final long chunk = RaftMessage.SNAPSHOT_DATA_OFFSET + Membership.ENCODED_LENGTH_MAX + snapshotChunkBytesMax;
        return (int)Math.min(Integer.MAX_VALUE, Math.max(append, chunk));
    }

    /**
     * @param entryBytesMax the largest entry.
     * @return {@link #messageBytesMax()} of the default configuration with that entry limit (a transport sized for it
     *     carries every message the core encodes).
     */
    public static int messageBytesMaxFor(final int entryBytesMax) {
        return builder(1).entryBytesMax(entryBytesMax).outboxBytes(Integer.MAX_VALUE).build().messageBytesMax();
    }

    @Override
    public String toString() {
        return "RaftConfig{nodeId=" + nodeId + ", electionTimeoutTicks=" + electionTimeoutTicks
            + ", heartbeatIntervalTicks=" + heartbeatIntervalTicks + ", preVote=" + preVote + ", checkQuorum="
            + checkQuorum + ", inflightMessagesMax=" + inflightMessagesMax + ", appendBytesMax=" + appendBytesMax + '}';
    }

    /**
     * Collects settings; {@link #build()} validates them.
     */
    public static final class Builder {
        private final int nodeId;
        private int electionTimeoutTicks = 10;
        private int heartbeatIntervalTicks = 1;
        private boolean preVote = true;
        private boolean checkQuorum = true;
        private int inflightMessagesMax = 64;
        private long inflightBytesMax = 16L << 20;
        private int appendBytesMax = 256 << 10;
        private int appendEntriesMax = 1024;
        private int entryBytesMax = 1536 << 10;
        private int uncommittedEntriesMax = 16 << 10;
        private int readRequestsMax = 4096;
        private int snapshotChunkBytesMax = 256 << 10;
        private int outboxBytes = 32 << 20;
        private int outboxMessagesMax = 8192;

        private Builder(final int nodeId) {
            this.nodeId = nodeId;
        }

        /**
         * @param ticks see {@link RaftConfig#electionTimeoutTicks()}.
         * @return this.
         */
        public Builder electionTimeoutTicks(final int ticks) {
            electionTimeoutTicks = ticks;
            return this;
        }

        /**
         * @param ticks see {@link RaftConfig#heartbeatIntervalTicks()}.
         * @return this.
         */
        public Builder heartbeatIntervalTicks(final int ticks) {
            heartbeatIntervalTicks = ticks;
            return this;
        }

        /**
         * @param enabled see {@link RaftConfig#preVote()}.
         * @return this.
         */
        public Builder preVote(final boolean enabled) {
            preVote = enabled;
            return this;
        }

        /**
         * @param enabled see {@link RaftConfig#checkQuorum()}.
         * @return this.
         */
        public Builder checkQuorum(final boolean enabled) {
            checkQuorum = enabled;
            return this;
        }

        /**
         * @param messages see {@link RaftConfig#inflightMessagesMax()}.
         * @param bytes    see {@link RaftConfig#inflightBytesMax()}.
         * @return this.
         */
        public Builder inflight(final int messages, final long bytes) {
            inflightMessagesMax = messages;
            inflightBytesMax = bytes;
            return this;
        }

        /**
         * @param bytes   see {@link RaftConfig#appendBytesMax()}.
         * @param entries see {@link RaftConfig#appendEntriesMax()}.
         * @return this.
         */
        public Builder appendLimits(final int bytes, final int entries) {
            appendBytesMax = bytes;
            appendEntriesMax = entries;
            return this;
        }

        /**
         * @param bytes see {@link RaftConfig#entryBytesMax()}.
         * @return this.
         */
        public Builder entryBytesMax(final int bytes) {
            entryBytesMax = bytes;
            return this;
        }

        /**
         * @param entries see {@link RaftConfig#uncommittedEntriesMax()}.
         * @return this.
         */
        public Builder uncommittedEntriesMax(final int entries) {
            uncommittedEntriesMax = entries;
            return this;
        }

        /**
         * @param requests see {@link RaftConfig#readRequestsMax()}.
         * @return this.
         */
        public Builder readRequestsMax(final int requests) {
            readRequestsMax = requests;
            return this;
        }

        /**
         * @param bytes see {@link RaftConfig#snapshotChunkBytesMax()}.
         * @return this.
         */
        public Builder snapshotChunkBytesMax(final int bytes) {
            snapshotChunkBytesMax = bytes;
            return this;
        }

        /**
         * @param bytes see {@link RaftConfig#outboxBytes()}: at least twice {@link RaftConfig#messageBytesMax()}.
         * @return this.
         */
        public Builder outboxBytes(final int bytes) {
            outboxBytes = bytes;
            return this;
        }

        /**
         * @param bytes    see {@link RaftConfig#outboxBytes()}.
         * @param messages see {@link RaftConfig#outboxMessagesMax()}.
         * @return this.
         */
        public Builder outbox(final int bytes, final int messages) {
            outboxBytes = bytes;
            outboxMessagesMax = messages;
            return this;
        }

        /**
         * @return the validated configuration.
         */
        public RaftConfig build() {
            return new RaftConfig(this);
        }
    }
}
