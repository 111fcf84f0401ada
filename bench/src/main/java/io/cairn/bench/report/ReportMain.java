package io.cairn.bench.report;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SortedSet;

/**
 * {@code java -jar bench/target/benchmarks.jar report [--results DIR]}: reads every profile's results under DIR
 * ({@code perf-results}) and writes {@code DIR/README.md} and the SVG charts in {@code DIR/charts/}. Same files in,
 * same bytes out.
 */
public final class ReportMain {
    static final String USAGE = String.join("\n",
        "usage: java -jar bench/target/benchmarks.jar report [--results DIR]",
        "  --results DIR   the results folder: <profile>/profile.json and <profile>/<YYYY-MM-DD>/ runs (perf-results)",
        "writes DIR/README.md and DIR/charts/*.svg",
        "");
    private static final int EXIT_USAGE = 2;

    private ReportMain() {
    }

    /**
     * @param args the arguments after {@code report}.
     * @param out  where the summary goes.
     * @param err  where warnings and usage go.
     * @return the exit status.
     * @throws Exception if the results cannot be read or the report cannot be written.
     */
    public static int run(final String[] args, final PrintStream out, final PrintStream err) throws Exception {
        Path results = Path.of("perf-results");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--results" -> {
                    if (i + 1 == args.length) {
                        err.print("report: --results needs a folder\n" + USAGE);
                        return EXIT_USAGE;
                    }
                    results = Path.of(args[++i]);
                }
                case "--help", "-h" -> {
                    out.print(USAGE);
                    return 0;
                }
                default -> {
                    err.print("report: unknown option " + args[i] + "\n" + USAGE);
                    return EXIT_USAGE;
                }
            }
        }
        if (!Files.isDirectory(results)) {
            err.print("report: " + results + " is not a folder\n" + USAGE);
            return EXIT_USAGE;
        }
        // Charts are drawn off screen; no display is needed or wanted.
        System.setProperty("java.awt.headless", "true");
        final List<ProfileResults> profiles = ResultsLoader.load(results, err);
        final SortedSet<String> charts = ChartWriter.write(profiles, results);
        final Path readme = results.resolve("README.md");
        Files.writeString(readme, ReadmeWriter.render(profiles, charts));
        out.println("report: " + profiles.size() + (profiles.size() == 1 ? " profile" : " profiles") + "; wrote "
            + readme + " and " + charts.size() + " charts in " + results.resolve(ChartWriter.FOLDER));
        return 0;
    }
}
