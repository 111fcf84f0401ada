package io.cairn.embedded;

import io.cairn.embedded.cluster.ClusterView;
import io.cairn.embedded.kv.RangeQuery;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Goal: one embedded node as its own JVM — a service that embeds Cairn — so a test can SIGKILL it by PID. Method: a
 * {@link CairnNode} driven by lines on stdin: {@code put <key> <value>} (answered {@code ACK <key> <revision>} once
 * applied here, or {@code FAIL <key> <error>}), {@code get <key>} (linearizable: {@code VALUE <key> <value>}, or
 * {@code -} when absent, or {@code FAIL <key> <error>}), membership calls {@code add <peer url> <learner>},
 * {@code promote <id>}, {@code remove <id>} (IDs in decimal; answered {@code MEMBER <call> OK <id>} or
 * {@code MEMBER <call> FAIL <error>}), {@code members} ({@code MEMBERS <id>:<name>:<learner> ...}), {@code stop}
 * (closes the node, prints {@code STOPPED}); every 100 ms {@code STATUS <role> <leader id> <self id>}.
 *
 * <p>{@code NodeProcess <name> <data dir> <initial cluster> [existing]}: with {@code existing}, a node added to a
 * running cluster (etcd's {@code --initial-cluster-state existing}).
 */
public final class NodeProcess {
    private NodeProcess() {
    }

    /**
     * @param args name, data directory, etcd's initial cluster.
     * @throws Exception if the node cannot start.
     */
    public static void main(final String[] args) throws Exception {
        final PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        final CairnNode node = CairnNode.start(NodeConfig.of(args[0], args[2], Path.of(args[1]))
            .withJoining(args.length > 3 && "existing".equals(args[3])));
        final Thread status = new Thread(() -> {
            while (!node.isClosed()) {
                synchronized (out) {
                    out.println("STATUS " + node.role() + " " + node.leaderId() + " " + node.selfId());
                }
                try {
                    Thread.sleep(100);
                } catch (final InterruptedException ex) {
                    return;
                }
            }
        }, "status");
        status.setDaemon(true);
        status.start();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                final String[] parts = line.split(" ");
                if ("put".equals(parts[0])) {
                    node.kv().put(parts[1], parts[2]).whenComplete((result, error) -> print(out, error == null
                        ? "ACK " + parts[1] + " " + result.revision() : "FAIL " + parts[1] + " " + reason(error)));
                } else if ("get".equals(parts[0])) {
                    node.kv().get(parts[1]).whenComplete((value, error) -> print(out, error != null
                        ? "FAIL " + parts[1] + " " + reason(error)
                        : "VALUE " + parts[1] + " " + value.map(kv -> kv.valueString()).orElse("-")));
                } else if ("count".equals(parts[0])) {
                    final long count = node.kv().range(RangeQuery.prefix(parts[1]).asSerializable().asCountOnly())
                        .get(10, TimeUnit.SECONDS).count();
                    print(out, "COUNT " + parts[1] + " " + count);
                } else if ("add".equals(parts[0])) {
                    answer(out, "add", node.cluster().add(List.of(parts[1]), Boolean.parseBoolean(parts[2]))
                        .thenApply(ClusterView.Member::id));
                } else if ("promote".equals(parts[0])) {
                    answer(out, "promote", node.cluster().promote(Long.parseLong(parts[1]))
                        .thenApply(view -> Long.parseLong(parts[1])));
                } else if ("remove".equals(parts[0])) {
                    answer(out, "remove", node.cluster().remove(Long.parseLong(parts[1]))
                        .thenApply(view -> Long.parseLong(parts[1])));
                } else if ("members".equals(parts[0])) {
                    final StringBuilder members = new StringBuilder("MEMBERS");
                    for (final ClusterView.Member member : node.view().members()) {
                        members.append(' ').append(member.id()).append(':').append(member.name()).append(':')
                            .append(member.learner());
                    }
                    print(out, members.toString());
                } else if ("stop".equals(parts[0])) {
                    break;
                }
            }
        }
        node.close();
        print(out, "STOPPED");
    }

    private static void answer(final PrintStream out, final String call, final CompletableFuture<? extends Number> id) {
        id.whenComplete((value, error) -> print(out, "MEMBER " + call + (error == null ? " OK " + value
            : " FAIL " + reason(error))));
    }

    private static String reason(final Throwable error) {
        final CairnException cause = CairnException.find(error);
        return cause != null ? cause.error().name() : String.valueOf(error);
    }

    private static void print(final PrintStream out, final String line) {
        synchronized (out) {
            out.println(line);
        }
    }
}
