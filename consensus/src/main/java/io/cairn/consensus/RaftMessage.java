package io.cairn.consensus;

/**
 * The wire layout of Raft's peer messages: what {@link RaftMessageEncoder} writes and {@link RaftMessageDecoder}
 * checks and reads. The transport adds its own framing and checksum around these bytes; this is what travels.
 *
 * <p>Every message starts with the same header; all fields are little-endian:
 * <pre>
 *   0      1         2         4          8          12                 20
 *   +------+---------+---------+----------+----------+------------------+----------
 *   | kind | version | flags   | from     | to       | term             | body ...
 *   | int8 | int8    | int16   | int32    | int32    | int64            |
 *   +------+---------+---------+----------+----------+------------------+----------
 * </pre>
 * Bodies, by kind (offsets from the start of the message):
 * <pre>
 *   PRE_VOTE_REQUEST, VOTE_REQUEST   20 lastLogIndex int64 | 28 lastLogTerm int64             flags: TRANSFER
 *   PRE_VOTE_RESPONSE, VOTE_RESPONSE (no body)                                              flags: REJECT
 *   APPEND                           20 prevIndex int64 | 28 prevTerm int64 | 36 commitIndex int64
 *                                    44 entryCount int32 | 48 entries, each:
 *                                       +------------+---------+-------------+-------------------+
 *                                       | term int64 | type i8 | length i32  | payload length B  |
 *                                       +------------+---------+-------------+-------------------+
 *                                    (entry k has index prevIndex + 1 + k)
 *   APPEND_RESPONSE                  20 index int64 (match on success, the rejected prevIndex on reject)
 *                                    28 hintIndex int64 | 36 hintTerm int64 (conflict hint, §5.3)  flags: REJECT
 *   HEARTBEAT                        20 commitIndex int64 | 28 context int64 (ReadIndex round, thesis §6.4)
 *   HEARTBEAT_RESPONSE               20 context int64
 *   SNAPSHOT_CHUNK                   20 snapshotIndex int64 | 28 snapshotTerm int64 | 36 totalBytes int64
 *                                    44 offset int64 | 52 checksum int32 (CRC32C of the chunk)
 *                                    56 membershipLength int32 | 60 chunkLength int32
 *                                    64 membership (see {@link Membership}) | chunk bytes       flags: LAST
 *   SNAPSHOT_RESPONSE                20 snapshotIndex int64 | 28 nextOffset int64                flags: DONE
 *   TIMEOUT_NOW                      (no body)
 *   READ_INDEX                       20 requestId int64
 *   READ_INDEX_RESPONSE              20 requestId int64 | 28 readIndex int64                     flags: REJECT
 *   PROPOSE                          20 requestId int64 | 28 entry type int8 | 29 payloadLength int32
 *                                    33 payload
 *   PROPOSE_RESPONSE                 20 requestId int64 | 28 result int64 (the entry's index, in the message's
 *                                    term; or a RaftResult refusal code, zero or negative)
 *   LOCAL                            20 requestId int64 | 28 request type int8 | 29 payloadLength int32
 *                                    33 payload (at most {@link #LOCAL_PAYLOAD_MAX} bytes)
 *   LOCAL_RESPONSE                   20 requestId int64 | 28 code int32 | 32 value int64 | 40 second int64
 * </pre>
 * LOCAL carries a request for the leader's loop duty (a lease keep-alive, a TTL question) from a follower that
 * cannot answer it; the leader's duty answers with LOCAL_RESPONSE. Neither touches the log or Raft's state.
 */
public final class RaftMessage {
    /** Version of this layout; a message of another version is dropped and counted. */
    public static final byte VERSION = 1;

    /** PreVote request (thesis §9.6): "would you vote for me in term + 1?"; the sender's term is unchanged. */
    public static final byte PRE_VOTE_REQUEST = 1;
    /** PreVote response. */
    public static final byte PRE_VOTE_RESPONSE = 2;
    /** RequestVote (§5.2). */
    public static final byte VOTE_REQUEST = 3;
    /** RequestVote response. */
    public static final byte VOTE_RESPONSE = 4;
    /** AppendEntries with zero or more entries (§5.3). */
    public static final byte APPEND = 5;
    /** AppendEntries response. */
    public static final byte APPEND_RESPONSE = 6;
    /** Heartbeat: keeps followers from campaigning, carries commit and the ReadIndex round. */
    public static final byte HEARTBEAT = 7;
    /** Heartbeat response. */
    public static final byte HEARTBEAT_RESPONSE = 8;
    /** One chunk of InstallSnapshot (§7). */
    public static final byte SNAPSHOT_CHUNK = 9;
    /** InstallSnapshot response: the offset the receiver expects next. */
    public static final byte SNAPSHOT_RESPONSE = 10;
    /** TimeoutNow: start an election at once (leadership transfer, thesis §3.10). */
    public static final byte TIMEOUT_NOW = 11;
    /** A follower forwards a read to the leader (thesis §6.4). */
    public static final byte READ_INDEX = 12;
    /** The leader's answer: the read index, or a rejection. */
    public static final byte READ_INDEX_RESPONSE = 13;
    /** A follower forwards a client's proposal to the leader (etcd's MsgProp). */
    public static final byte PROPOSE = 14;
    /** The leader's answer: the index it gave the entry, or why not. */
    public static final byte PROPOSE_RESPONSE = 15;
    /** A follower relays a request for the leader's loop duty (a lease keep-alive). */
    public static final byte LOCAL = 16;
    /** The leader duty's answer to a relayed request. */
    public static final byte LOCAL_RESPONSE = 17;
    /** Highest kind this version knows. */
    public static final byte KIND_MAX = LOCAL_RESPONSE;

    /** Vote request: a leadership transfer, so followers ignore their leader lease (thesis §3.10, §4.2.3). */
    public static final short FLAG_TRANSFER = 1;
    /** Response: refused. */
    public static final short FLAG_REJECT = 2;
    /** Snapshot chunk: the last one. */
    public static final short FLAG_LAST = 4;
    /** Snapshot response: installed. */
    public static final short FLAG_DONE = 8;

    static final int KIND_OFFSET = 0;
    static final int VERSION_OFFSET = 1;
    static final int FLAGS_OFFSET = 2;
    static final int FROM_OFFSET = 4;
    static final int TO_OFFSET = 8;
    static final int TERM_OFFSET = 12;
    /** Bytes of the common header. */
    public static final int HEADER_LENGTH = 20;

    static final int VOTE_LAST_INDEX_OFFSET = 20;
    static final int VOTE_LAST_TERM_OFFSET = 28;
    static final int VOTE_REQUEST_LENGTH = 36;

    static final int APPEND_PREV_INDEX_OFFSET = 20;
    static final int APPEND_PREV_TERM_OFFSET = 28;
    static final int APPEND_COMMIT_OFFSET = 36;
    static final int APPEND_ENTRY_COUNT_OFFSET = 44;
    /** Where an append's first entry starts. */
    public static final int APPEND_ENTRIES_OFFSET = 48;
    static final int ENTRY_TERM_OFFSET = 0;
    static final int ENTRY_TYPE_OFFSET = 8;
    static final int ENTRY_LENGTH_OFFSET = 9;
    /** Bytes before each entry's payload. */
    public static final int ENTRY_HEADER_LENGTH = 13;

    static final int APPEND_RESPONSE_INDEX_OFFSET = 20;
    static final int APPEND_RESPONSE_HINT_INDEX_OFFSET = 28;
    static final int APPEND_RESPONSE_HINT_TERM_OFFSET = 36;
    static final int APPEND_RESPONSE_LENGTH = 44;

    static final int HEARTBEAT_COMMIT_OFFSET = 20;
    static final int HEARTBEAT_CONTEXT_OFFSET = 28;
    static final int HEARTBEAT_LENGTH = 36;
    static final int HEARTBEAT_RESPONSE_CONTEXT_OFFSET = 20;
    static final int HEARTBEAT_RESPONSE_LENGTH = 28;

    static final int SNAPSHOT_INDEX_OFFSET = 20;
    static final int SNAPSHOT_TERM_OFFSET = 28;
    static final int SNAPSHOT_TOTAL_BYTES_OFFSET = 36;
    static final int SNAPSHOT_OFFSET_OFFSET = 44;
    static final int SNAPSHOT_CHECKSUM_OFFSET = 52;
    static final int SNAPSHOT_MEMBERSHIP_LENGTH_OFFSET = 56;
    static final int SNAPSHOT_CHUNK_LENGTH_OFFSET = 60;
    /** Where a snapshot chunk's membership starts; the chunk bytes follow it. */
    public static final int SNAPSHOT_DATA_OFFSET = 64;

    static final int SNAPSHOT_RESPONSE_INDEX_OFFSET = 20;
    static final int SNAPSHOT_RESPONSE_NEXT_OFFSET = 28;
    static final int SNAPSHOT_RESPONSE_LENGTH = 36;

    static final int READ_REQUEST_ID_OFFSET = 20;
    static final int READ_INDEX_REQUEST_LENGTH = 28;
    static final int READ_INDEX_OFFSET = 28;
    static final int READ_INDEX_RESPONSE_LENGTH = 36;

    static final int PROPOSE_REQUEST_ID_OFFSET = 20;
    static final int PROPOSE_TYPE_OFFSET = 28;
    static final int PROPOSE_PAYLOAD_LENGTH_OFFSET = 29;
    /** Where a forwarded proposal's payload starts. */
    public static final int PROPOSE_PAYLOAD_OFFSET = 33;
    static final int PROPOSE_RESULT_OFFSET = 28;
    static final int PROPOSE_RESPONSE_LENGTH = 36;

    // LOCAL has PROPOSE's layout (one encoder and one validation serve both).
    static final int LOCAL_REQUEST_ID_OFFSET = PROPOSE_REQUEST_ID_OFFSET;
    static final int LOCAL_TYPE_OFFSET = PROPOSE_TYPE_OFFSET;
    static final int LOCAL_PAYLOAD_LENGTH_OFFSET = PROPOSE_PAYLOAD_LENGTH_OFFSET;
    /** Where a relayed request's payload starts. */
    public static final int LOCAL_PAYLOAD_OFFSET = PROPOSE_PAYLOAD_OFFSET;
    /**
     * Largest payload of a relayed request: a membership change with its attributes
     * ({@link Membership#ATTRIBUTES_BYTES_MAX}) and a header; a lease keep-alive needs 8 bytes.
     */
    public static final int LOCAL_PAYLOAD_MAX = Membership.ATTRIBUTES_BYTES_MAX + 64;
    static final int LOCAL_CODE_OFFSET = 28;
    static final int LOCAL_VALUE_OFFSET = 32;
    static final int LOCAL_SECOND_OFFSET = 40;
    static final int LOCAL_RESPONSE_LENGTH = 48;

    /**
     * The kind of a message, unchecked (for a glance at traffic, not for decoding: {@link RaftMessageDecoder}).
     *
     * @param buffer the message's buffer.
     * @param offset where it starts (at least {@link #HEADER_LENGTH} bytes).
     * @return its kind byte.
     */
    public static byte kindOf(final org.agrona.DirectBuffer buffer, final int offset) {
        return buffer.getByte(offset + KIND_OFFSET);
    }

    /**
     * The sender of a message, unchecked, as {@link #kindOf}.
     *
     * @param buffer the message's buffer.
     * @param offset where it starts (at least {@link #HEADER_LENGTH} bytes).
     * @return the sender's member ID.
     */
    public static int fromOf(final org.agrona.DirectBuffer buffer, final int offset) {
        return buffer.getInt(offset + FROM_OFFSET, java.nio.ByteOrder.LITTLE_ENDIAN);
    }

    private RaftMessage() {
    }

    /**
     * @param kind a kind constant.
     * @return its name, for logs and tests.
     */
    public static String kindName(final int kind) {
        switch (kind) {
            case PRE_VOTE_REQUEST: return "PRE_VOTE_REQUEST";
            case PRE_VOTE_RESPONSE: return "PRE_VOTE_RESPONSE";
            case VOTE_REQUEST: return "VOTE_REQUEST";
            case VOTE_RESPONSE: return "VOTE_RESPONSE";
            case APPEND: return "APPEND";
            case APPEND_RESPONSE: return "APPEND_RESPONSE";
            case HEARTBEAT: return "HEARTBEAT";
            case HEARTBEAT_RESPONSE: return "HEARTBEAT_RESPONSE";
            case SNAPSHOT_CHUNK: return "SNAPSHOT_CHUNK";
            case SNAPSHOT_RESPONSE: return "SNAPSHOT_RESPONSE";
            case TIMEOUT_NOW: return "TIMEOUT_NOW";
            case READ_INDEX: return "READ_INDEX";
            case READ_INDEX_RESPONSE: return "READ_INDEX_RESPONSE";
            case PROPOSE: return "PROPOSE";
            case PROPOSE_RESPONSE: return "PROPOSE_RESPONSE";
            case LOCAL: return "LOCAL";
            case LOCAL_RESPONSE: return "LOCAL_RESPONSE";
            default: return "UNKNOWN(" + kind + ")";
        }
    }
}
