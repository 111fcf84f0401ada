package io.cairn.server.cli;

import io.cairn.embedded.NodeConfig;
import io.cairn.engine.wal.ChronicleWal;
import io.cairn.engine.wal.HardState;
import io.cairn.engine.wal.WalCorruption;
import io.cairn.server.CairnMember;
import io.cairn.simulator.SimulatorMain;
import io.netty.util.ResourceLeakDetector;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * {@code ./cairn COMMAND ...}: what is built so far. Exit status 0 on success, 1 when the command found a problem
 * (a corrupt WAL), 2 on a usage error.
 */
public final class CairnCommand {
    private static final String USAGE = """
        usage: ./cairn [COMMAND] [ARGS]

        commands:
          (none)              start a local three-member cluster in the foreground: clients on 127.0.0.1:2379,
                              :22379 and :32379, data under ./data (CAIRN_LOCAL_DATA_DIR), Ctrl-C stops it
          local [--data-dir DIR]
                              the same, with the data where you say
          member [FLAGS]      run one member (etcd's flag names; ./cairn member --help lists them)
          snapshot restore FILE --data-dir DIR --name NAME --initial-cluster N=URL,...
                              a new member's data directory from `etcdctl snapshot save`'s file (see
                              ./cairn snapshot restore for the flags); restore every new member from one file
          grpc-proxy start --endpoints A,B,... [--listen-addr HOST:PORT] [--namespace P] [FLAGS]
                              a stateless gRPC proxy in front of the cluster, as etcd's (coalesced watches and
                              keep-alives, a range cache; ./cairn grpc-proxy start --help lists the flags)
          gateway start --endpoints A,B,... [--listen-addr HOST:PORT] [--retry-delay D]
                              a TCP proxy to the members' client ports, as etcd's gateway
          wal check DIR       validate every record of the WAL in DIR (read-only; safe beside a running member)
                              and print its range, hard state and any torn or corrupt record with file and position
          simulate --seed S --count N [--keyspace] [--verbose]
                              run the deterministic Raft simulator over seeds S .. S+N-1 (faults, crashes,
                              partitions; safety and linearizability checked); exit 1 on any violation
          help, --help        this text

        Clients: any etcd v3 client, e.g. ETCDCTL_API=3 etcdctl --endpoints=127.0.0.1:2379 put foo bar
        """;

    private CairnCommand() {
    }

    /**
     * @param args the command and its arguments.
     */
    public static void main(final String[] args) {
        try {
            Map<String, String> flags = Map.of();
            if (args.length > 0 && "member".equals(args[0])) {
                try {
                    flags = EtcdFlags.read(Arrays.copyOfRange(args, 1, args.length), System.getenv(),
                        new ArrayList<>());
                } catch (final IllegalArgumentException ex) {
                    flags = Map.of(); // reported by the member's own parse, with its usage
                }
            }
            Logging.configure(flags);
        } catch (final IllegalArgumentException ex) {
            System.err.println("cairn: " + ex.getMessage());
            System.exit(2);
        }
        quietNettyLeakDetection();
        System.exit(run(args, System.out, System.err));
    }

    /**
     * Netty samples one buffer in 128 for leak tracking by default and then records a stack trace (a Throwable) at
     * every touch and release of it: ~120 per second per member at 2,700 puts/s, ~1 % of the servers' CPU in
     * {@code fill_in_stack_trace} (perf, 2026-12-02). A member process turns it off unless
     * {@code -Dio.netty.leakDetection.level} asks for a level (the integration tests ask for Netty's default).
     */
    private static void quietNettyLeakDetection() {
        if (System.getProperty("io.netty.leakDetection.level") == null
            && System.getProperty("io.netty.leakDetectionLevel") == null) {
            ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.DISABLED);
        }
    }

    /**
     * @param args the command and its arguments.
     * @param out  where results go.
     * @param err  where errors and usage go.
     * @return the exit status.
     */
    public static int run(final String[] args, final PrintStream out, final PrintStream err) {
        if (args.length == 0) {
            return LocalCluster.run(Path.of(System.getenv().getOrDefault("CAIRN_LOCAL_DATA_DIR", "data")), out, err);
        }
        if ("help".equals(args[0]) || "--help".equals(args[0]) || "-h".equals(args[0])) {
            out.print(USAGE);
            return 0;
        }
        if ("local".equals(args[0])) {
            if (args.length == 3 && "--data-dir".equals(args[1])) {
                return LocalCluster.run(Path.of(args[2]), out, err);
            }
            if (args.length == 1) {
                return LocalCluster.run(Path.of("data"), out, err);
            }
            err.print(USAGE);
            return 2;
        }
        if ("snapshot".equals(args[0]) && args.length >= 2 && "restore".equals(args[1])) {
            return SnapshotRestore.run(Arrays.copyOfRange(args, 2, args.length), out, err);
        }
        if ("member".equals(args[0])) {
            return member(Arrays.copyOfRange(args, 1, args.length), out, err);
        }
        if ("grpc-proxy".equals(args[0]) && args.length >= 2 && "start".equals(args[1])) {
            return ProxyCommands.grpcProxy(Arrays.copyOfRange(args, 2, args.length), out, err);
        }
        if ("gateway".equals(args[0]) && args.length >= 2 && "start".equals(args[1])) {
            return ProxyCommands.gateway(Arrays.copyOfRange(args, 2, args.length), out, err);
        }
        if ("simulate".equals(args[0])) {
            return SimulatorMain.run(Arrays.copyOfRange(args, 1, args.length), out);
        }
        if ("wal".equals(args[0]) && args.length == 3 && "check".equals(args[1])) {
            return walCheck(Path.of(args[2]), out, err);
        }
        err.print(USAGE);
        return 2;
    }

    private static int member(final String[] args, final PrintStream out, final PrintStream err) {
        if (args.length == 1 && ("--help".equals(args[0]) || "-h".equals(args[0]))) {
            out.print(EtcdFlags.usage());
            return 0;
        }
        final CairnMember.Config config;
        try {
            config = MemberFlags.parse(args, System.getenv());
        } catch (final IllegalArgumentException ex) {
            err.println("cairn member: " + ex.getMessage());
            err.print(EtcdFlags.usage());
            return 2;
        }
        final CairnMember member;
        try {
            member = CairnMember.start(config);
        } catch (final IOException | RuntimeException ex) {
            err.println("cairn member " + config.name() + ": cannot start: " + ex.getMessage());
            return 1;
        }
        final NodeConfig node = config.node();
        out.println("cairn member " + node.name() + " (id " + Long.toHexString(member.self().etcdId())
            + ") serving etcd v3 on " + node.clientUrl()
            + (config.listenClientUrls() != null && !config.listenClientUrls().equals(node.clientUrl())
                ? " (listening on " + config.listenClientUrls() + ")" : "")
            + ", peers on " + member.self().peerUrl()
            + (node.peerListen() != null ? " (listening on " + node.peerListen() + ")" : "") + ", data in "
            + node.dataDir().toAbsolutePath() + (node.joining() ? " (joining a running cluster)" : ""));
        out.flush();
        member.removed().thenRun(() -> new Thread(() -> {
            out.println("cairn member " + config.name() + ": removed from the cluster; stopping (as etcd does)");
            out.flush();
            System.exit(0); // the shutdown hook closes the member
        }, "cairn-removed").start());
        LocalCluster.serveUntilStopped(List.of(member));
        return 0;
    }

    private static int walCheck(final Path directory, final PrintStream out, final PrintStream err) {
        try (ChronicleWal wal = ChronicleWal.inspect(directory)) {
            final HardState state = wal.hardState();
            out.println("WAL " + directory.toAbsolutePath());
            out.println("  entries      " + wal.firstIndex() + ".." + wal.lastIndex() + " (last term "
                + wal.lastTerm() + ", base " + wal.baseIndex() + "@" + wal.baseTerm() + ")");
            out.println("  hard state   term " + state.term() + ", vote " + state.vote() + ", commit "
                + state.commitIndex());
            out.println("  files        " + wal.fileCount());
            final WalCorruption report = wal.recoveryReport();
            if (report == null) {
                out.println("  status       ok: every record whole and checksum-valid");
                return 0;
            }
            out.println("  status       " + report);
            return report.tornTail() ? 0 : 1;
        } catch (final Exception ex) {
            err.println("cairn: wal check " + directory + ": " + ex.getMessage());
            return 1;
        }
    }
}
