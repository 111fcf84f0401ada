package io.cairn.server.cli;

import io.cairn.consensus.sim.SimulatorMain;
import io.cairn.engine.wal.ChronicleWal;
import io.cairn.engine.wal.HardState;
import io.cairn.engine.wal.WalCorruption;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * {@code ./cairn COMMAND ...}: what is built so far. Exit status 0 on success, 1 when the command found a problem
 * (a corrupt WAL), 2 on a usage error.
 */
public final class CairnCommand {
    private static final String USAGE = """
        usage: ./cairn COMMAND [ARGS]

        commands:
          wal check DIR       validate every record of the WAL in DIR (read-only; safe beside a running member)
                              and print its range, hard state and any torn or corrupt record with file and position
          simulate --seed S --count N [--verbose]
                              run the deterministic Raft simulator over seeds S .. S+N-1 (faults, crashes,
                              partitions; safety and linearizability checked); exit 1 on any violation
          help                this text

        Not built yet: starting members and a local cluster, `snapshot restore` (issue "Server"). See README.md.
        """;

    private CairnCommand() {
    }

    /**
     * @param args the command and its arguments.
     */
    public static void main(final String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /**
     * @param args the command and its arguments.
     * @param out  where results go.
     * @param err  where errors and usage go.
     * @return the exit status.
     */
    public static int run(final String[] args, final PrintStream out, final PrintStream err) {
        if (args.length == 0 || "help".equals(args[0]) || "--help".equals(args[0]) || "-h".equals(args[0])) {
            (args.length == 0 ? err : out).print(USAGE);
            return args.length == 0 ? 2 : 0;
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
