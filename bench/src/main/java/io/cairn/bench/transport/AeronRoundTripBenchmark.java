package io.cairn.bench.transport;

import io.cairn.transport.aeron.AeronTransport;
import io.cairn.transport.aeron.AeronTransportConfig;
import io.cairn.transport.aeron.PeerMessageHandler;
import org.agrona.concurrent.UnsafeBuffer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.io.IOException;
import java.net.DatagramSocket;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The network's physical limit for replication on this machine: one framed message to a peer and its echo back,
 * over Cairn's Aeron transport on loopback UDP (two embedded drivers in SHARED mode with Cairn's default backoff
 * idle, as nodes run). The benchmark thread plays both ends; the drivers move the datagrams. Sample mode gives the
 * round-trip distribution; compare replicated commit latency with it.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
@Fork(1)
public class AeronRoundTripBenchmark {
    /** Message bytes (one AppendEntries of a few small entries, or a heartbeat). */
    @Param({"64", "1024"})
    public int messageBytes;

    /** Yields before the drivers park (see {@code AeronTransportConfig.driverIdleYields}). */
    @Param({"10", "1000"})
    public int driverIdleYields;

    private AeronTransport a;
    private AeronTransport b;
    private UnsafeBuffer message;
    private boolean echoed;
    private final PeerMessageHandler echo = (sender, buffer, offset, length) -> {
        while (b.send(sender, buffer, offset, length) != AeronTransport.SENT) {
            Thread.onSpinWait();
        }
    };
    private final PeerMessageHandler reply = (sender, buffer, offset, length) -> echoed = true;

    private static int freePort() throws IOException {
        try (DatagramSocket socket = new DatagramSocket(0)) {
            return socket.getLocalPort();
        }
    }

    /**
     * Starts two transports and waits until they see each other.
     *
     * @throws IOException if no port is free.
     */
    @Setup(Level.Trial)
    public void start() throws IOException {
        final String endpointA = "127.0.0.1:" + freePort();
        final String endpointB = "127.0.0.1:" + freePort();
        final long park = AeronTransportConfig.DRIVER_IDLE_MAX_PARK_NS_DEFAULT;
        a = AeronTransport.launch(AeronTransportConfig.of(1, endpointA, Map.of(2, endpointB))
            .withDriverIdle(driverIdleYields, park));
        b = AeronTransport.launch(AeronTransportConfig.of(2, endpointB, Map.of(1, endpointA))
            .withDriverIdle(driverIdleYields, park));
        message = new UnsafeBuffer(ByteBuffer.allocateDirect(messageBytes));
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!a.isConnected(2) || !b.isConnected(1)) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("transports did not connect");
            }
            Thread.onSpinWait();
        }
    }

    /**
     * Stops both.
     */
    @TearDown(Level.Trial)
    public void stop() {
        a.close();
        b.close();
    }

    /**
     * One message there and back.
     *
     * @return true.
     */
    @Benchmark
    public boolean roundTrip() {
        while (a.send(2, message, 0, messageBytes) != AeronTransport.SENT) {
            Thread.onSpinWait();
        }
        echoed = false;
        while (!echoed) {
            b.poll(echo, 10);
            a.poll(reply, 10);
        }
        return echoed;
    }
}
