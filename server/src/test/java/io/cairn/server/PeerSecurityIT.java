package io.cairn.server;

import io.cairn.embedded.cluster.Topology;
import io.cairn.engine.JavaChild;
import io.cairn.server.tls.Certificates;
import io.etcd.jetcd.api.MaintenanceGrpc;
import io.etcd.jetcd.api.StatusRequest;
import io.etcd.jetcd.api.StatusResponse;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: with peer certificates, nobody without a member's key can speak Raft to a member; without them, anyone can
 * (what the README warns of). Method: a CA and a peer certificate for 127.0.0.1 made with {@link Certificates}; three
 * {@code cairn member} processes with {@code https://} peer URLs, {@code --peer-cert-file}, {@code --peer-key-file},
 * {@code --peer-trusted-ca-file} and {@code --peer-client-cert-auth}; Debian's {@code etcdctl} writes through a
 * follower. Then {@link HostilePeer}, a process of its own that knows the frame formats and the member IDs, sends
 * each member for 4 s heartbeats, appends, vote requests and TimeoutNows claiming to come from the leader (or, at the
 * leader, from a follower) at a term 1,000 above the current one, in plaintext frames and in frames sealed under keys
 * it made up. Checked: every member's term, leader and revision are unchanged, the key reads the same, each
 * member's {@code /metrics} counts the refusals by reason and its log says so, and a write afterwards works. The
 * same process against a plaintext cluster moves the target's term up by about 1,000: the check can fail, and
 * plaintext mode is as open as documented.
 */
class PeerSecurityIT {
    @TempDir
    Path dir;

    @AutoClose
    private ProcessCluster secured;

    @AutoClose
    private ProcessCluster plain;

    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    void shouldRefuseEveryFrameAProcessWithoutTheKeysSends() throws Exception {
        secured = ProcessCluster.prepareCairn(dir.resolve("secured"), "PeerSecurityIT", 3)
            .withPeerCertificates(dir.resolve("pki"));
        secured.startAll();
        Await.until("a leader over sealed frames", 60, () -> secured.leader() >= 0);
        final int leader = secured.leader();
        final int follower = (leader + 1) % 3;
        assertEquals("OK", EtcdctlCompatibilityIT.etcdctl(secured.endpoint(follower), null, "put", "sealed", "v1")
            .trim());
        final StatusResponse[] before = new StatusResponse[3];
        Await.until("every member at the same revision", 20, () -> {
            for (int i = 0; i < 3; i++) {
                before[i] = status(secured, i);
            }
            return before[0].getHeader().getRevision() == before[1].getHeader().getRevision()
                && before[1].getHeader().getRevision() == before[2].getHeader().getRevision();
        });

        final List<Process> hostiles = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            final int claimed = i == leader ? follower : leader;
            hostiles.add(hostile(secured, i, claimed, before[i].getRaftTerm() + 1000));
        }
        for (final Process hostile : hostiles) {
            assertTrue(hostile.waitFor(60, TimeUnit.SECONDS), "the hostile process ends");
            final String out = new String(hostile.getInputStream().readAllBytes()).trim();
            assertTrue(out.startsWith("sent ") && Long.parseLong(out.substring(5)) > 100, out);
        }
        Thread.sleep(2_000); // an election the forgeries might have started would show by now
        for (int i = 0; i < 3; i++) {
            final StatusResponse after = status(secured, i);
            assertEquals(before[i].getRaftTerm(), after.getRaftTerm(), secured.name(i) + "'s term");
            assertEquals(before[i].getLeader(), after.getLeader(), secured.name(i) + "'s leader");
            assertEquals(before[i].getHeader().getRevision(), after.getHeader().getRevision(),
                secured.name(i) + "'s revision");
            final long notSealed = secured.metric(i, "cairn_peer_frames_rejected_total{reason=\"not_sealed\"}");
            final long forged = secured.metric(i, "cairn_peer_frames_rejected_total{reason=\"bad_tag\"}")
                + secured.metric(i, "cairn_peer_frames_rejected_total{reason=\"unknown_key\"}");
            System.out.println("PeerSecurityIT: " + secured.name(i) + " refused " + notSealed + " plaintext and "
                + forged + " forged sealed frames");
            assertTrue(notSealed > 100 && forged > 100, secured.name(i) + ": " + notSealed + ", " + forged);
            assertTrue(secured.log(i).contains("refused a peer frame"), secured.name(i) + " logs the refusals");
        }
        assertEquals("sealed\nv1", EtcdctlCompatibilityIT.etcdctl(secured.endpoint(leader), null, "get", "sealed")
            .trim());
        assertEquals("OK", EtcdctlCompatibilityIT.etcdctl(secured.endpoint(follower), null, "put", "sealed", "v2")
            .trim());
        secured.close();

        // The control: the same process against plaintext members moves a follower's term as it likes.
        plain = ProcessCluster.startCairn(dir.resolve("plain"), "PeerSecurityIT-plain", 3);
        Await.until("a leader", 60, () -> plain.leader() >= 0);
        final int plainLeader = plain.leader();
        final int target = (plainLeader + 1) % 3;
        final long term = status(plain, target).getRaftTerm();
        final Process hostile = hostile(plain, target, plainLeader, term + 1000);
        assertTrue(hostile.waitFor(60, TimeUnit.SECONDS), "the hostile process ends");
        final long moved = status(plain, target).getRaftTerm();
        System.out.println("PeerSecurityIT: plaintext " + plain.name(target) + "'s term went from " + term + " to "
            + moved);
        assertTrue(moved >= term + 1000, "a plaintext member believed the forged frames: term " + term + " -> "
            + moved);
    }

    private static StatusResponse status(final ProcessCluster cluster, final int i) {
        return MaintenanceGrpc.newBlockingStub(cluster.channel(i)).withDeadlineAfter(5, TimeUnit.SECONDS)
            .status(StatusRequest.getDefaultInstance());
    }

    private Process hostile(final ProcessCluster cluster, final int target, final int claimed, final long term)
        throws Exception {
        final List<String> command = JavaChild.command(List.of("-Xmx128m"), HostilePeer.class.getName(), List.of(
            Topology.hostPort(cluster.peerUrl(target)), Integer.toString(Topology.idOf(cluster.peerUrl(claimed))),
            Integer.toString(Topology.idOf(cluster.peerUrl(target))), Long.toString(term), "4"));
        return new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.appendTo(
            dir.resolve("hostile-" + target + ".log").toFile())).start();
    }
}
