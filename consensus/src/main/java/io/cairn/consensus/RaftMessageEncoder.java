package io.cairn.consensus;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

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
import static io.cairn.consensus.RaftMessage.FLAG_DONE;
import static io.cairn.consensus.RaftMessage.FLAG_LAST;
import static io.cairn.consensus.RaftMessage.FLAG_REJECT;
import static io.cairn.consensus.RaftMessage.FLAG_TRANSFER;
import static io.cairn.consensus.RaftMessage.FROM_OFFSET;
import static io.cairn.consensus.RaftMessage.HEADER_LENGTH;
import static io.cairn.consensus.RaftMessage.HEARTBEAT;
import static io.cairn.consensus.RaftMessage.HEARTBEAT_COMMIT_OFFSET;
import static io.cairn.consensus.RaftMessage.HEARTBEAT_CONTEXT_OFFSET;
import static io.cairn.consensus.RaftMessage.HEARTBEAT_LENGTH;
import static io.cairn.consensus.RaftMessage.HEARTBEAT_RESPONSE;
import static io.cairn.consensus.RaftMessage.HEARTBEAT_RESPONSE_CONTEXT_OFFSET;
import static io.cairn.consensus.RaftMessage.HEARTBEAT_RESPONSE_LENGTH;
import static io.cairn.consensus.RaftMessage.KIND_OFFSET;
import static io.cairn.consensus.RaftMessage.PRE_VOTE_REQUEST;
import static io.cairn.consensus.RaftMessage.PRE_VOTE_RESPONSE;
import static io.cairn.consensus.RaftMessage.LOCAL;
import static io.cairn.consensus.RaftMessage.LOCAL_CODE_OFFSET;
import static io.cairn.consensus.RaftMessage.LOCAL_REQUEST_ID_OFFSET;
import static io.cairn.consensus.RaftMessage.LOCAL_RESPONSE;
import static io.cairn.consensus.RaftMessage.LOCAL_RESPONSE_LENGTH;
import static io.cairn.consensus.RaftMessage.LOCAL_SECOND_OFFSET;
import static io.cairn.consensus.RaftMessage.LOCAL_VALUE_OFFSET;
import static io.cairn.consensus.RaftMessage.PROPOSE;
import static io.cairn.consensus.RaftMessage.PROPOSE_PAYLOAD_LENGTH_OFFSET;
import static io.cairn.consensus.RaftMessage.PROPOSE_PAYLOAD_OFFSET;
import static io.cairn.consensus.RaftMessage.PROPOSE_REQUEST_ID_OFFSET;
import static io.cairn.consensus.RaftMessage.PROPOSE_RESPONSE;
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
import static io.cairn.consensus.RaftMessage.SNAPSHOT_RESPONSE_INDEX_OFFSET;
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
 * Writes peer messages in the layout of {@link RaftMessage}. A flyweight: {@link #wrap} points it at a region, each
 * {@code encode*} method writes one whole message there and returns its length. The caller makes sure the region is
 * large enough ({@link RaftConfig#messageBytesMax()} covers every message the core writes).
 */
public final class RaftMessageEncoder {
    private MutableDirectBuffer buffer;
    private int offset;

    /**
     * @param buffer where to write.
     * @param offset where the message starts.
     * @return this.
     */
    public RaftMessageEncoder wrap(final MutableDirectBuffer buffer, final int offset) {
        this.buffer = buffer;
        this.offset = offset;
        return this;
    }

    /**
     * Writes the common header only; bodies are written by the other methods.
     *
     * @param kind  message kind.
     * @param flags flag bits.
     * @param from  sender.
     * @param to    receiver.
     * @param term  sender's term (or the term asked for, for a pre-vote).
     * @return {@link RaftMessage#HEADER_LENGTH}.
     */
    public int encodeHeader(final byte kind, final int flags, final int from, final int to, final long term) {
        buffer.putByte(offset + KIND_OFFSET, kind);
        buffer.putByte(offset + VERSION_OFFSET, VERSION);
        buffer.putShort(offset + FLAGS_OFFSET, (short)flags, ByteOrder.LITTLE_ENDIAN);
        buffer.putInt(offset + FROM_OFFSET, from, ByteOrder.LITTLE_ENDIAN);
        buffer.putInt(offset + TO_OFFSET, to, ByteOrder.LITTLE_ENDIAN);
        buffer.putLong(offset + TERM_OFFSET, term, ByteOrder.LITTLE_ENDIAN);
        return HEADER_LENGTH;
    }

    /**
     * @return message length.
     */
    public int encodeVoteRequest(final boolean preVote, final boolean transfer, final int from, final int to,
        final long term, final long lastLogIndex, final long lastLogTerm) {
        encodeHeader(preVote ? PRE_VOTE_REQUEST : VOTE_REQUEST, transfer ? FLAG_TRANSFER : 0, from, to, term);
        buffer.putLong(offset + VOTE_LAST_INDEX_OFFSET, lastLogIndex, ByteOrder.LITTLE_ENDIAN);
        buffer.putLong(offset + VOTE_LAST_TERM_OFFSET, lastLogTerm, ByteOrder.LITTLE_ENDIAN);
        return VOTE_REQUEST_LENGTH;
    }

    /**
     * @return message length.
     */
    public int encodeVoteResponse(final boolean preVote, final boolean reject, final int from, final int to,
        final long term) {
        return encodeHeader(preVote ? PRE_VOTE_RESPONSE : VOTE_RESPONSE, reject ? FLAG_REJECT : 0, from, to, term);
    }

    /**
     * Writes an append's header with no entries; add entries with {@link #appendEntry} and then
     * {@link #finishAppend} sets the count.
     *
     * @return length so far ({@link RaftMessage#APPEND_ENTRIES_OFFSET}).
     */
    public int encodeAppendHeader(final int from, final int to, final long term, final long prevIndex,
        final long prevTerm, final long commitIndex) {
        encodeHeader(APPEND, 0, from, to, term);
        buffer.putLong(offset + APPEND_PREV_INDEX_OFFSET, prevIndex, ByteOrder.LITTLE_ENDIAN);
        buffer.putLong(offset + APPEND_PREV_TERM_OFFSET, prevTerm, ByteOrder.LITTLE_ENDIAN);
        buffer.putLong(offset + APPEND_COMMIT_OFFSET, commitIndex, ByteOrder.LITTLE_ENDIAN);
        buffer.putInt(offset + APPEND_ENTRY_COUNT_OFFSET, 0, ByteOrder.LITTLE_ENDIAN);
        return APPEND_ENTRIES_OFFSET;
    }

    /**
     * @param position where the entry goes, relative to the message start.
     * @return the position after it.
     */
    public int appendEntry(final int position, final long term, final byte type, final DirectBuffer payload,
        final int payloadOffset, final int payloadLength) {
        final int at = offset + position;
        buffer.putLong(at + ENTRY_TERM_OFFSET, term, ByteOrder.LITTLE_ENDIAN);
        buffer.putByte(at + ENTRY_TYPE_OFFSET, type);
        buffer.putInt(at + ENTRY_LENGTH_OFFSET, payloadLength, ByteOrder.LITTLE_ENDIAN);
        if (payloadLength > 0) {
            buffer.putBytes(at + ENTRY_HEADER_LENGTH, payload, payloadOffset, payloadLength);
        }
        return position + ENTRY_HEADER_LENGTH + payloadLength;
    }

    /**
     * @param entryCount entries written.
     */
    public void finishAppend(final int entryCount) {
        buffer.putInt(offset + APPEND_ENTRY_COUNT_OFFSET, entryCount, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @return message length.
     */
    public int encodeAppendResponse(final boolean reject, final int from, final int to, final long term,
        final long index, final long hintIndex, final long hintTerm) {
        encodeHeader(APPEND_RESPONSE, reject ? FLAG_REJECT : 0, from, to, term);
        buffer.putLong(offset + APPEND_RESPONSE_INDEX_OFFSET, index, ByteOrder.LITTLE_ENDIAN);
        buffer.putLong(offset + APPEND_RESPONSE_HINT_INDEX_OFFSET, hintIndex, ByteOrder.LITTLE_ENDIAN);
        buffer.putLong(offset + APPEND_RESPONSE_HINT_TERM_OFFSET, hintTerm, ByteOrder.LITTLE_ENDIAN);
        return APPEND_RESPONSE_LENGTH;
    }

    /**
     * @return message length.
     */
    public int encodeHeartbeat(final int from, final int to, final long term, final long commitIndex,
        final long context) {
        encodeHeader(HEARTBEAT, 0, from, to, term);
        buffer.putLong(offset + HEARTBEAT_COMMIT_OFFSET, commitIndex, ByteOrder.LITTLE_ENDIAN);
        buffer.putLong(offset + HEARTBEAT_CONTEXT_OFFSET, context, ByteOrder.LITTLE_ENDIAN);
        return HEARTBEAT_LENGTH;
    }

    /**
     * @return message length.
     */
    public int encodeHeartbeatResponse(final int from, final int to, final long term, final long context) {
        encodeHeader(HEARTBEAT_RESPONSE, 0, from, to, term);
        buffer.putLong(offset + HEARTBEAT_RESPONSE_CONTEXT_OFFSET, context, ByteOrder.LITTLE_ENDIAN);
        return HEARTBEAT_RESPONSE_LENGTH;
    }

    /**
     * @return message length.
     */
    public int encodeSnapshotChunk(final int from, final int to, final long term, final long snapshotIndex,
        final long snapshotTerm, final long totalBytes, final long chunkOffset, final int checksum,
        final Membership membership, final DirectBuffer chunk, final int chunkLength, final boolean last) {
        encodeHeader(SNAPSHOT_CHUNK, last ? FLAG_LAST : 0, from, to, term);
        buffer.putLong(offset + SNAPSHOT_INDEX_OFFSET, snapshotIndex, ByteOrder.LITTLE_ENDIAN);
        buffer.putLong(offset + SNAPSHOT_TERM_OFFSET, snapshotTerm, ByteOrder.LITTLE_ENDIAN);
        buffer.putLong(offset + SNAPSHOT_TOTAL_BYTES_OFFSET, totalBytes, ByteOrder.LITTLE_ENDIAN);
        buffer.putLong(offset + SNAPSHOT_OFFSET_OFFSET, chunkOffset, ByteOrder.LITTLE_ENDIAN);
        buffer.putInt(offset + SNAPSHOT_CHECKSUM_OFFSET, checksum, ByteOrder.LITTLE_ENDIAN);
        final int membershipLength = membership.encode(buffer, offset + SNAPSHOT_DATA_OFFSET);
        buffer.putInt(offset + SNAPSHOT_MEMBERSHIP_LENGTH_OFFSET, membershipLength, ByteOrder.LITTLE_ENDIAN);
        buffer.putInt(offset + SNAPSHOT_CHUNK_LENGTH_OFFSET, chunkLength, ByteOrder.LITTLE_ENDIAN);
        if (chunkLength > 0) {
            buffer.putBytes(offset + SNAPSHOT_DATA_OFFSET + membershipLength, chunk, 0, chunkLength);
        }
        return SNAPSHOT_DATA_OFFSET + membershipLength + chunkLength;
    }

    /**
     * @return message length.
     */
    public int encodeSnapshotResponse(final boolean done, final int from, final int to, final long term,
        final long snapshotIndex, final long nextOffset) {
        encodeHeader(SNAPSHOT_RESPONSE, done ? FLAG_DONE : 0, from, to, term);
        buffer.putLong(offset + SNAPSHOT_RESPONSE_INDEX_OFFSET, snapshotIndex, ByteOrder.LITTLE_ENDIAN);
        buffer.putLong(offset + SNAPSHOT_RESPONSE_NEXT_OFFSET, nextOffset, ByteOrder.LITTLE_ENDIAN);
        return SNAPSHOT_RESPONSE_LENGTH;
    }

    /**
     * @return message length.
     */
    public int encodeTimeoutNow(final int from, final int to, final long term) {
        return encodeHeader(TIMEOUT_NOW, 0, from, to, term);
    }

    /**
     * @return message length.
     */
    public int encodeReadIndex(final int from, final int to, final long term, final long requestId) {
        encodeHeader(READ_INDEX, 0, from, to, term);
        buffer.putLong(offset + READ_REQUEST_ID_OFFSET, requestId, ByteOrder.LITTLE_ENDIAN);
        return READ_INDEX_REQUEST_LENGTH;
    }

    /**
     * @return message length.
     */
    public int encodeReadIndexResponse(final boolean reject, final int from, final int to, final long term,
        final long requestId, final long readIndex) {
        encodeHeader(READ_INDEX_RESPONSE, reject ? FLAG_REJECT : 0, from, to, term);
        buffer.putLong(offset + READ_REQUEST_ID_OFFSET, requestId, ByteOrder.LITTLE_ENDIAN);
        buffer.putLong(offset + READ_INDEX_OFFSET, readIndex, ByteOrder.LITTLE_ENDIAN);
        return READ_INDEX_RESPONSE_LENGTH;
    }

    /**
     * Writes a forwarded proposal: header and payload.
     *
     * @return message length.
     */
    public int encodePropose(final int from, final int to, final long term, final long requestId, final byte type,
        final DirectBuffer payload, final int payloadOffset, final int payloadLength) {
        return encodeRequest(PROPOSE, from, to, term, requestId, type, payload, payloadOffset, payloadLength);
    }

    // PROPOSE and LOCAL share one layout: request ID, a type byte, the payload's length and the payload.
    private int encodeRequest(final byte kind, final int from, final int to, final long term, final long requestId,
        final byte type, final DirectBuffer payload, final int payloadOffset, final int payloadLength) {
        encodeHeader(kind, 0, from, to, term);
        buffer.putLong(offset + PROPOSE_REQUEST_ID_OFFSET, requestId, ByteOrder.LITTLE_ENDIAN);
        buffer.putByte(offset + PROPOSE_TYPE_OFFSET, type);
        buffer.putInt(offset + PROPOSE_PAYLOAD_LENGTH_OFFSET, payloadLength, ByteOrder.LITTLE_ENDIAN);
        if (payloadLength > 0) {
            buffer.putBytes(offset + PROPOSE_PAYLOAD_OFFSET, payload, payloadOffset, payloadLength);
        }
        return PROPOSE_PAYLOAD_OFFSET + payloadLength;
    }

    /**
     * Writes a relayed request for the leader's loop duty.
     *
     * @return message length.
     */
    public int encodeLocal(final int from, final int to, final long term, final long requestId, final byte type,
        final DirectBuffer payload, final int payloadOffset, final int payloadLength) {
        return encodeRequest(LOCAL, from, to, term, requestId, type, payload, payloadOffset, payloadLength);
    }

    /**
     * @return message length.
     */
    public int encodeLocalResponse(final int from, final int to, final long term, final long requestId,
        final int code, final long value, final long second) {
        encodeHeader(LOCAL_RESPONSE, 0, from, to, term);
        buffer.putLong(offset + LOCAL_REQUEST_ID_OFFSET, requestId, ByteOrder.LITTLE_ENDIAN);
        buffer.putInt(offset + LOCAL_CODE_OFFSET, code, ByteOrder.LITTLE_ENDIAN);
        buffer.putLong(offset + LOCAL_VALUE_OFFSET, value, ByteOrder.LITTLE_ENDIAN);
        buffer.putLong(offset + LOCAL_SECOND_OFFSET, second, ByteOrder.LITTLE_ENDIAN);
        return LOCAL_RESPONSE_LENGTH;
    }

    /**
     * @return message length.
     */
    public int encodeProposeResponse(final int from, final int to, final long term, final long requestId,
        final long result) {
        encodeHeader(PROPOSE_RESPONSE, 0, from, to, term);
        buffer.putLong(offset + PROPOSE_REQUEST_ID_OFFSET, requestId, ByteOrder.LITTLE_ENDIAN);
        buffer.putLong(offset + PROPOSE_RESULT_OFFSET, result, ByteOrder.LITTLE_ENDIAN);
        return PROPOSE_RESPONSE_LENGTH;
    }
}
