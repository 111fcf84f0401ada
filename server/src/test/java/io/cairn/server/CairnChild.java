package io.cairn.server;

import io.cairn.engine.JavaChild;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The command line of a {@code cairn} process as the integration tests start one: {@code target/cairn.jar}, the jar
 * users run, with a class-data-sharing archive of its classes made once per build. A member's start costs about 5 s
 * of CPU without the archive and 3 s with it (measured 2026-12-04, one member started and idle 4 s), and the suite
 * starts some 150: on two cores that is minutes. The archive changes how classes are loaded, not what runs; where the
 * jar is missing or older than the classes (a test run from an IDE), or with {@code -Dcairn.it.classPath=true} (to
 * compare), the process runs from the test's class path as before.
 */
final class CairnChild {
    private static final String MAIN = "io.cairn.server.cli.CairnCommand";
    private static final Path JAR = Path.of("target", "cairn.jar").toAbsolutePath();
    private static final Path CLASSES = Path.of("target", "classes").toAbsolutePath();
    private static final Path ARCHIVE = Path.of("target", "cairn-classes.jsa").toAbsolutePath();
    /** Whether the jar can be used (null: not yet decided). */
    private static Boolean jarUsable;
    private static boolean archiveUsable;

    private CairnChild() {
    }

    /**
     * @param jvmArgs flags for the JVM (after Cairn's own, from {@code config/jvm.properties}).
     * @param args    the {@code cairn} command and its flags.
     * @return the command line.
     */
    static List<String> command(final List<String> jvmArgs, final List<String> args) {
        if (!prepared()) {
            return JavaChild.command(jvmArgs, MAIN, args);
        }
        final List<String> flags = new ArrayList<>(jvmArgs);
        if (archiveUsable) {
            // -Xshare:auto: an archive the JVM cannot map is ignored (and said so in the process's log), never fatal.
            flags.addAll(List.of("-XX:SharedArchiveFile=" + ARCHIVE, "-Xshare:auto"));
        }
        final List<String> command = JavaChild.command(flags, MAIN, args);
        final int classPath = command.indexOf("-cp");
        command.set(classPath + 1, JAR.toString());
        return command;
    }

    private static synchronized boolean prepared() {
        if (jarUsable == null) {
            jarUsable = !Boolean.getBoolean("cairn.it.classPath") && Files.isRegularFile(JAR)
                && newestClass() <= JAR.toFile().lastModified();
            if (jarUsable) {
                archiveUsable = Files.isRegularFile(ARCHIVE)
                    && ARCHIVE.toFile().lastModified() >= JAR.toFile().lastModified() || makeArchive();
            }
        }
        return jarUsable;
    }

    private static long newestClass() {
        try (Stream<Path> files = Files.walk(CLASSES)) {
            return files.mapToLong(file -> file.toFile().lastModified()).max().orElse(Long.MAX_VALUE);
        } catch (final IOException ex) {
            return Long.MAX_VALUE;
        }
    }

    /**
     * Starts one member with {@code -XX:ArchiveClassesAtExit}, has it serve a put, a read, a watch and its
     * {@code /metrics} (so the classes of those paths are loaded), and stops it: the JVM writes the archive as it
     * exits. Any failure leaves no archive and is only reported.
     */
    private static boolean makeArchive() {
        final Path partial = Path.of(ARCHIVE + ".partial");
        Path data = null;
        Process member = null;
        try {
            data = Files.createTempDirectory("cairn-archive");
            final int client = ProcessCluster.freeTcpPort();
            final int peer = ProcessCluster.freeUdpPort();
            final String peerUrl = "http://127.0.0.1:" + peer;
            final List<String> command = JavaChild.command(List.of("-Xmx256m",
                "-XX:ArchiveClassesAtExit=" + partial, "-Xlog:cds=off", "-Xlog:cds+dynamic=off"), MAIN,
                List.of("member", "--name", "archive", "--data-dir", data.resolve("member").toString(),
                    "--listen-client-urls", "http://127.0.0.1:" + client, "--listen-peer-urls", peerUrl,
                    "--initial-cluster", "archive=" + peerUrl));
            command.set(command.indexOf("-cp") + 1, JAR.toString());
            member = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(data.resolve("member.log").toFile()).start();
            final String endpoint = "127.0.0.1:" + client;
            awaitPort(member, client);
            etcdctl(endpoint, "put", "archive", "classes");
            etcdctl(endpoint, "get", "archive");
            etcdctl(endpoint, "watch", "archive", "--rev", "1");
            etcdctl(endpoint, "endpoint", "status");
            try (java.io.InputStream metrics = java.net.URI.create("http://" + endpoint + "/metrics").toURL()
                .openStream()) {
                metrics.readAllBytes();
            }
            member.destroy(); // SIGTERM: the JVM exits normally and writes the archive
            if (!member.waitFor(60, TimeUnit.SECONDS) || !Files.isRegularFile(partial)) {
                throw new IOException("the member wrote no archive: " + Files.readString(data.resolve("member.log")));
            }
            Files.move(partial, ARCHIVE, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return true;
        } catch (final IOException | RuntimeException ex) {
            System.err.println("no class-data archive for cairn.jar (members start slower): " + ex);
            return false;
        } catch (final InterruptedException ex) {
            Thread.currentThread().interrupt();
            return false;
        } finally {
            if (member != null && member.isAlive()) {
                member.destroyForcibly();
            }
            if (data != null) {
                deleteQuietly(data);
            }
        }
    }

    private static void deleteQuietly(final Path directory) {
        try (Stream<Path> files = Files.walk(directory)) {
            for (final Path file : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(file);
            }
        } catch (final IOException ex) {
            System.err.println("could not delete " + directory + ": " + ex);
        }
    }

    private static void awaitPort(final Process member, final int port) throws IOException {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            try (java.net.Socket probe = new java.net.Socket("127.0.0.1", port)) {
                return;
            } catch (final IOException ex) {
                if (!member.isAlive() || System.nanoTime() > deadline) {
                    throw new IOException("the archive's member did not open its port", ex);
                }
                Await.sleep(50);
            }
        }
    }

    /** Runs etcdctl with a bounded wait (a watch ends when its time does). */
    private static void etcdctl(final String endpoint, final String... args) throws IOException,
        InterruptedException {
        final List<String> command = new ArrayList<>(List.of(ProcessCluster.tool("etcdctl"), "--endpoints", endpoint,
            "--command-timeout", "5s"));
        command.addAll(List.of(args));
        final Process process = new ProcessBuilder(command).redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        if (!process.waitFor(2, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }
}
