package io.cairn.server;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: the cluster stays linearizable and loses nothing acknowledged when the network itself fails — through the
 * kernel, not inside the process: Aeron's own sessions, the client links and every member-to-member path are cut
 * where a real network cuts them.
 *
 * <p>Method: three network namespaces (made here: {@code ip netns}, veth pairs on a bridge, 10.77.N.1–3, the test
 * on 10.77.N.254), one {@code cairn member} in each, listening on 0.0.0.0 and advertising its address as etcd runs
 * in a pod (listen and advertise URLs apart, client and peer); faults are nftables rules inside a member's namespace
 * (Debian's {@code nftables}, which {@code ./test} installs). Four clients on 16 registers and unique keys
 * ({@link RegisterWorkload}). Faults, each held a few seconds then healed: the leader isolated from everything
 * (peers and clients); the leader deaf (it drops what its peers send, so they still hear it: an asymmetric
 * partition); a bridge partition (the leader and one follower cut from each other, the third member reaching both);
 * 20 % of every member's incoming packets dropped at random; the leader's client port closed to the clients only;
 * the leader's outgoing traffic throttled to 64 KB/s. Then: the history linearizable, every acknowledged key on every
 * member, the hashes equal, the corruption check quiet. Needs root (skipped, saying so, without it).
 */
@Timeout(1800) // long modes (rounds) included
class NetworkFaultIT {
    private static final int REGISTERS = 16;
    private static final String TABLE = "cairnfault";
    /** How many times the six faults repeat ({@code -Dcairn.network.rounds}, 1 in {@code ./test}). */
    private static final int ROUNDS = Integer.getInteger("cairn.network.rounds", 1);

    @TempDir
    Path dir;

    private final int net = 1 + ThreadLocalRandom.current().nextInt(250);
    private final List<String> namespaces = new ArrayList<>();
    private boolean bridge;
    private ProcessCluster cairn;
    private RegisterWorkload load;

    @AfterEach
    void stop() throws Exception {
        if (load != null) {
            load.stop();
        }
        if (cairn != null) {
            cairn.close();
        }
        for (final String namespace : namespaces) {
            run(false, "ip", "netns", "del", namespace);
        }
        if (bridge) {
            run(false, "ip", "link", "del", bridgeName());
        }
    }

    @Test
    void shouldStayLinearizableThroughKernelNetworkFaults() throws Exception {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "NetworkFaultIT needs root to make"
            + " network namespaces: skipped");
        makeNetwork();
        final String[] hosts = new String[3];
        final List<List<String>> prefixes = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            hosts[i] = address(i);
            prefixes.add(List.of("ip", "netns", "exec", namespaces.get(i)));
        }
        // Each member listens on every interface of its namespace and advertises its address (a pod's flags).
        cairn = ProcessCluster.prepareCairnAt(dir, "NetworkFaultIT", hosts, prefixes).listeningOnEveryInterface()
            .withFlags("--experimental-corrupt-check-time", "1s");
        cairn.startAll();
        Await.until("a leader", 60, () -> cairn.leader() >= 0);
        load = new RegisterWorkload(cairn, "net/", REGISTERS, System.nanoTime());
        load.start(4);
        final List<String> done = new ArrayList<>();
        final List<String> faults = new ArrayList<>();
        for (int round = 0; round < ROUNDS; round++) {
            faults.addAll(List.of("isolate", "deaf", "bridge", "loss", "clients", "throttle"));
        }
        for (final String fault : faults) {
            load.awaitWrites(150, "before " + fault);
            final int[] found = {-1};
            Await.until("a leader", 60, () -> (found[0] = cairn.leader()) >= 0);
            final int leader = found[0];
            final int follower = (leader + 1) % 3;
            switch (fault) {
                case "isolate" -> rule(leader, "input ip saddr 10.77." + net + ".0/24 drop",
                    "output ip daddr 10.77." + net + ".0/24 drop");
                case "deaf" -> rule(leader, "input ip saddr { " + address(follower) + ", "
                    + address((leader + 2) % 3) + " } drop");
                case "bridge" -> {
                    rule(leader, "input ip saddr " + address(follower) + " drop");
                    rule(follower, "input ip saddr " + address(leader) + " drop");
                }
                case "loss" -> {
                    for (int i = 0; i < 3; i++) {
                        rule(i, "input numgen random mod 100 < 20 drop");
                    }
                }
                case "clients" -> rule(leader, "input ip saddr " + testAddress() + " tcp dport "
                    + cairn.endpoint(leader).substring(cairn.endpoint(leader).lastIndexOf(':') + 1) + " drop");
                default -> rule(leader, "output limit rate over 64 kbytes/second drop");
            }
            final long startNs = System.nanoTime(); // the rules are in place
            final long recoveredMs = load.awaitWriteAfter(startNs, "during " + fault);
            Thread.sleep(3_000);
            for (int i = 0; i < 3; i++) {
                run(true, "ip", "netns", "exec", namespaces.get(i), "nft", "flush", "table", "inet", TABLE);
            }
            done.add(fault + " (m" + (leader + 1) + ") " + recoveredMs + " ms");
        }
        load.awaitWrites(100, "after healing");
        load.stop();
        final String verdict = load.finalReadsAndCheck();
        System.out.printf("NetworkFaultIT: faults (first write acknowledged after) %s; %d operations, %d writes"
            + " acknowledged; linearizable: %s%n", done, load.operations(), load.okWrites(),
            verdict == null ? "yes" : verdict);
        assertNull(verdict, verdict);
        load.assertEveryAcknowledgedKeyOnEveryMember();
        final long revision = load.revision();
        for (int i = 1; i < 3; i++) {
            assertEquals(cairn.hashKv(0, revision), cairn.hashKv(i, revision), "member " + i + "'s keyspace hash");
        }
        cairn.assertCorruptionChecksFoundNoDifference();
    }

    private String bridgeName() {
        return "cbr" + net;
    }

    private String address(final int i) {
        return "10.77." + net + "." + (i + 1);
    }

    private String testAddress() {
        return "10.77." + net + ".254";
    }

    /** A bridge with the test's address, and a namespace per member on it with an empty nftables table. */
    private void makeNetwork() throws Exception {
        run(true, "ip", "link", "add", bridgeName(), "type", "bridge");
        bridge = true;
        run(true, "ip", "addr", "add", testAddress() + "/24", "dev", bridgeName());
        run(true, "ip", "link", "set", bridgeName(), "up");
        for (int i = 0; i < 3; i++) {
            final String namespace = "cairn" + net + "-m" + i;
            final String host = "c" + net + "h" + i;
            final String inside = "c" + net + "n" + i;
            run(true, "ip", "netns", "add", namespace);
            namespaces.add(namespace);
            run(true, "ip", "-n", namespace, "link", "set", "lo", "up");
            run(true, "ip", "link", "add", host, "type", "veth", "peer", "name", inside);
            run(true, "ip", "link", "set", inside, "netns", namespace);
            run(true, "ip", "link", "set", host, "master", bridgeName());
            run(true, "ip", "link", "set", host, "up");
            run(true, "ip", "-n", namespace, "addr", "add", address(i) + "/24", "dev", inside);
            run(true, "ip", "-n", namespace, "link", "set", inside, "up");
            final Path rules = dir.resolve("nft-" + i);
            Files.writeString(rules, "table inet " + TABLE + " {\n"
                + "  chain input { type filter hook input priority 0; policy accept; }\n"
                + "  chain output { type filter hook output priority 0; policy accept; }\n}\n");
            run(true, "ip", "netns", "exec", namespace, "nft", "-f", rules.toString());
        }
    }

    /** Adds rules ("input ..." or "output ...") to member {@code i}'s table. */
    private void rule(final int i, final String... rules) throws Exception {
        for (final String rule : rules) {
            final List<String> command = new ArrayList<>(List.of("ip", "netns", "exec", namespaces.get(i), "nft",
                "add", "rule", "inet", TABLE));
            command.addAll(List.of(rule.split(" ")));
            run(true, command.toArray(new String[0]));
        }
    }

    private static void run(final boolean check, final String... command) throws Exception {
        final Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        final String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        final boolean exited = process.waitFor(30, TimeUnit.SECONDS);
        if (check) {
            assertTrue(exited && process.exitValue() == 0, String.join(" ", command) + " failed (ip and nft are"
                + " Debian's iproute2 and nftables; ./test installs them): " + output);
        }
    }
}
