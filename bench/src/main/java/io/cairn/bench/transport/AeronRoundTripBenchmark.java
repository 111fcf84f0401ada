package io.cairn.bench.transport;

import io.cairn.transport.aeron.AeronTransport;
import io.cairn.transport.aeron.AeronTransportConfig;
import io.cairn.transport.aeron.PeerMessageHandler;
import org.agrona.CloseHelper;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.BusySpinIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
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
 * over Cairn's Aeron transport on loopback UDP, with two embedded drivers run as members run them (each by its own
 * thread, {@code ThreadingMode.INVOKER}). The echoing end is an agent on its own thread; the benchmark thread is the
 * other end. {@code idle=wait} is the default: both threads sleep on their driver's sockets between messages, as an
 * idle member does, so the figure includes two kernel wake-ups; {@code idle=spin} is the dedicated-core setting
 * ({@code -Dcairn.idle=spin}). Sample mode gives the round-trip distribution; compare replicated commit latency
 * with it.
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

    /** How both ends idle: sleep on the sockets (members' default) or busy-spin. */
    @Param({"wait", "spin"})
    public String idle;

    private AeronTransport a;
    private AeronTransport b;
    private IdleStrategy aIdle;
    private AgentRunner echoRunner;
    private UnsafeBuffer message;
    private boolean echoed;
    private final PeerMessageHandler reply = (sender, buffer, offset, length) -> echoed = true;

    private static int freePort() throws IOException {
        try (DatagramSocket socket = new DatagramSocket(0)) {
            return socket.getLocalPort();
        }
    }

    /** The far end: echoes every message back, flushing at once, on its own thread. */
    private static final class Echo implements Agent {
        private final AeronTransport transport;
        private final PeerMessageHandler echo;

        Echo(final AeronTransport transport) {
            this.transport = transport;
            this.echo = (sender, buffer, offset, length) -> {
                while (transport.send(sender, buffer, offset, length) != AeronTransport.SENT) {
                    transport.flush();
                }
            };
        }

        @Override
        public int doWork() {
            final int work = transport.poll(echo, 10);
            return work + transport.flush();
        }

        @Override
        public String roleName() {
            return "echo";
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
        a = AeronTransport.launch(AeronTransportConfig.of(1, endpointA, Map.of(2, endpointB)));
        b = AeronTransport.launch(AeronTransportConfig.of(2, endpointB, Map.of(1, endpointA)));
        final boolean spin = "spin".equals(idle);
        aIdle = spin ? new BusySpinIdleStrategy() : a.idleStrategy();
        final IdleStrategy bIdle = spin ? new BusySpinIdleStrategy() : b.idleStrategy();
        if (aIdle == null || bIdle == null) {
            throw new IllegalStateException("the transports offer no socket wait on this machine");
        }
        message = new UnsafeBuffer(ByteBuffer.allocateDirect(messageBytes));
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!a.isConnected(2) || !b.isConnected(1)) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("transports did not connect");
            }
            a.poll(reply, 10); // runs its driver: nothing is sent yet, so nothing is received
            b.poll(reply, 10);
            Thread.onSpinWait();
        }
        echoRunner = new AgentRunner(bIdle, Throwable::printStackTrace, null, new Echo(b));
        AgentRunner.startOnThread(echoRunner);
    }

    /**
     * Stops both.
     */
    @TearDown(Level.Trial)
    public void stop() {
        CloseHelper.quietClose(echoRunner);
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
            a.flush();
        }
        a.flush();
        echoed = false;
        while (!echoed) {
            final int work = a.poll(reply, 10);
            if (!echoed) {
                aIdle.idle(work);
            }
        }
        aIdle.reset(); // work was done: what an AgentRunner's idle(workCount > 0) would say
        return echoed;
    }
}
