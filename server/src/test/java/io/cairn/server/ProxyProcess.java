package io.cairn.server;


import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A proxy in a process of its own, as an operator runs one: {@code cairn grpc-proxy start}, {@code cairn gateway
 * start} or etcd 3.4's {@code etcd grpc-proxy start}, on a free loopback port, its output in the test's log folder.
 * Stopped by PID (SIGTERM, then SIGKILL).
 */
final class ProxyProcess implements AutoCloseable {
    private final Process process;
    private final int port;
    private final Path log;

    private ProxyProcess(final List<String> command, final int port, final Path log) throws IOException {
        this.port = port;
        this.log = log;
        Files.createDirectories(log.getParent());
        this.process = new ProcessBuilder(command).redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            try (java.net.Socket probe = new java.net.Socket("127.0.0.1", port)) {
                return;
            } catch (final IOException ex) {
                if (!process.isAlive()) {
                    throw new IllegalStateException(command.get(command.size() > 8 ? 8 : 0) + " exited with "
                        + process.exitValue() + ": " + Files.readString(log));
                }
                if (System.nanoTime() > deadline) {
                    close();
                    throw new IllegalStateException("the proxy did not open its port: " + Files.readString(log));
                }
                Await.sleep(50);
            }
        }
    }

    /**
     * @param kind  {@code grpc-proxy} or {@code gateway}.
     * @param logs  the log folder.
     * @param name  the log's name.
     * @param flags flags after {@code start} (the listen address is added).
     * @return the running Cairn proxy.
     * @throws IOException if it cannot start.
     */
    static ProxyProcess cairn(final String kind, final Path logs, final String name, final String... flags)
        throws IOException {
        final int port = ProcessCluster.freeTcpPort();
        final List<String> args = new ArrayList<>(List.of(kind, "start", "--listen-addr", "127.0.0.1:" + port));
        args.addAll(List.of(flags));
        return new ProxyProcess(CairnChild.command(List.of("-Xmx256m"), args),
            port, logs.resolve(name + ".log"));
    }

    /**
     * @param logs  the log folder.
     * @param name  the log's name.
     * @param flags flags after {@code etcd grpc-proxy start} (the listen address is added).
     * @return the running etcd proxy.
     * @throws IOException if it cannot start.
     */
    static ProxyProcess etcd(final Path logs, final String name, final String... flags) throws IOException {
        final int port = ProcessCluster.freeTcpPort();
        final List<String> command = new ArrayList<>(List.of(ProcessCluster.tool("etcd"), "grpc-proxy", "start",
            "--listen-addr", "127.0.0.1:" + port));
        command.addAll(List.of(flags));
        return new ProxyProcess(command, port, logs.resolve(name + ".log"));
    }

    /**
     * @return {@code 127.0.0.1:PORT}.
     */
    String endpoint() {
        return "127.0.0.1:" + port;
    }

    /**
     * @return what it printed.
     * @throws IOException if the log cannot be read.
     */
    String log() throws IOException {
        return Files.readString(log);
    }

    @Override
    public void close() {
        ProcessCluster.stop(process);
    }
}
