package io.cairn.embedded;

import io.cairn.consensus.Role;
import io.cairn.embedded.cluster.Topology;
import io.cairn.engine.JavaChild;
import io.cairn.transport.aeron.AeronTransportConfig;
import org.agrona.IoUtil;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.net.DatagramSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: three services that each embed a node ({@link NodeProcess}, one JVM each) are one cluster; when the leader's
 * process is SIGKILLed the other two carry on, and when it is restarted from its data directory every write any of
 * them acknowledged — before or after the kill — is read back, linearizably, from every node. Method: writes spread
 * over the processes (each answers from its own apply, forwarding to the leader inside Raft), the leader killed by PID
 * mid-way, more writes to the survivors, the killed node restarted, then a get of every acknowledged key on all three.
 * Every wait is bounded; every process is stopped by PID.
 */
@Timeout(300)
class EmbeddedProcessesIT {
    private static final int WRITES = 100;
    private static final long WAIT_S = 60;

    @TempDir
    Path dir;

    private final Map<String, String> acknowledged = new ConcurrentHashMap<>();
    private final Map<String, String> failed = new ConcurrentHashMap<>();
    private final Node[] nodes = new Node[3];
    private String cluster;

    /** One node's process and what it printed. */
    private final class Node {
        final String name;
        final Process process;
        final Map<String, String> values = new ConcurrentHashMap<>();
        volatile int role = -1;
        volatile int leaderId;
        volatile int selfId;

        Node(final String name) throws IOException {
            this.name = name;
            final Path logs = Path.of("target", "it-logs", "EmbeddedProcessesIT");
            Files.createDirectories(logs);
            process = JavaChild.start(JavaChild.command(List.of(), NodeProcess.class.getName(),
                List.of(name, dir.resolve(name).toString(), cluster)), logs.resolve(name + ".stderr"),
                "node-" + name + "-stdout", this::onLine);
        }

        private void onLine(final String line) {
            final String[] parts = line.split(" ");
            switch (parts[0]) {
                case "STATUS" -> {
                    role = Integer.parseInt(parts[1]);
                    leaderId = Integer.parseInt(parts[2]);
                    selfId = Integer.parseInt(parts[3]);
                }
                case "ACK" -> acknowledged.put(parts[1], parts[2]);
                case "FAIL" -> failed.put(parts[1], parts[2]);
                case "VALUE" -> values.put(parts[1], parts[2]);
                default -> { }
            }
        }

        void send(final String line) throws IOException {
            final OutputStream in = process.getOutputStream();
            in.write((line + "\n").getBytes(StandardCharsets.UTF_8));
            in.flush();
        }

        void kill() throws InterruptedException {
            process.destroyForcibly(); // SIGKILL, by PID
            assertTrue(process.waitFor(30, TimeUnit.SECONDS), name + " did not die");
        }

        void stop() throws InterruptedException {
            if (!process.isAlive()) {
                return;
            }
            try {
                send("stop");
            } catch (final IOException ex) {
                // Gone already.
            }
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(30, TimeUnit.SECONDS);
            }
        }
    }

    @AfterEach
    void stopAll() throws InterruptedException {
        for (final Node node : nodes) {
            if (node != null) {
                node.stop();
            }
        }
        // A SIGKILLed node leaves its embedded media driver's directory; a restart reuses and then removes it, but a
        // failed test may not have got that far.
        if (cluster != null) {
            for (final Topology.Member member : Topology.parse(cluster, "").members()) {
                IoUtil.delete(new File(AeronTransportConfig.of(member.id(), member.peerEndpoint(), Map.of())
                    .embeddedDirectory()), false);
            }
        }
    }

    @Test
    void shouldKeepEveryAcknowledgedWriteAcrossALeaderKilledAndRestarted() throws Exception {
        cluster = "a=http://127.0.0.1:" + freePort() + ",b=http://127.0.0.1:" + freePort() + ",c=http://127.0.0.1:"
            + freePort();
        final String[] names = {"a", "b", "c"};
        for (int i = 0; i < 3; i++) {
            nodes[i] = new Node(names[i]);
        }
        await("a leader", () -> leader() >= 0);

        for (int i = 0; i < WRITES; i++) {
            nodes[i % 3].send("put before-" + i + " v" + i);
        }
        await("the first writes answered", () -> answered("before-") == WRITES);
        assertEquals(WRITES, acknowledged.keySet().stream().filter(key -> key.startsWith("before-")).count(),
            () -> "with a stable leader every write is acknowledged; failed: " + failed);

        final int victim = leader();
        final int killedId = nodes[victim].selfId;
        nodes[victim].kill();
        // The first writes go out before the survivors notice: those forwarded to the dead leader end as unknown
        // (TIMEOUT) or refused, never acknowledged unless applied. The rest go out once a new leader is elected.
        for (int i = 0; i < WRITES; i++) {
            if (i == WRITES / 10) {
                await("a new leader among the survivors", () -> leader() >= 0 && leader() != victim);
            }
            final Node survivor = nodes[(victim + 1 + i % 2) % 3];
            survivor.send("put after-" + i + " w" + i);
        }
        await("the writes after the kill answered", () -> answered("after-") == WRITES);
        final long afterAcks = acknowledged.keySet().stream().filter(key -> key.startsWith("after-")).count();
        assertTrue(afterAcks > 0, () -> "the survivors acknowledge writes; failed: " + failed);

        nodes[victim] = new Node(names[victim]);
        await("the restarted node to know a leader", () -> nodes[victim].leaderId != 0);
        for (final Node node : nodes) {
            for (final String key : acknowledged.keySet()) {
                node.send("get " + key);
            }
        }
        await("every acknowledged key read on every node", () -> {
            for (final Node node : nodes) {
                if (!node.values.keySet().containsAll(acknowledged.keySet())) {
                    return false;
                }
            }
            return true;
        });
        for (final Node node : nodes) {
            for (final String key : acknowledged.keySet()) {
                final String expected = (key.startsWith("before-") ? "v" : "w") + key.substring(key.indexOf('-') + 1);
                assertEquals(expected, node.values.get(key), key + " on " + node.name);
            }
        }
        System.out.println(acknowledged.size() + " writes acknowledged (" + afterAcks + " after killing the leader, id "
            + Integer.toHexString(killedId) + "), " + failed.size() + " refused or unknown " + failed.values()
            + "; all read back on all three nodes");
    }

    private long answered(final String prefix) {
        return acknowledged.keySet().stream().filter(key -> key.startsWith(prefix)).count()
            + failed.keySet().stream().filter(key -> key.startsWith(prefix)).count();
    }

    private int leader() {
        for (int i = 0; i < 3; i++) {
            if (nodes[i] != null && nodes[i].process.isAlive() && nodes[i].role == Role.LEADER) {
                return i;
            }
        }
        return -1;
    }

    private static void await(final String what, final BooleanSupplier condition) throws InterruptedException {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_S);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, what + " within " + WAIT_S + " s");
            Thread.sleep(20);
        }
    }

    private static int freePort() throws IOException {
        try (DatagramSocket socket = new DatagramSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
