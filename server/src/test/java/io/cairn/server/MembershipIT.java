package io.cairn.server;

import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static io.cairn.server.EtcdctlCompatibilityIT.etcdctl;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: etcd's runtime reconfiguration works with etcdctl as etcd's documentation tells it — add a member (as a
 * learner, then promote it; or as a voter), start it with {@code --initial-cluster-state existing}, remove a member
 * (the leader included), and refuse what etcd refuses with etcd's messages — and no write is lost on the way.
 * Method: three {@code cairn member} processes and two spare ports; etcdctl drives every change through any member
 * (followers forward to the leader); the joined member is SIGKILLed and restarted from its data directory; after
 * the leader is removed, the four remaining members must serve every key written, by linearizable and by local
 * reads, and report the same keyspace hash.
 */
@Timeout(240)
class MembershipIT {
    private static final Pattern ADDED = Pattern.compile("Member\\s+([0-9a-f]+) added to cluster\\s+([0-9a-f]+)");
    private static final Pattern LEADER = Pattern.compile("\"leader\":(\\d+)");

    @TempDir
    Path dir;

    @AutoClose // closed after each test, before its temporary directory goes
    private ProcessCluster cairn;

    @Test
    void shouldAddPromoteRemoveMembersWithEtcdctl() throws Exception {
        cairn = ProcessCluster.startCairn(dir, "MembershipIT", 3, 2);
        final List<String> written = new ArrayList<>();
        put(cairn.endpoints(), "k0", written);

        // A learner, added through a follower or the leader (whichever member 0 is).
        final String added = etcdctl(cairn.endpoint(0), null, "member", "add", "m4", "--learner",
            "--peer-urls=" + cairn.peerUrl(3));
        final Matcher addedId = ADDED.matcher(added);
        assertTrue(addedId.find(), added);
        final String learnerId = addedId.group(1);
        assertTrue(added.contains("ETCD_NAME=\"m4\"") && added.contains("ETCD_INITIAL_CLUSTER_STATE=\"existing\"")
            && added.contains("m4=" + cairn.peerUrl(3)), added);
        assertTrue(etcdctl(cairn.endpoints(), null, "member", "list").contains(
            learnerId + ", unstarted, , " + cairn.peerUrl(3) + ", , true"), "an added member is unstarted");

        // etcd's refusals, with its messages.
        assertTrue(etcdctl(cairn.endpoints(), null, "member", "add", "again", "--peer-urls=" + cairn.peerUrl(3))
            .contains("Error: etcdserver: Peer URLs already exists"));
        assertTrue(etcdctl(cairn.endpoints(), null, "member", "add", "m5", "--learner",
            "--peer-urls=" + cairn.peerUrl(4)).contains("Error: etcdserver: too many learner members in cluster"));
        assertTrue(etcdctl(cairn.endpoints(), null, "member", "remove", "123abc")
            .contains("Error: etcdserver: member not found"));
        final String voterId = etcdctl(cairn.endpoint(0), null, "endpoint", "status").split(",")[1].trim();
        assertTrue(etcdctl(cairn.endpoints(), null, "member", "promote", voterId)
            .contains("Error: etcdserver: can only promote a learner member"));

        // It joins — started with what member add printed, as variables — publishes its name and client URL, and
        // catches up; then it is promoted.
        cairn.useEtcdEnvironment(3, added);
        cairn.start(3);
        cairn.awaitPorts();
        Await.output(() -> etcdctl(cairn.endpoints(), null, "member", "list"),
            list -> list.contains(learnerId + ", started, m4, " + cairn.peerUrl(3) + ", http://"), "m4 started");
        // A learner answers what etcd's learners answer: status and serializable reads; nothing else.
        assertTrue(etcdctl(cairn.endpoint(3), null, "put", "on-learner", "x")
            .contains("etcdserver: rpc not supported for learner"));
        assertTrue(etcdctl(cairn.endpoint(3), null, "get", "k0").contains("etcdserver: rpc not supported for learner"));
        assertTrue(etcdctl(cairn.endpoint(3), null, "endpoint", "status").contains(cairn.endpoint(3)));
        Await.output(() -> etcdctl(cairn.endpoint(3), null, "get", "--consistency=s", "--prefix", ""),
            out -> !out.contains("Error"), "a serializable read on the learner");
        Await.output(() -> etcdctl(cairn.endpoints(), null, "member", "promote", learnerId),
            out -> out.contains(learnerId + " promoted in cluster"), "promotion (once the learner is in sync)");
        put(cairn.endpoint(3), "k1", written); // forwarded by the new member
        assertEquals("k1\nv-k1", etcdctl(cairn.endpoint(0), null, "get", "k1").strip());

        // SIGKILLed and restarted from its data directory with the same flags: back in the cluster.
        cairn.kill(3);
        put(cairn.endpoints(), "k2", written);
        cairn.start(3);
        cairn.awaitPorts();
        Await.output(() -> etcdctl(cairn.endpoint(3), null, "get", "k2"), out -> out.contains("v-k2"),
            "the restarted member serving k2");

        // A voter added directly (four started voters: etcd's strict check lets a fifth in).
        final Matcher voter = ADDED.matcher(etcdctl(cairn.endpoints(), null, "member", "add", "m5",
            "--peer-urls=" + cairn.peerUrl(4)));
        assertTrue(voter.find());
        cairn.start(4);
        cairn.awaitPorts();
        Await.output(() -> etcdctl(cairn.endpoint(4), null, "get", "k2"), out -> out.contains("v-k2"),
            "m5 serving k2");

        // Remove the leader through another member: the others elect a new one and go on.
        final Matcher leader = LEADER.matcher(etcdctl(cairn.endpoint(3), null, "endpoint", "status", "-w", "json"));
        assertTrue(leader.find());
        final String leaderId = Long.toHexString(Long.parseUnsignedLong(leader.group(1)));
        final int leaderPosition = position(leaderId);
        assertTrue(leaderPosition >= 0, "the leader is one of ours: " + leaderId);
        final int other = leaderPosition == 3 ? 4 : 3;
        assertTrue(etcdctl(cairn.endpoint(other), null, "member", "remove", leaderId)
            .contains(leaderId + " removed from cluster"));
        final String remaining = cairn.endpointsExcept(leaderPosition);
        Await.output(() -> etcdctl(remaining, null, "member", "list"), list -> !list.contains(leaderId + ",")
            && list.split("\n").length == 4, "four members left");
        // The removed leader steps down once the change commits; the others elect a leader after an election timeout.
        Await.output(() -> etcdctl(remaining, null, "put", "k3", "v-k3"), out -> out.strip().equals("OK"), "put k3");
        written.add("k3");
        awaitExit(leaderPosition, "the removed leader");

        // Remove a follower: the leader stops talking to it before it hears of the change, so it finds out by
        // asking the others once it has had no leader for a while, and stops too.
        final Matcher nowLeader = LEADER.matcher(etcdctl(remaining, null, "endpoint", "status", "-w", "json"));
        assertTrue(nowLeader.find());
        final String newLeaderId = Long.toHexString(Long.parseUnsignedLong(nowLeader.group(1)));
        int follower = -1;
        for (int i = 0; i < 5 && follower < 0; i++) {
            if (i != leaderPosition && i != position(newLeaderId)) {
                follower = i;
            }
        }
        final String followerId = etcdctl(cairn.endpoint(follower), null, "endpoint", "status").split(",")[1].trim();
        final String removal = etcdctl(remaining, null, "member", "remove", followerId);
        assertTrue(removal.contains(followerId + " removed"), removal);
        awaitExit(follower, "the removed follower");
        put(remaining, "k4", written);

        String hash = null;
        for (int i = 0; i < 5; i++) {
            if (i == leaderPosition || i == follower) {
                continue;
            }
            for (final String key : written) {
                assertEquals(key + "\nv-" + key, etcdctl(cairn.endpoint(i), null, "get", key).strip(), key + " @ " + i);
            }
            final String mine = etcdctl(cairn.endpoint(i), null, "endpoint", "hashkv").split(",")[1].trim();
            assertTrue(hash == null || hash.equals(mine), "keyspace hashes differ: " + hash + " vs " + mine);
            hash = mine;
        }
        assertFalse(written.isEmpty());
    }

    private void awaitExit(final int i, final String what) throws InterruptedException {
        assertTrue(cairn.process(i).waitFor(30, TimeUnit.SECONDS), what + " still runs 30 s after its removal");
        assertEquals(0, cairn.process(i).exitValue(), what + " exit status");
    }

    private int position(final String memberId) throws Exception {
        for (int i = 0; i < 5; i++) {
            final String status = etcdctl(cairn.endpoint(i), null, "endpoint", "status");
            if (status.split(",").length > 1 && status.split(",")[1].trim().equals(memberId)) {
                return i;
            }
        }
        return -1;
    }

    private static void put(final String endpoints, final String key, final List<String> written) throws Exception {
        final String out = etcdctl(endpoints, null, "put", key, "v-" + key);
        assertEquals("OK", out.strip(), "put " + key);
        written.add(key);
    }
}
