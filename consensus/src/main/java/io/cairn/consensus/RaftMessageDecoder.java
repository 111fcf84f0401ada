package io.cairn.consensus;

import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.ByteOrder;

import static io.cairn.consensus.RaftMessage.APPEND;
import static io.cairn.consensus.RaftMessage.APPEND_COMMIT_OFFSET;
import static io.cairn.consensus.RaftMessage.APPEND_ENTRIES_OFFSET;
import static io.cairn.consensus.RaftMessage.APPEND_ENTRY_COUNT_OFFSET;
import static io.cairn.consensus.RaftMessage.APPEND_PREV_INDEX_OFFSET;
import static io.cairn.consensus.RaftMessage.APPEND_PREV_TERM_OFFSET;
import static io.cairn.consensus.RaftMessage.APPEND_RESPONSE;
import static io.cairn.consensus.RaftMessage.APPEND_RESPONSE_HINT_INDEX_OFFSET;
import static io.cairn.consensus.RaftMessage.APPEND_RESPONSE_HINT_TERM_OFFSET;
import static io.cairn.consensus.RaftMessage.APPEND_RESPONSE_INDEX_OFFSET;
import static io.cairn.consensus.RaftMessage.APPEND_RESPONSE_LENGTH;
import static io.cairn.consensus.RaftMessage.ENTRY_HEADER_LENGTH;
import static io.cairn.consensus.RaftMessage.ENTRY_LENGTH_OFFSET;
import static io.cairn.consensus.RaftMessage.ENTRY_TERM_OFFSET;
import static io.cairn.consensus.RaftMessage.ENTRY_TYPE_OFFSET;
import static io.cairn.consensus.RaftMessage.FLAGS_OFFSET;
import static io.cairn.consensus.RaftMessage.FROM_OFFSET;
import static io.cairn.consensus.RaftMessage.HEADER_LENGTH;
import static io.cairn.consensus.RaftMessage.HEARTBEAT;
import static io.cairn.consensus.RaftMessage.HEARTBEAT_COMMIT_OFFSET;
import static io.cairn.consensus.RaftMessage.HEARTBEAT_CONTEXT_OFFSET;
import static io.cairn.consensus.RaftMessage.HEARTBEAT_LENGTH;
import static io.cairn.consensus.RaftMessage.HEARTBEAT_RESPONSE;
import static io.cairn.consensus.RaftMessage.HEARTBEAT_RESPONSE_CONTEXT_OFFSET;
import static io.cairn.consensus.RaftMessage.HEARTBEAT_RESPONSE_LENGTH;
import static io.cairn.consensus.RaftMessage.KIND_MAX;
import static io.cairn.consensus.RaftMessage.KIND_OFFSET;
import static io.cairn.consensus.RaftMessage.PRE_VOTE_REQUEST;
import static io.cairn.consensus.RaftMessage.PRE_VOTE_RESPONSE;
import static io.cairn.consensus.RaftMessage.LOCAL;
import static io.cairn.consensus.RaftMessage.LOCAL_CODE_OFFSET;
import static io.cairn.consensus.RaftMessage.LOCAL_PAYLOAD_LENGTH_OFFSET;
import static io.cairn.consensus.RaftMessage.LOCAL_PAYLOAD_MAX;
import static io.cairn.consensus.RaftMessage.LOCAL_REQUEST_ID_OFFSET;
import static io.cairn.consensus.RaftMessage.LOCAL_RESPONSE;
import static io.cairn.consensus.RaftMessage.LOCAL_RESPONSE_LENGTH;
import static io.cairn.consensus.RaftMessage.LOCAL_SECOND_OFFSET;
import static io.cairn.consensus.RaftMessage.LOCAL_TYPE_OFFSET;
import static io.cairn.consensus.RaftMessage.LOCAL_VALUE_OFFSET;
import static io.cairn.consensus.RaftMessage.PROPOSE;
import static io.cairn.consensus.RaftMessage.PROPOSE_PAYLOAD_LENGTH_OFFSET;
import static io.cairn.consensus.RaftMessage.PROPOSE_PAYLOAD_OFFSET;
import static io.cairn.consensus.RaftMessage.PROPOSE_REQUEST_ID_OFFSET;
import static io.cairn.consensus.RaftMessage.PROPOSE_RESPONSE_LENGTH;
import static io.cairn.consensus.RaftMessage.PROPOSE_RESULT_OFFSET;
import static io.cairn.consensus.RaftMessage.PROPOSE_TYPE_OFFSET;
import static io.cairn.consensus.RaftMessage.READ_INDEX;
import static io.cairn.consensus.RaftMessage.READ_INDEX_OFFSET;
import static io.cairn.consensus.RaftMessage.READ_INDEX_REQUEST_LENGTH;
import static io.cairn.consensus.RaftMessage.READ_INDEX_RESPONSE;
import static io.cairn.consensus.RaftMessage.READ_INDEX_RESPONSE_LENGTH;
import static io.cairn.consensus.RaftMessage.READ_REQUEST_ID_OFFSET;
import static io.cairn.consensus.RaftMessage.SNAPSHOT_CHECKSUM_OFFSET;
import static io.cairn.consensus.RaftMessage.SNAPSHOT_CHUNK;
import static io.cairn.consensus.RaftMessage.SNAPSHOT_CHUNK_LENGTH_OFFSET;
import static io.cairn.consensus.RaftMessage.SNAPSHOT_DATA_OFFSET;
import static io.cairn.consensus.RaftMessage.SNAPSHOT_INDEX_OFFSET;
import static io.cairn.consensus.RaftMessage.SNAPSHOT_MEMBERSHIP_LENGTH_OFFSET;
import static io.cairn.consensus.RaftMessage.SNAPSHOT_OFFSET_OFFSET;
import static io.cairn.consensus.RaftMessage.SNAPSHOT_RESPONSE;
import static io.cairn.consensus.RaftMessage.SNAPSHOT_RESPONSE_LENGTH;
import static io.cairn.consensus.RaftMessage.SNAPSHOT_RESPONSE_NEXT_OFFSET;
import static io.cairn.consensus.RaftMessage.SNAPSHOT_TERM_OFFSET;
import static io.cairn.consensus.RaftMessage.SNAPSHOT_TOTAL_BYTES_OFFSET;
import static io.cairn.consensus.RaftMessage.TERM_OFFSET;
import static io.cairn.consensus.RaftMessage.TIMEOUT_NOW;
import static io.cairn.consensus.RaftMessage.TO_OFFSET;
import static io.cairn.consensus.RaftMessage.VERSION;
import static io.cairn.consensus.RaftMessage.VERSION_OFFSET;
import static io.cairn.consensus.RaftMessage.VOTE_LAST_INDEX_OFFSET;
import static io.cairn.consensus.RaftMessage.VOTE_LAST_TERM_OFFSET;
import static io.cairn.consensus.RaftMessage.VOTE_REQUEST;
import static io.cairn.consensus.RaftMessage.VOTE_REQUEST_LENGTH;
import static io.cairn.consensus.RaftMessage.VOTE_RESPONSE;

/**
 * Reads peer messages in the layout of {@link RaftMessage}. {@link #wrap} checks the whole message before any field
 * is read — header, version, kind, the body's length, and for appends every entry's framing, type and term — so that
 * the core can trust the accessors afterwards; anything else is reported as a code and the message dropped.
 */
public final class RaftMessageDecoder {
    /** The message is whole and well formed. */
    public static final int OK = 0;
    /** Fewer bytes than the header or the kind's body needs. */
    public static final int TRUNCATED = 1;
    /** A version this code does not speak. */
    public static final int BAD_VERSION = 2;
    /** A kind this version does not know. */
    public static final int UNKNOWN_KIND = 3;
    /** Lengths or counts that contradict the message's size, or trailing bytes. */
    public static final int BAD_LENGTH = 4;
    /** Field values no correct sender writes (unknown entry type, entry terms out of order, bad membership). */
    public static final int BAD_FIELD = 5;

    private final UnsafeBuffer buffer = new UnsafeBuffer(0, 0);
    private final Membership membershipScratch = new Membership();
    private int length;

    /**
     * Points the decoder at a message and validates it.
     *
     * @param source the bytes.
     * @param offset where the message starts.
     * @param length its length.
     * @return {@link #OK} or why the message is malformed.
     */
    public int wrap(final DirectBuffer source, final int offset, final int length) {
        if (length < HEADER_LENGTH || offset < 0 || offset > source.capacity() - length) {
            this.length = 0;
            return TRUNCATED;
        }
        buffer.wrap(source, offset, length);
        this.length = length;
        if (buffer.getByte(VERSION_OFFSET) != VERSION) {
            return BAD_VERSION;
        }
        final byte kind = kind();
        if (kind < PRE_VOTE_REQUEST || kind > KIND_MAX) {
            return UNKNOWN_KIND;
        }
        if (term() < 0) {
            return BAD_FIELD;
        }
        switch (kind) {
            case PRE_VOTE_REQUEST:
            case VOTE_REQUEST:
                return exact(VOTE_REQUEST_LENGTH);
            case PRE_VOTE_RESPONSE:
            case VOTE_RESPONSE:
            case TIMEOUT_NOW:
                return exact(HEADER_LENGTH);
            case APPEND:
                return validateAppend();
            case APPEND_RESPONSE:
                return exact(APPEND_RESPONSE_LENGTH);
            case HEARTBEAT:
                return exact(HEARTBEAT_LENGTH);
            case HEARTBEAT_RESPONSE:
                return exact(HEARTBEAT_RESPONSE_LENGTH);
            case SNAPSHOT_CHUNK:
                return validateSnapshotChunk();
            case SNAPSHOT_RESPONSE:
                return exact(SNAPSHOT_RESPONSE_LENGTH);
            case READ_INDEX:
                return exact(READ_INDEX_REQUEST_LENGTH);
            case READ_INDEX_RESPONSE:
                return exact(READ_INDEX_RESPONSE_LENGTH);
            case PROPOSE:
                return validateRequest(Integer.MAX_VALUE);
            case LOCAL:
                return validateRequest(LOCAL_PAYLOAD_MAX);
            case LOCAL_RESPONSE:
                return exact(LOCAL_RESPONSE_LENGTH);
            default:
                return exact(PROPOSE_RESPONSE_LENGTH);
        }
    }

    // PROPOSE and LOCAL: request ID, type, payload length, payload (LOCAL's at most LOCAL_PAYLOAD_MAX).
    private int validateRequest(final int payloadMax) {
        if (length < PROPOSE_PAYLOAD_OFFSET) {
            return TRUNCATED;
        }
        final int payloadLength = proposePayloadLength();
        if (payloadLength < 0 || payloadLength > payloadMax) {
            return BAD_LENGTH;
        }
        return exact(PROPOSE_PAYLOAD_OFFSET + payloadLength);
    }

    private int exact(final int expected) {
        if (length < expected) {
            return TRUNCATED;
        }
        return length == expected ? OK : BAD_LENGTH;
    }

    private int validateAppend() {
        if (length < APPEND_ENTRIES_OFFSET) {
            return TRUNCATED;
        }
        final int count = entryCount();
        final long prevTerm = prevLogTerm();
        if (count < 0 || count > (length - APPEND_ENTRIES_OFFSET) / ENTRY_HEADER_LENGTH || prevLogIndex() < 0
            || prevTerm < 0 || prevTerm > term() || commitIndex() < 0) {
            return count < 0 ? BAD_LENGTH : BAD_FIELD;
        }
        int position = APPEND_ENTRIES_OFFSET;
        long previous = prevTerm;
        for (int i = 0; i < count; i++) {
            if (position > length - ENTRY_HEADER_LENGTH) {
                return TRUNCATED;
            }
            final long entryTerm = buffer.getLong(position + ENTRY_TERM_OFFSET, ByteOrder.LITTLE_ENDIAN);
            final byte type = buffer.getByte(position + ENTRY_TYPE_OFFSET);
            final int payloadLength = buffer.getInt(position + ENTRY_LENGTH_OFFSET, ByteOrder.LITTLE_ENDIAN);
            if (payloadLength < 0 || payloadLength > length - position - ENTRY_HEADER_LENGTH) {
                return payloadLength < 0 ? BAD_LENGTH : TRUNCATED;
            }
            // Raft's logs hold non-decreasing terms, none above the sender's (§5.3); WAL appends rely on it.
            if (entryTerm < Math.max(previous, 1) || entryTerm > term() || !EntryType.isKnown(type)
                || (type == EntryType.CONFIG
                && !membershipScratch.decode(buffer, position + ENTRY_HEADER_LENGTH, payloadLength))) {
                return BAD_FIELD;
            }
            previous = entryTerm;
            position += ENTRY_HEADER_LENGTH + payloadLength;
        }
        return position == length ? OK : BAD_LENGTH;
    }

    private int validateSnapshotChunk() {
        if (length < SNAPSHOT_DATA_OFFSET) {
            return TRUNCATED;
        }
        final int membershipLength = snapshotMembershipLength();
        final int chunkLength = snapshotChunkLength();
        if (membershipLength < 0 || chunkLength < 0) {
            return BAD_LENGTH;
        }
        if ((long)SNAPSHOT_DATA_OFFSET + membershipLength + chunkLength != length) {
            return (long)SNAPSHOT_DATA_OFFSET + membershipLength + chunkLength > length ? TRUNCATED : BAD_LENGTH;
        }
        if (snapshotIndex() <= 0 || snapshotTerm() <= 0 || snapshotTerm() > term() || snapshotOffset() < 0
            || snapshotTotalBytes() < snapshotOffset() + chunkLength
            || !membershipScratch.decode(buffer, SNAPSHOT_DATA_OFFSET, membershipLength)) {
            return BAD_FIELD;
        }
        return OK;
    }

    /**
     * @return the wrapped message (valid after {@link #wrap}).
     */
    public DirectBuffer buffer() {
        return buffer;
    }

    /**
     * @return the wrapped message's length.
     */
    public int length() {
        return length;
    }

    /**
     * @return message kind.
     */
    public byte kind() {
        return buffer.getByte(KIND_OFFSET);
    }

    /**
     * @param flag a {@code FLAG_*} bit.
     * @return true if it is set.
     */
    public boolean hasFlag(final short flag) {
        return (buffer.getShort(FLAGS_OFFSET, ByteOrder.LITTLE_ENDIAN) & flag) != 0;
    }

    /**
     * @return sender.
     */
    public int from() {
        return buffer.getInt(FROM_OFFSET, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @return receiver.
     */
    public int to() {
        return buffer.getInt(TO_OFFSET, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @return sender's term.
     */
    public long term() {
        return buffer.getLong(TERM_OFFSET, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @return vote request: the candidate's last log index.
     */
    public long lastLogIndex() {
        return buffer.getLong(VOTE_LAST_INDEX_OFFSET, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @return vote request: the candidate's last log term.
     */
    public long lastLogTerm() {
        return buffer.getLong(VOTE_LAST_TERM_OFFSET, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @return append: index before the first entry.
     */
    public long prevLogIndex() {
        return buffer.getLong(APPEND_PREV_INDEX_OFFSET, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @return append: term of {@link #prevLogIndex()}.
     */
    public long prevLogTerm() {
        return buffer.getLong(APPEND_PREV_TERM_OFFSET, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @return append: the leader's commit index.
     */
    public long commitIndex() {
        return buffer.getLong(APPEND_COMMIT_OFFSET, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @return append: entries carried.
     */
    public int entryCount() {
        return buffer.getInt(APPEND_ENTRY_COUNT_OFFSET, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @param position an entry's position (the first is {@link RaftMessage#APPEND_ENTRIES_OFFSET}).
     * @return its term.
     */
    public long entryTerm(final int position) {
        return buffer.getLong(position + ENTRY_TERM_OFFSET, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @param position an entry's position.
     * @return its type.
     */
    public byte entryType(final int position) {
        return buffer.getByte(position + ENTRY_TYPE_OFFSET);
    }

    /**
     * @param position an entry's position.
     * @return its payload length.
     */
    public int entryLength(final int position) {
        return buffer.getInt(position + ENTRY_LENGTH_OFFSET, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @param position an entry's position.
     * @return where its payload starts in {@link #buffer()}.
     */
    public int entryPayloadOffset(final int position) {
        return position + ENTRY_HEADER_LENGTH;
    }

    /**
     * @param position an entry's position.
     * @return the next entry's position.
     */
    public int nextEntry(final int position) {
        return position + ENTRY_HEADER_LENGTH + entryLength(position);
    }

    /**
     * @return append response: match index on success, rejected prevIndex on reject.
     */
    public long responseIndex() {
        return buffer.getLong(APPEND_RESPONSE_INDEX_OFFSET, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @return append response: conflict hint index.
     */
    public long hintIndex() {
        return buffer.getLong(APPEND_RESPONSE_HINT_INDEX_OFFSET, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @return append response: term at {@link #hintIndex()} in the follower's log.
     */
    public long hintTerm() {
        return buffer.getLong(APPEND_RESPONSE_HINT_TERM_OFFSET, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @return heartbeat: commit index the follower may use.
     */
    public long heartbeatCommitIndex() {
        return buffer.getLong(HEARTBEAT_COMMIT_OFFSET, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @return heartbeat or heartbeat response: ReadIndex round.
     */
    public long heartbeatContext() {
        return buffer.getLong(kind() == HEARTBEAT ? HEARTBEAT_CONTEXT_OFFSET : HEARTBEAT_RESPONSE_CONTEXT_OFFSET,
            ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @return snapshot chunk or response: the snapshot's last index.
     */
    public long snapshotIndex() {
        return buffer.getLong(SNAPSHOT_INDEX_OFFSET, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @return snapshot chunk: the snapshot's last term.
     */
    public long snapshotTerm() {
        return buffer.getLong(SNAPSHOT_TERM_OFFSET, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @return snapshot chunk: the snapshot's whole size.
     */
    public long snapshotTotalBytes() {
        return buffer.getLong(SNAPSHOT_TOTAL_BYTES_OFFSET, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @return snapshot chunk: the chunk's offset in the snapshot.
     */
    public long snapshotOffset() {
        return buffer.getLong(SNAPSHOT_OFFSET_OFFSET, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @return snapshot chunk: CRC32C of the chunk.
     */
    public int snapshotChecksum() {
        return buffer.getInt(SNAPSHOT_CHECKSUM_OFFSET, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @return snapshot chunk: encoded membership length.
     */
    public int snapshotMembershipLength() {
        return buffer.getInt(SNAPSHOT_MEMBERSHIP_LENGTH_OFFSET, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @return snapshot chunk: where the membership starts in {@link #buffer()}.
     */
    public int snapshotMembershipOffset() {
        return SNAPSHOT_DATA_OFFSET;
    }

    /**
     * @return snapshot chunk: chunk length.
     */
    public int snapshotChunkLength() {
        return buffer.getInt(SNAPSHOT_CHUNK_LENGTH_OFFSET, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @return snapshot chunk: where the chunk starts in {@link #buffer()}.
     */
    public int snapshotChunkOffset() {
        return SNAPSHOT_DATA_OFFSET + snapshotMembershipLength();
    }

    /**
     * @return snapshot response: the offset the receiver expects next.
     */
    public long snapshotNextOffset() {
        return buffer.getLong(SNAPSHOT_RESPONSE_NEXT_OFFSET, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @return read index request or response: the requester's id.
     */
    public long readRequestId() {
        return buffer.getLong(READ_REQUEST_ID_OFFSET, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @return read index response: the index to read at.
     */
    public long readIndex() {
        return buffer.getLong(READ_INDEX_OFFSET, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @return forwarded proposal or its response: the requester's id.
     */
    public long proposeRequestId() {
        return buffer.getLong(PROPOSE_REQUEST_ID_OFFSET, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @return forwarded proposal: the entry type.
     */
    public byte proposeType() {
        return buffer.getByte(PROPOSE_TYPE_OFFSET);
    }

    /**
     * @return forwarded proposal: the payload's length (it starts at {@link RaftMessage#PROPOSE_PAYLOAD_OFFSET}).
     */
    public int proposePayloadLength() {
        return buffer.getInt(PROPOSE_PAYLOAD_LENGTH_OFFSET, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @return relayed request or its response: the requester's id.
     */
    public long localRequestId() {
        return buffer.getLong(LOCAL_REQUEST_ID_OFFSET, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @return relayed request: the duty's request type.
     */
    public byte localType() {
        return buffer.getByte(LOCAL_TYPE_OFFSET);
    }

    /**
     * @return relayed request: the payload's length (it starts at {@link RaftMessage#LOCAL_PAYLOAD_OFFSET}).
     */
    public int localPayloadLength() {
        return buffer.getInt(LOCAL_PAYLOAD_LENGTH_OFFSET, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @return relayed request's response: the duty's code.
     */
    public int localCode() {
        return buffer.getInt(LOCAL_CODE_OFFSET, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @return relayed request's response: its first value.
     */
    public long localValue() {
        return buffer.getLong(LOCAL_VALUE_OFFSET, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @return relayed request's response: its second value.
     */
    public long localSecond() {
        return buffer.getLong(LOCAL_SECOND_OFFSET, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @return forwarded proposal's response: the entry's index, or a refusal code (zero or negative).
     */
    public long proposeResult() {
        return buffer.getLong(PROPOSE_RESULT_OFFSET, ByteOrder.LITTLE_ENDIAN);
    }
}
