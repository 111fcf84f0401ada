package io.cairn.bench.load;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code java -jar bench/target/benchmarks.jar load --endpoints HOST:PORT[,...] [options]}: runs
 * {@link LoadGenerator} against any etcd v3 endpoint (Cairn or etcd), prints progress to stderr each second and the
 * summary to stdout, and writes the JSON if asked. {@code load --help} lists the options.
 */
public final class LoadMain {
    /** Exit status for options that do not parse or validate. */
    public static final int EXIT_USAGE = 2;
    /** Exit status for a run that could not be done (an unreadable pid, an unwritable JSON file). */
    public static final int EXIT_FAILED = 1;

    private LoadMain() {
    }

    /**
     * @param args the arguments after {@code load}.
     * @param out where the summary goes.
     * @param err where progress, usage and errors go.
     * @return the process's exit status: 0, {@link #EXIT_USAGE} or {@link #EXIT_FAILED}.
     * @throws InterruptedException if interrupted.
     */
    public static int run(final String[] args, final PrintStream out, final PrintStream err)
        throws InterruptedException {
        for (final String arg : args) {
            if ("--help".equals(arg) || "-h".equals(arg)) {
                out.print(LoadConfig.USAGE);
                return 0;
            }
        }
        final LoadConfig config;
        try {
            config = LoadConfig.parse(args);
        } catch (final IllegalArgumentException e) {
            err.println("load: " + e.getMessage());
            err.print(LoadConfig.USAGE);
            return EXIT_USAGE;
        }
        try {
            final LoadResult result = new LoadGenerator(config, NanoClock.SYSTEM, err).run();
            out.print(LoadReport.text(result));
            if (config.jsonPath != null) {
                final Path parent = config.jsonPath.toAbsolutePath().getParent();
                if (parent != null) {
                    Files.createDirectories(parent);
                }
                Files.writeString(config.jsonPath, LoadReport.json(result));
                out.println("results written to " + config.jsonPath);
            }
            return 0;
        } catch (final IOException e) {
            err.println("load: " + e.getMessage());
            return EXIT_FAILED;
        }
    }
}
