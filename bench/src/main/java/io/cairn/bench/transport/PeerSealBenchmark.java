package io.cairn.bench.transport;

import io.cairn.transport.aeron.PeerFrame;
import io.cairn.transport.aeron.PeerSeal;
import org.agrona.concurrent.UnsafeBuffer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.security.SecureRandom;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;

/**
 * What sealing peer frames would cost per frame, beside what framing costs now: {@code plaintext} writes and checks a
 * version-1 {@link PeerFrame} (CRC32C of header and payload), {@code sealed} seals a version-2 frame with
 * {@link PeerSeal} (AES-256-GCM, the JDK's) and opens it on the receiving side's state, for payloads of an append's
 * typical sizes. One thread; both ends of one frame per operation.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class PeerSealBenchmark {
    /** Payload bytes: a heartbeat, a small append, a batch of appends. */
    @Param({"64", "4096", "65536"})
    public int payloadBytes;

    private UnsafeBuffer payload;
    private UnsafeBuffer frame;
    private UnsafeBuffer opened;
    private PeerSeal.Sender sender;
    private PeerSeal.Receiver receiver;
    private final CRC32C crc = new CRC32C();

    /** Keys and buffers. */
    @Setup
    public void setUp() {
        final byte[] key = new byte[PeerSeal.KEY_LENGTH];
        new SecureRandom().nextBytes(key);
        sender = new PeerSeal.Sender(1, 2, 1, key);
        receiver = new PeerSeal.Receiver(2, 1);
        receiver.install(1, key);
        final byte[] bytes = new byte[payloadBytes];
        new SecureRandom().nextBytes(bytes);
        payload = new UnsafeBuffer(bytes);
        frame = new UnsafeBuffer(new byte[PeerSeal.frameLength(payloadBytes)]);
        opened = new UnsafeBuffer(new byte[payloadBytes]);
    }

    /** @return the check's verdict (consumed). */
    @Benchmark
    public int plaintext() {
        PeerFrame.writeHeader(crc, frame, 0, 1, payload, 0, payloadBytes);
        frame.putBytes(PeerFrame.HEADER_LENGTH, payload, 0, payloadBytes);
        return PeerFrame.check(crc, frame, 0, PeerFrame.HEADER_LENGTH + payloadBytes);
    }

    /** @return the opened length (consumed). */
    @Benchmark
    public int sealed() {
        final int length = sender.seal(payload, 0, payloadBytes, frame, 0);
        return receiver.open(frame, 0, length, opened, 0);
    }
}
