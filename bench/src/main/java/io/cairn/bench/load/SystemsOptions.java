package io.cairn.bench.load;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The options {@code compare}, {@code failover} and {@code proxy} share — {@code --out}, {@code --rounds},
 * {@code --cairn-jar}, {@code --etcd}, {@code --help} — read in one place; each command reads its own through
 * {@link Own}.
 */
final class SystemsOptions {
    /** A command's own options. */
    @FunctionalInterface
    interface Own {
        /**
         * @param flag  an option.
         * @param value the argument after it (null at the end).
         * @return 1 when it took the option and its value, 0 when it took the option alone (a switch), -1 when it
         *     does not know it.
         */
        int take(String flag, String value);
    }

    Path outDir;
    int rounds;
    Path cairnJar = Path.of("server/target/cairn.jar");
    String etcd;

    /**
     * @param rounds the command's default number of rounds.
     */
    SystemsOptions(final int rounds) {
        this.rounds = rounds;
    }

    /**
     * @param command the command's name, for messages.
     * @param usage   its usage text.
     * @param args    its arguments.
     * @param own     reads the command's own options.
     * @param out     where {@code --help} goes.
     * @param err     where a usage error goes.
     * @return null to go on; else the exit status to end with (0 after {@code --help}).
     */
    Integer parse(final String command, final String usage, final String[] args, final Own own,
        final PrintStream out, final PrintStream err) {
        for (int i = 0; i < args.length; i++) {
            final String value = i + 1 < args.length ? args[i + 1] : null;
            switch (args[i]) {
                case "--out" -> outDir = Path.of(value);
                case "--rounds" -> rounds = Integer.parseInt(value);
                case "--cairn-jar" -> cairnJar = Path.of(value);
                case "--etcd" -> etcd = value;
                case "--help", "-h" -> {
                    out.print(usage);
                    return 0;
                }
                default -> {
                    final int taken = own.take(args[i], value);
                    if (taken < 0) {
                        err.print(command + ": unknown option " + args[i] + "\n" + usage);
                        return LoadMain.EXIT_USAGE;
                    }
                    i += taken;
                    continue;
                }
            }
            i++;
        }
        return null;
    }

    /**
     * @return whether {@code --out} was given and the Cairn jar exists.
     */
    boolean ready() {
        return outDir != null && Files.isRegularFile(cairnJar);
    }

    /**
     * @return etcd's path: {@code --etcd}, else etcd on the PATH or in /usr/bin.
     */
    String etcdPath() {
        return etcd == null ? CompareMain.tool("etcd") : etcd;
    }
}
