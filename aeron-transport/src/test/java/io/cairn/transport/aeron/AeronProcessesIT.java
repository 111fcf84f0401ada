package io.cairn.transport.aeron;

import io.cairn.consensus.Role;
import io.cairn.engine.JavaChild;
import io.cairn.engine.mvcc.CommandEncoder;
import io.cairn.engine.mvcc.MvccConfig;
import io.cairn.engine.mvcc.MvccError;
import io.cairn.engine.mvcc.MvccReader;
import io.cairn.engine.mvcc.MvccStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: a three-member cluster of real processes replicating over Aeron UDP loses nothing it acknowledged when its
 * leader is SIGKILLed, again and again, and each killed member comes back from its data directory. Method: three
 * {@link MemberProcess} JVMs on free loopback ports; the leader writes and prints an ACK per committed put; the test
 * kills the leader by PID three times (restarting it each time and waiting until it has caught up, by log or by
 * snapshot, while the new leader keeps writing), then pauses the writers, stops everyone cleanly and opens every
 * member's keyspace: every acknowledged key must be in all three. Every wait is bounded; every process is stopped by
 * PID, and its output kept in the data directory for a failure's post-mortem.
 */
@Timeout(300)
class AeronProcessesIT {
    private static final int KILLS = 3;

    @TempDir
    Path dir;

    private final Member[] members = new Member[4];
    private final Set<String> acknowledged = ConcurrentHashMap.newKeySet();
    private String endpoints;

    /** One child JVM and what it last said. */
    final class Member {
        final int id;
        final Process process;
        final Path log;
        volatile int role = -1;
        volatile long applied;
        volatile boolean stopped;
        volatile String last = "";

        Member(final int id) throws IOException {
            this.id = id;
            final List<String> command = JavaChild.command(
                List.of("-Dcairn.it.writesPerSecond=" + Long.getLong("cairn.it.writesPerSecond", 3_000)),
                MemberProcess.class.getName(), List.of(Integer.toString(id), dir.resolve("node-" + id).toString(),
                    endpoints));
            // Logs outlive the temporary data directory: target/it-logs, for a failure's post-mortem.
            final Path logs = Path.of("target", "it-logs", "AeronProcessesIT");
            Files.createDirectories(logs);
            log = logs.resolve("node-" + id + ".stderr");
            process = JavaChild.start(command, log, "member-" + id + "-stdout", this::onLine);
        }

        private void onLine(final String line) {
            if (line.startsWith("ACK ")) {
                acknowledged.add(line.substring(4));
            } else if (line.startsWith("STATUS ")) {
                last = line;
                final String[] parts = line.split(" ");
                role = Integer.parseInt(parts[1]);
                applied = Long.parseLong(parts[2]);
            } else if (line.equals("STOPPED")) {
                stopped = true;
            }
        }

        void kill() throws InterruptedException {
            process.destroyForcibly(); // SIGKILL, by PID
            assertTrue(process.waitFor(30, TimeUnit.SECONDS), "member " + id + " did not die");
        }

        void send(final String command) throws IOException {
            final OutputStream in = process.getOutputStream();
            in.write((command + "\n").getBytes(StandardCharsets.UTF_8));
            in.flush();
        }

        void stop() throws IOException, InterruptedException {
            if (!process.isAlive()) {
                return;
            }
            send("stop");
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(30, TimeUnit.SECONDS);
            }
        }
    }

    @AfterEach
    void stopAll() throws Exception {
        for (int id = 1; id <= 3; id++) {
            if (members[id] != null && members[id].process.isAlive()) {
                members[id].process.destroyForcibly();
                members[id].process.waitFor(30, TimeUnit.SECONDS);
            }
        }
    }

    private static int freePort() throws IOException {
        return AeronMembers.freePort();
    }

    private void await(final String what, final long seconds, final BooleanSupplier condition)
        throws InterruptedException {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() >= deadline) {
                final StringBuilder state = new StringBuilder();
                for (int id = 1; id <= 3; id++) {
                    if (members[id] != null) {
                        state.append("; member ").append(id)
                            .append(members[id].process.isAlive() ? " alive " : " dead ").append(members[id].last);
                        if (!members[id].process.isAlive()) {
                            state.append(" (its last words: ").append(lastLines(members[id].log, 6)).append(')');
                        }
                    }
                }
                throw new AssertionError("timed out waiting for " + what + ", acknowledged " + acknowledged.size()
                    + state);
            }
            Thread.sleep(20);
        }
    }

    /** The end of a member's log, for a failure message: CI shows the message, not the files. */
    private static String lastLines(final Path log, final int count) {
        try {
            final List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join(" | ", lines.subList(Math.max(0, lines.size() - count), lines.size()));
        } catch (final IOException ex) {
            return "unreadable: " + ex;
        }
    }

    private int leader() {
        for (int id = 1; id <= 3; id++) {
            if (members[id] != null && members[id].process.isAlive() && members[id].role == Role.LEADER) {
                return id;
            }
        }
        return 0;
    }

    @Test
    void shouldLoseNothingAcknowledgedWhenLeaderIsKilledAndComesBack() throws Exception {
        endpoints = "1=127.0.0.1:" + freePort() + ",2=127.0.0.1:" + freePort() + ",3=127.0.0.1:" + freePort();
        for (int id = 1; id <= 3; id++) {
            members[id] = new Member(id);
        }
        for (int round = 1; round <= KILLS; round++) {
            await("a leader (round " + round + ")", 60, () -> leader() != 0);
            final int before = acknowledged.size();
            await("acknowledged writes (round " + round + ")", 60, () -> acknowledged.size() >= before + 2_000);
            final int[] found = {0};
            await("the leader to kill", 60, () -> (found[0] = leader()) != 0);
            final int victim = found[0];
            members[victim].kill();
            final int atKill = acknowledged.size();
            await("a new leader after killing " + victim, 60, () -> leader() != 0 && leader() != victim);
            await("writes under the new leader", 60, () -> acknowledged.size() >= atKill + 1_000);
            long appliedElsewhere = 0;
            for (int id = 1; id <= 3; id++) {
                appliedElsewhere = id == victim ? appliedElsewhere : Math.max(appliedElsewhere, members[id].applied);
            }
            final long leaderApplied = appliedElsewhere;
            members[victim] = new Member(victim);
            // It catches up (by log or by snapshot) while the leader keeps writing.
            await("member " + victim + " to catch up under writes", 90,
                () -> members[victim].applied >= leaderApplied);
        }
        for (int id = 1; id <= 3; id++) {
            members[id].send("pause");
        }
        await("all members to apply the same log", 60, () -> members[1].applied > 0
            && members[1].applied == members[2].applied && members[2].applied == members[3].applied);
        for (int id = 1; id <= 3; id++) {
            members[id].stop();
            assertTrue(members[id].stopped || !members[id].process.isAlive(), "member " + id + " stopped");
        }
        System.out.println(acknowledged.size() + " acknowledged writes across " + KILLS + " leader kills");
        for (int id = 1; id <= 3; id++) {
            assertEquals(0, missing(dir.resolve("node-" + id).resolve("kv")), "member " + id
                + " lost acknowledged writes");
        }
        for (int id = 1; id <= 3; id++) {
            final String own = endpoints.split(",")[id - 1].split("=")[1];
            final Path driver = Path.of(AeronTransportConfig.of(id, own, java.util.Map.of()).embeddedDirectory());
            assertTrue(!Files.exists(driver), "driver directory " + driver + " left behind");
        }
    }

    private long missing(final Path keyspace) throws IOException {
        long missing = 0;
        try (MvccStore store = MvccStore.open(MvccConfig.defaults(keyspace));
            MvccReader reader = store.newReader()) {
            final CommandEncoder get = new CommandEncoder();
            for (final String key : acknowledged) {
                final byte[] bytes = key.getBytes(StandardCharsets.UTF_8);
                get.reset().range(new org.agrona.concurrent.UnsafeBuffer(bytes), 0, bytes.length, null, 0, 0, 0, 0,
                    0);
                assertEquals(MvccError.OK, reader.range(get.buffer(), 0, kv -> true));
                missing += reader.count() == 1 ? 0 : 1;
            }
        }
        return missing;
    }
}
