package io.cairn.consensus;

import io.cairn.consensus.memory.MemorySnapshotStore;
import io.cairn.consensus.memory.MemoryWal;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: every peer message survives encoding, and no malformed or truncated message ever throws out of the decoder
 * or out of {@link RaftCore#onMessage}: it is counted and dropped. Method: encode one message of every kind and
 * check the decoded fields; then feed every truncation of each, plus seeded random garbage and random corruptions
 * of valid messages, to the decoder and (when it refuses them) to a live core.
 */
class RaftMessageCodecTest {
    private final UnsafeBuffer buffer = new UnsafeBuffer(new byte[4096]);
    private final RaftMessageEncoder encoder = new RaftMessageEncoder();
    private final RaftMessageDecoder decoder = new RaftMessageDecoder();

    private List<byte[]> oneOfEachKind() {
        final List<byte[]> messages = new ArrayList<>();
        final UnsafeBuffer payload = new UnsafeBuffer("payload".getBytes());
        encoder.wrap(buffer, 0);
        messages.add(copy(encoder.encodeVoteRequest(true, false, 1, 2, 5, 10, 4)));
        messages.add(copy(encoder.encodeVoteRequest(false, true, 1, 2, 5, 10, 4)));
        messages.add(copy(encoder.encodeVoteResponse(true, true, 2, 1, 5)));
        messages.add(copy(encoder.encodeVoteResponse(false, false, 2, 1, 5)));
        encoder.encodeAppendHeader(1, 2, 5, 10, 4, 9);
        int position = encoder.appendEntry(RaftMessage.APPEND_ENTRIES_OFFSET, 4, EntryType.NORMAL, payload, 0, 7);
        position = encoder.appendEntry(position, 5, EntryType.NOOP, payload, 0, 0);
        encoder.finishAppend(2);
        messages.add(copy(position));
        messages.add(copy(encoder.encodeAppendResponse(true, 2, 1, 5, 10, 7, 3)));
        messages.add(copy(encoder.encodeHeartbeat(1, 2, 5, 9, 77)));
        messages.add(copy(encoder.encodeHeartbeatResponse(2, 1, 5, 77)));
        messages.add(copy(encoder.encodeSnapshotChunk(1, 2, 5, 100, 4, 1000, 64, 0x1234,
            Membership.ofVoters(1, 2, 3), payload, 7, false)));
        messages.add(copy(encoder.encodeSnapshotResponse(true, 2, 1, 5, 100, 71)));
        messages.add(copy(encoder.encodeTimeoutNow(1, 2, 5)));
        messages.add(copy(encoder.encodeReadIndex(2, 1, 5, 99)));
        messages.add(copy(encoder.encodeReadIndexResponse(false, 1, 2, 5, 99, 12)));
        final UnsafeBuffer command = new UnsafeBuffer("command".getBytes(StandardCharsets.US_ASCII));
        messages.add(copy(encoder.encodePropose(2, 1, 5, 77, EntryType.NORMAL, command, 0, command.capacity())));
        messages.add(copy(encoder.encodeProposeResponse(1, 2, 5, 77, 42)));
        final UnsafeBuffer lease = new UnsafeBuffer(new byte[Long.BYTES]);
        lease.putLong(0, 0x1234_5678L, java.nio.ByteOrder.LITTLE_ENDIAN);
        messages.add(copy(encoder.encodeLocal(2, 1, 5, 88, (byte)1, lease, 0, Long.BYTES)));
        messages.add(copy(encoder.encodeLocalResponse(1, 2, 5, 88, 2, 0x1234_5678L, 30)));
        return messages;
    }

    private byte[] copy(final int length) {
        final byte[] bytes = new byte[length];
        buffer.getBytes(0, bytes);
        return bytes;
    }

    private int decode(final byte[] bytes) {
        return decoder.wrap(new UnsafeBuffer(bytes), 0, bytes.length);
    }

    @Test
    void shouldDecodeWhatWasEncodedForEveryKind() {
        final List<byte[]> messages = oneOfEachKind();
        assertEquals(RaftMessage.KIND_MAX, messages.size());
        for (final byte[] message : messages) {
            assertEquals(RaftMessageDecoder.OK, decode(message), RaftMessage.kindName(message[0]));
            assertEquals(5, decoder.term());
        }
        decode(messages.get(1));
        assertTrue(decoder.hasFlag(RaftMessage.FLAG_TRANSFER));
        assertEquals(10, decoder.lastLogIndex());
        assertEquals(4, decoder.lastLogTerm());
        decode(messages.get(4));
        assertEquals(2, decoder.entryCount());
        assertEquals(10, decoder.prevLogIndex());
        assertEquals(9, decoder.commitIndex());
        final int first = RaftMessage.APPEND_ENTRIES_OFFSET;
        assertEquals("payload", decoder.buffer().getStringWithoutLengthUtf8(decoder.entryPayloadOffset(first), 7));
        assertEquals(EntryType.NOOP, decoder.entryType(decoder.nextEntry(first)));
        decode(messages.get(5));
        assertTrue(decoder.hasFlag(RaftMessage.FLAG_REJECT));
        assertEquals(7, decoder.hintIndex());
        assertEquals(3, decoder.hintTerm());
        decode(messages.get(8));
        assertEquals(100, decoder.snapshotIndex());
        assertEquals(64, decoder.snapshotOffset());
        assertEquals(7, decoder.snapshotChunkLength());
        assertEquals(0x1234, decoder.snapshotChecksum());
        decode(messages.get(12));
        assertEquals(99, decoder.readRequestId());
        assertEquals(12, decoder.readIndex());
        decode(messages.get(13));
        assertEquals(77, decoder.proposeRequestId());
        assertEquals(EntryType.NORMAL, decoder.proposeType());
        assertEquals("command", decoder.buffer().getStringWithoutLengthUtf8(RaftMessage.PROPOSE_PAYLOAD_OFFSET,
            decoder.proposePayloadLength()));
        decode(messages.get(14));
        assertEquals(77, decoder.proposeRequestId());
        assertEquals(42, decoder.proposeResult());
        decode(messages.get(15));
        assertEquals(88, decoder.localRequestId());
        assertEquals(1, decoder.localType());
        assertEquals(Long.BYTES, decoder.localPayloadLength());
        assertEquals(0x1234_5678L, decoder.buffer().getLong(RaftMessage.LOCAL_PAYLOAD_OFFSET,
            java.nio.ByteOrder.LITTLE_ENDIAN));
        decode(messages.get(16));
        assertEquals(88, decoder.localRequestId());
        assertEquals(2, decoder.localCode());
        assertEquals(0x1234_5678L, decoder.localValue());
        assertEquals(30, decoder.localSecond());
    }

    @Test
    void shouldRefuseARelayedRequestLargerThanItsLimit() {
        final UnsafeBuffer payload = new UnsafeBuffer(new byte[RaftMessage.LOCAL_PAYLOAD_MAX + 1]);
        encoder.wrap(buffer, 0);
        final byte[] message = copy(encoder.encodeLocal(2, 1, 5, 88, (byte)1, payload, 0, payload.capacity()));
        assertEquals(RaftMessageDecoder.BAD_LENGTH, decode(message));
        new UnsafeBuffer(message).putInt(RaftMessage.LOCAL_PAYLOAD_LENGTH_OFFSET, -1, java.nio.ByteOrder.LITTLE_ENDIAN);
        assertEquals(RaftMessageDecoder.BAD_LENGTH, decode(message), "a negative length");
    }

    @Test
    void shouldRefuseEveryTruncationOfEveryKind() {
        for (final byte[] message : oneOfEachKind()) {
            for (int length = 0; length < message.length; length++) {
                assertNotEquals(RaftMessageDecoder.OK, decoder.wrap(new UnsafeBuffer(message), 0, length),
                    RaftMessage.kindName(message[0]) + " cut to " + length);
            }
            final byte[] longer = Arrays.copyOf(message, message.length + 3);
            assertNotEquals(RaftMessageDecoder.OK, decode(longer), "trailing bytes");
        }
    }

    @Test
    void shouldCountAndDropMalformedMessagesWithoutThrowingWhenFuzzed() {
        final RaftCore core = new RaftCore(new RaftContext()
            .config(RaftConfig.builder(2).outbox(1 << 20, 256).entryBytesMax(1024).appendLimits(4096, 16)
                .snapshotChunkBytesMax(1024).build())
            .wal(new MemoryWal())
            .random(bound -> 0)
            .snapshotSource(new MemorySnapshotStore(16))
            .snapshotSink(new MemorySnapshotStore.Sink(new MemorySnapshotStore(16), bytes -> true))
            .snapshot(0, 0, Membership.ofVoters(1, 2, 3)));
        final Random random = new Random(7);
        final List<byte[]> valid = oneOfEachKind();
        long refused = 0;
        for (int round = 0; round < 50_000; round++) {
            final byte[] bytes;
            if (random.nextBoolean()) {
                bytes = new byte[random.nextInt(200)];
                random.nextBytes(bytes);
                if (bytes.length > 1) {
                    bytes[1] = RaftMessage.VERSION;
                }
            } else {
                bytes = valid.get(random.nextInt(valid.size())).clone();
                for (int flips = 1 + random.nextInt(3); flips > 0; flips--) {
                    bytes[random.nextInt(bytes.length)] = (byte)random.nextInt(256);
                }
            }
            if (decode(bytes) != RaftMessageDecoder.OK) {
                refused++;
                core.onMessage(new UnsafeBuffer(bytes), 0, bytes.length);
                core.ready();
                core.advance();
            }
        }
        assertEquals(refused, core.malformedMessageCount());
        assertTrue(refused > 25_000, "garbage and broken framing are refused: " + refused);
    }

    @Test
    void shouldDropMessageAddressedToAnotherMember() {
        final RaftCore core = new RaftCore(new RaftContext()
            .config(RaftConfig.builder(3).outbox(1 << 20, 256).entryBytesMax(1024).appendLimits(4096, 16)
                .snapshotChunkBytesMax(1024).build())
            .wal(new MemoryWal())
            .random(bound -> 0)
            .snapshotSource(new MemorySnapshotStore(16))
            .snapshotSink(new MemorySnapshotStore.Sink(new MemorySnapshotStore(16), bytes -> true))
            .snapshot(0, 0, Membership.ofVoters(1, 2, 3)));
        final byte[] heartbeat = oneOfEachKind().get(6);
        core.onMessage(new UnsafeBuffer(heartbeat), 0, heartbeat.length);
        assertEquals(1, core.misaddressedMessageCount());
        assertEquals(0, core.term(), "nothing in it was used");
    }
}
