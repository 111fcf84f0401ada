package io.cairn.server.cli;

import io.cairn.server.CairnMember;
import io.cairn.embedded.NodeConfig;
import io.cairn.embedded.cluster.Topology;
import org.agrona.CloseHelper;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * {@code ./cairn}: three members in this one process, laid out as etcd's own local-cluster Procfile (clients on
 * 127.0.0.1:2379, :22379, :32379; peers on :12380, :22380, :32380, here Aeron UDP), data under one folder. Each
 * member has its own files, loop, Aeron driver directory and gRPC server, exactly as when run one per process; only
 * the JVM is shared (two cores run one JVM better than three). Ctrl-C (SIGINT/SIGTERM) closes them cleanly.
 */
final class LocalCluster {
    static final String[] NAMES = {"infra1", "infra2", "infra3"};
    static final int[] CLIENT_PORTS = {2379, 22379, 32379};
    static final int[] PEER_PORTS = {12380, 22380, 32380};

    private LocalCluster() {
    }

    static int run(final Path data, final PrintStream out, final PrintStream err) {
        final StringBuilder peers = new StringBuilder();
        final StringBuilder clients = new StringBuilder();
        for (int i = 0; i < NAMES.length; i++) {
            peers.append(i == 0 ? "" : ",").append(NAMES[i]).append("=http://127.0.0.1:").append(PEER_PORTS[i]);
            clients.append(i == 0 ? "" : ",").append(NAMES[i]).append("=http://127.0.0.1:")
                .append(CLIENT_PORTS[i]);
        }
        final Topology topology = Topology.parse(peers.toString(), clients.toString());
        final List<AutoCloseable> running = new ArrayList<>();
        try {
            // Each member embeds its own media driver, run by its own loop, which sleeps on the driver's sockets: an
            // idle local cluster polls nothing.
            for (int i = 0; i < NAMES.length; i++) {
                running.add(0, CairnMember.start(new CairnMember.Config(NodeConfig.of(NAMES[i], topology,
                    data.resolve(NAMES[i])).withClientUrl("http://127.0.0.1:" + CLIENT_PORTS[i]), null)));
            }
        } catch (final IOException | RuntimeException ex) {
            err.println("cairn: cannot start the local cluster: " + ex.getMessage());
            running.forEach(CloseHelper::quietClose);
            return 1;
        }
        out.println("cairn: local cluster of 3 members, data in " + data.toAbsolutePath());
        for (int i = 0; i < NAMES.length; i++) {
            out.println("  " + NAMES[i] + "  clients http://127.0.0.1:" + CLIENT_PORTS[i]
                + " (gRPC, JSON, /metrics)  peers udp 127.0.0.1:"
                + PEER_PORTS[i]);
        }
        out.println("try: ETCDCTL_API=3 etcdctl --endpoints=127.0.0.1:2379,127.0.0.1:22379,127.0.0.1:32379"
            + " put foo bar   (Ctrl-C stops the cluster)");
        out.flush();
        serveUntilStopped(running);
        return 0;
    }

    /**
     * Blocks until the JVM is asked to stop (Ctrl-C, SIGTERM), then closes the members from the shutdown hook.
     *
     * @param members what to close, in order.
     */
    static void serveUntilStopped(final List<? extends AutoCloseable> members) {
        final CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            members.forEach(CloseHelper::quietClose);
            stopped.countDown();
        }, "cairn-shutdown"));
        try {
            stopped.await();
        } catch (final InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }
}
