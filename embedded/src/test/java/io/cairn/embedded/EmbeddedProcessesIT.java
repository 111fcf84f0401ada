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
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: three services that each embed a node ({@link NodeProcess}, one JVM each) are one cluster; when the leader's
 * process is SIGKILLed the other two carry on, and when it is restarted from its data directory every write any of
 * them acknowledged — before or after the kill — is read back, linearizably, from every node. Method: writes spread
 * over the processes (each answers from its own apply, forwarding to the leader inside Raft), the leader killed by PID
 * mid-way, more writes to the survivors, the killed node restarted, then a get of every acknowledged key on all three.
 * And a member replaced while they run: a fourth service added as a learner through a follower, started, promoted
 * through another, a follower removed through the new one, the new one SIGKILLed and restarted, every write read back.
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
    private final Node[] nodes = new Node[4];
    private String cluster;

    /** One node's process and what it printed. */
    private final class Node {
        final String name;
        final Process process;
        final Map<String, String> values = new ConcurrentHashMap<>();
        final BlockingQueue<String> memberAnswers = new LinkedBlockingQueue<>();
        volatile String members = "";
        volatile long count = -1;
        volatile int role = -1;
        volatile int leaderId;
        volatile int selfId;

        Node(final String name) throws IOException {
            this(name, false);
        }

        Node(final String name, final boolean joining) throws IOException {
            this.name = name;
            final Path logs = Path.of("target", "it-logs", "EmbeddedProcessesIT");
            Files.createDirectories(logs);
            final List<String> args = joining ? List.of(name, dir.resolve(name).toString(), cluster, "existing")
                : List.of(name, dir.resolve(name).toString(), cluster);
            process = JavaChild.start(JavaChild.command(List.of(), NodeProcess.class.getName(), args),
                logs.resolve(name + ".stderr"), "node-" + name + "-stdout", this::onLine);
        }

        // The next membership answer, bounded.
        String memberAnswer() throws InterruptedException {
            final String answer = memberAnswers.poll(WAIT_S, TimeUnit.SECONDS);
            assertNotNull(answer, name + " answers a membership call within " + WAIT_S + " s");
            return answer;
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
                case "MEMBER" -> memberAnswers.add(line);
                case "MEMBERS" -> members = line;
                case "COUNT" -> count = Long.parseLong(parts[2]);
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
        final String[] names = startThree();

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
        assertEveryAcknowledgedRead(List.of(nodes[0], nodes[1], nodes[2]), "before-");
        System.out.println(acknowledged.size() + " writes acknowledged (" + afterAcks + " after killing the leader, id "
            + Integer.toHexString(killedId) + "), " + failed.size() + " refused or unknown " + failed.values()
            + "; all read back on all three nodes");
    }

    @Test
    void shouldReplaceAMemberOfRunningServicesAndKeepEveryWrite() throws Exception {
        startThree();
        for (int i = 0; i < 30; i++) {
            nodes[i % 3].send("put early-" + i + " v" + i);
        }
        await("the first writes answered", () -> answered("early-") == 30);

        // A fourth service is added as a learner through a follower, starts, catches up and publishes its name.
        final int leader = leader();
        final Node through = nodes[(leader + 1) % 3];
        final String url = "http://127.0.0.1:" + freePort();
        through.send("add " + url + " true");
        final String added = through.memberAnswer();
        assertTrue(added.startsWith("MEMBER add OK "), added);
        final long newId = Long.parseLong(added.substring("MEMBER add OK ".length()));
        cluster = cluster + ",d=" + url;
        nodes[3] = new Node("d", true);
        final Node joined = nodes[3];
        final long early = acknowledged.keySet().stream().filter(key -> key.startsWith("early-")).count();
        awaitPolling("the new member to publish its name and catch up", () -> {
            nodes[leader].send("members");
            joined.send("count early-");
        }, () -> nodes[leader].members.contains(" " + newId + ":d:true") && joined.count == early);

        // Promoted through the third service (a learner is promoted once in sync); a follower removed through it.
        final Node third = nodes[(leader + 2) % 3];
        String promoted;
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_S);
        do {
            assertTrue(System.nanoTime() < deadline, "promoted within " + WAIT_S + " s");
            third.send("promote " + newId);
            promoted = third.memberAnswer();
        } while (promoted.equals("MEMBER promote FAIL LEARNER_NOT_READY") && sleep(200));
        assertEquals("MEMBER promote OK " + newId, promoted);
        joined.send("remove " + through.selfId);
        assertEquals("MEMBER remove OK " + through.selfId, joined.memberAnswer());
        through.stop();

        // The three that remain take writes; the new member is SIGKILLed and restarted; nothing is lost.
        for (int i = 0; i < 30; i++) {
            (i % 2 == 0 ? joined : third).send("put later-" + i + " w" + i);
        }
        await("the later writes answered", () -> answered("later-") == 30);
        assertEquals(30, acknowledged.keySet().stream().filter(key -> key.startsWith("later-")).count(),
            () -> "with a stable leader every write is acknowledged; failed: " + failed);
        joined.kill();
        nodes[3] = new Node("d", true); // its files decide now: the flag only matters to a new data directory
        await("the restarted member to know a leader", () -> nodes[3].leaderId != 0);
        assertEveryAcknowledgedRead(List.of(nodes[leader], third, nodes[3]), "early-");
    }

    /**
     * Gets every acknowledged key, linearizably, on each of {@code members}, and checks its value: "v" and the key's
     * number for keys with {@code firstPrefix}, "w" and the number for the others.
     */
    private void assertEveryAcknowledgedRead(final List<Node> members, final String firstPrefix) throws Exception {
        for (final Node node : members) {
            for (final String key : acknowledged.keySet()) {
                node.send("get " + key);
            }
        }
        await("every acknowledged key read on " + members.size() + " members", () -> members.stream()
            .allMatch(node -> node.values.keySet().containsAll(acknowledged.keySet())));
        for (final Node node : members) {
            for (final String key : acknowledged.keySet()) {
                final String expected = (key.startsWith(firstPrefix) ? "v" : "w") + key.substring(key.indexOf('-') + 1);
                assertEquals(expected, node.values.get(key), key + " on " + node.name);
            }
        }
    }

    private static boolean sleep(final long ms) throws InterruptedException {
        Thread.sleep(ms);
        return true;
    }

    // Asks (every 200 ms) and waits for the answers to satisfy the condition, bounded.
    private static void awaitPolling(final String what, final ThrowingRunnable ask, final BooleanSupplier condition)
        throws Exception {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_S);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, what + " within " + WAIT_S + " s");
            ask.run();
            Thread.sleep(200);
        }
    }

    @FunctionalInterface
    private interface ThrowingRunnable {
        void run() throws Exception;
    }

    // Three services, one node each, and a leader among them; returns their names.
    private String[] startThree() throws Exception {
        cluster = "a=http://127.0.0.1:" + freePort() + ",b=http://127.0.0.1:" + freePort() + ",c=http://127.0.0.1:"
            + freePort();
        final String[] names = {"a", "b", "c"};
        for (int i = 0; i < 3; i++) {
            nodes[i] = new Node(names[i]);
        }
        await("a leader", () -> leader() >= 0);
        return names;
    }

    private long answered(final String prefix) {
        return acknowledged.keySet().stream().filter(key -> key.startsWith(prefix)).count()
            + failed.keySet().stream().filter(key -> key.startsWith(prefix)).count();
    }

    private int leader() {
        for (int i = 0; i < nodes.length; i++) {
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
        return FreePorts.udp();
    }
}
