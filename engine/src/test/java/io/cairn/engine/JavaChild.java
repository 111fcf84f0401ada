package io.cairn.engine;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Test support for every module that starts child JVMs (crash tests, multi-process clusters): the command line of a
 * JVM with this test's class path and the project's JVM flags ({@code cairn.jvm.flags}, which the build passes to
 * tests), and a start that hands the child's stdout lines to a reader thread. Stopping the child is the test's
 * business, by PID ({@link Process#destroyForcibly()}).
 */
public final class JavaChild {
    private JavaChild() {
    }

    /**
     * @param jvmArgs more JVM arguments, after the project's flags.
     * @param main    the class to run.
     * @param args    its arguments.
     * @return {@code java <flags> <jvmArgs> -cp <this class path> <main> <args>}.
     */
    public static List<String> command(final List<String> jvmArgs, final String main, final List<String> args) {
        final List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        for (final String flag : System.getProperty("cairn.jvm.flags", "").trim().split("\\s+")) {
            if (!flag.isEmpty()) {
                command.add(flag);
            }
        }
        command.addAll(jvmArgs);
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(main);
        command.addAll(args);
        return command;
    }

    /**
     * Starts a child whose stderr is appended to {@code stderr} and whose stdout lines go to {@code onLine}, on a
     * daemon thread that ends when the child's stdout does (its death included).
     *
     * @param command    the command line ({@link #command}).
     * @param stderr     where its stderr goes (kept for a failure's post-mortem).
     * @param readerName the reader thread's name.
     * @param onLine     gets each stdout line.
     * @return the child.
     * @throws IOException if it cannot start.
     */
    public static Process start(final List<String> command, final Path stderr, final String readerName,
        final Consumer<String> onLine) throws IOException {
        final Process child = new ProcessBuilder(command)
            .redirectError(ProcessBuilder.Redirect.appendTo(stderr.toFile())).start();
        final Thread reader = new Thread(() -> {
            try (BufferedReader lines = new BufferedReader(
                new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = lines.readLine()) != null) {
                    onLine.accept(line);
                }
            } catch (final IOException ex) {
                // The child died (SIGKILL): nothing more to read.
            }
        }, readerName);
        reader.setDaemon(true);
        reader.start();
        return child;
    }
}
