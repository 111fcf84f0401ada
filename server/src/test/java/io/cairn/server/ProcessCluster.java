package io.cairn.server;

import io.cairn.embedded.cluster.EtcdIds;
import io.cairn.embedded.cluster.Topology;
import io.etcd.jetcd.api.HashKVRequest;
import io.etcd.jetcd.api.MaintenanceGrpc;
import io.etcd.jetcd.api.StatusRequest;
import io.etcd.jetcd.api.StatusResponse;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * Test support: a Cairn cluster of real {@code cairn member} processes (or one etcd 3.4 process for comparison) on
 * free loopback ports, each started by this JVM and stopped by PID (SIGTERM, then SIGKILL after a bound). Output goes
 * to {@code target/it-logs/<test>/} for post-mortems.
 */
public final class ProcessCluster implements AutoCloseable {
    private final Path data;
    private final Path logs;
    private final String[] names;
    private final int[] clientPorts;
    private final int[] peerPorts;
    private final int[] httpPorts;
    private final Map<Integer, Map<String, String>> etcdEnvironments = new ConcurrentHashMap<>();
    private final Process[] processes;
    private final String initialCluster;
    private String peerScheme = "http";
    private final String clients;
    private final int initialSize;
    private final List<String> extraFlags = new ArrayList<>();
    private final boolean[] replaced;
    private final ManagedChannel[] channels;
    private final String[] hosts;
    private final List<List<String>> prefixes = new ArrayList<>();
    private String clientScheme = "http";
    private boolean everyInterface;
    private io.netty.handler.ssl.SslContext clientTls;

    private ProcessCluster(final Path data, final String test, final int size) throws IOException {
        this(data, test, size, 0, null);
    }

    private ProcessCluster(final Path data, final String test, final int size, final int spares, final String[] at)
        throws IOException {
        this.data = data;
        this.hosts = new String[size + spares];
        for (int i = 0; i < hosts.length; i++) {
            hosts[i] = at == null ? "127.0.0.1" : at[i];
            prefixes.add(List.of());
        }
        this.logs = Path.of("target", "it-logs", test).toAbsolutePath();
        Files.createDirectories(logs);
        try (java.util.stream.Stream<Path> old = Files.list(logs)) {
            for (final Path log : old.toList()) {
                Files.delete(log); // an earlier run's: restarts within this run append
            }
        }
        initialSize = size;
        names = new String[size + spares];
        clientPorts = new int[size + spares];
        peerPorts = new int[size + spares];
        httpPorts = new int[size + spares];
        processes = new Process[size + spares];
        replaced = new boolean[size + spares];
        channels = new ManagedChannel[size + spares];
        final StringBuilder cluster = new StringBuilder();
        final StringBuilder clientList = new StringBuilder();
        for (int i = 0; i < size + spares; i++) {
            names[i] = "m" + (i + 1);
            clientPorts[i] = freeTcpPort();
            peerPorts[i] = freeUdpPort();
            httpPorts[i] = freeTcpPort();
            if (i >= size) {
                continue;
            }
            cluster.append(i == 0 ? "" : ",").append(names[i]).append("=http://").append(hosts[i]).append(':')
                .append(peerPorts[i]);
            clientList.append(i == 0 ? "" : ",").append(names[i]).append("=http://").append(hosts[i]).append(':')
                .append(clientPorts[i]);
        }
        initialCluster = cluster.toString();
        clients = clientList.toString();
    }

    /**
     * Starts {@code size} Cairn members and waits until each answers on its client port.
     *
     * @param data where their data directories go.
     * @param test a label for the log folder.
     * @param size members.
     * @return the cluster.
     * @throws IOException if a process cannot start.
     */
    public static ProcessCluster startCairn(final Path data, final String test, final int size) throws IOException {
        final ProcessCluster cluster = new ProcessCluster(data, test, size);
        for (int i = 0; i < size; i++) {
            cluster.start(i);
        }
        cluster.awaitPorts();
        return cluster;
    }

    /**
     * Starts {@code size} Cairn members and keeps ports for {@code spares} more, started later by
     * {@link #start(int)} as members joining the running cluster ({@code --initial-cluster-state existing}) once
     * {@code etcdctl member add} has added them.
     *
     * @param data   where their data directories go.
     * @param test   a label for the log folder.
     * @param size   members started now.
     * @param spares members that may join.
     * @return the cluster.
     * @throws IOException if a process cannot start.
     */
    public static ProcessCluster startCairn(final Path data, final String test, final int size, final int spares)
        throws IOException {
        final ProcessCluster cluster = new ProcessCluster(data, test, size, spares, null);
        for (int i = 0; i < size; i++) {
            cluster.start(i);
        }
        cluster.awaitPorts();
        return cluster;
    }

    /**
     * @param i a member's position.
     * @return its peer URL.
     */
    public String peerUrl(final int i) {
        return peerScheme + "://" + hosts[i] + ":" + peerPorts[i];
    }

    /** {@code --initial-cluster} as the members are started: peer URLs with the peer scheme. */
    private String initialClusterFlag() {
        return initialCluster.replace("=http://", "=" + peerScheme + "://");
    }

    /**
     * @param flags more {@code cairn member} flags for every member started from now on.
     * @return this.
     */
    public ProcessCluster withFlags(final String... flags) {
        extraFlags.addAll(List.of(flags));
        return this;
    }

    /**
     * Serves clients over TLS from now on: {@code https://} client and gateway URLs, these flags (certificates), and
     * this cluster's own channels use {@code tls}.
     *
     * @param tls   what the test's channels connect with.
     * @param flags the members' TLS flags.
     * @return this.
     */
    public ProcessCluster withClientTls(final io.netty.handler.ssl.SslContext tls, final String... flags) {
        clientScheme = "https";
        clientTls = tls;
        return withFlags(flags);
    }

    /**
     * Secures the peer port from now on with a peer CA of its own and one member certificate for 127.0.0.1, written
     * into {@code pki} ({@code peer-ca.pem}, {@code peer.pem}, {@code peer-key.pem}), as an operator would, with
     * {@code --peer-client-cert-auth}.
     *
     * @param pki where the files go.
     * @return this.
     * @throws IOException if they cannot be written.
     */
    public ProcessCluster withPeerCertificates(final Path pki) throws IOException {
        final io.cairn.server.tls.Certificates.Issued ca = io.cairn.server.tls.Certificates.issue("cairn peer CA",
            List.of(), true, null, java.time.Duration.ofDays(2));
        io.cairn.server.tls.Certificates.writePem(pki.resolve("peer-ca.pem"), List.of(ca.certificate()), false);
        io.cairn.server.tls.Certificates.issue("member", List.of("127.0.0.1"), false, ca, java.time.Duration.ofDays(2))
            .write(pki.resolve("peer.pem"), pki.resolve("peer-key.pem"));
        return withPeerTls("--peer-cert-file", pki.resolve("peer.pem").toString(), "--peer-key-file",
            pki.resolve("peer-key.pem").toString(), "--peer-trusted-ca-file", pki.resolve("peer-ca.pem").toString(),
            "--peer-client-cert-auth");
    }

    /**
     * Secures the peer port from now on: {@code https://} peer URLs and these flags (peer certificates): every Raft
     * frame sealed under keys the members agree over mutual TLS.
     *
     * @param flags the members' peer TLS flags.
     * @return this.
     */
    public ProcessCluster withPeerTls(final String... flags) {
        peerScheme = "https";
        return withFlags(flags);
    }

    /**
     * Starts member {@code i} from now on as a member joining the running cluster (after it was removed, its data
     * moved away and it was added again).
     *
     * @param i its position.
     * @throws IOException if it cannot start.
     */
    public void startReplacement(final int i) throws IOException {
        replaced[i] = true;
        start(i);
    }

    /**
     * @param i a member's position.
     * @return a gRPC channel to its client port (one per member, kept across restarts, closed with the cluster;
     *     messages up to 32 MiB).
     */
    public ManagedChannel channel(final int i) {
        synchronized (channels) {
            if (channels[i] == null) {
                final NettyChannelBuilder builder = NettyChannelBuilder.forTarget(endpoint(i))
                    .maxInboundMessageSize(32 << 20);
                channels[i] = (clientTls == null ? builder.usePlaintext() : builder.sslContext(clientTls)).build();
            }
            return channels[i];
        }
    }

    /**
     * @param i a member's position.
     * @return true when it runs and says it leads (Maintenance.Status, 2 s at most).
     */
    public boolean isLeader(final int i) {
        if (processes[i] == null || !processes[i].isAlive()) {
            return false;
        }
        try {
            final StatusResponse status = MaintenanceGrpc.newBlockingStub(channel(i))
                .withDeadlineAfter(2, TimeUnit.SECONDS).status(StatusRequest.getDefaultInstance());
            return status.getLeader() == status.getHeader().getMemberId();
        } catch (final RuntimeException ex) {
            return false; // not answering now
        }
    }

    /**
     * @return the position of a member that says it leads, or -1.
     */
    public int leader() {
        for (int i = 0; i < processes.length; i++) {
            if (isLeader(i)) {
                return i;
            }
        }
        return -1;
    }

    /**
     * @param i        a member's position.
     * @param revision the revision to hash the keyspace at.
     * @return its Maintenance.HashKV.
     */
    public long hashKv(final int i, final long revision) {
        return MaintenanceGrpc.newBlockingStub(channel(i)).withDeadlineAfter(10, TimeUnit.SECONDS)
            .hashKV(HashKVRequest.newBuilder().setRevision(revision).build()).getHash();
    }

    /**
     * @param skipped positions to leave out.
     * @return the client endpoints of the members started so far but those, comma-separated.
     */
    public String endpointsExcept(final int... skipped) {
        final StringBuilder all = new StringBuilder();
        for (int i = 0; i < clientPorts.length; i++) {
            final int position = i;
            if ((i < initialSize || processes[i] != null) && Arrays.stream(skipped).noneMatch(s -> s == position)) {
                all.append(all.length() == 0 ? "" : ",").append(endpoint(i));
            }
        }
        return all.toString();
    }

    /**
     * @param i a member's position.
     * @return its etcd member ID (from its peer URL and etcd's default cluster token, as etcd computes it).
     */
    public long memberId(final int i) {
        return EtcdIds.member(List.of(peerUrl(i)), EtcdIds.TOKEN_DEFAULT, null);
    }

    /**
     * @param i a member's position.
     * @return its Raft ID (a hash of its peer address), as its log lines and the partition files name it.
     */
    public int raftId(final int i) {
        return Topology.idOf(peerUrl(i));
    }

    private Path bootIdFile(final int i) {
        return data.resolve(names[i] + ".boot-id");
    }

    /**
     * Gives member {@code i} a boot of its own, as if its machine had restarted: from its next start it reads its
     * boot ID ({@code -Dcairn.bootIdFile}) from a file beside its data directory that holds a new random ID, so it
     * treats pages it never synced as possibly lost (the power-loss test cuts the power under it).
     *
     * @param i a member's position.
     * @throws IOException if the file cannot be written.
     */
    public void newBoot(final int i) throws IOException {
        Files.createDirectories(data);
        writeAtomically(bootIdFile(i), java.util.UUID.randomUUID() + "\n");
    }

    private Path partitionFile(final int i) {
        return data.resolve(names[i] + ".partition");
    }

    /**
     * Cuts the network between member {@code i} and each of {@code others} (both directions: each side drops the
     * other's frames at its transport); takes effect within 50 ms.
     *
     * @param i      a member's position.
     * @param others the members it is cut from.
     * @throws IOException if the rule files cannot be written.
     */
    public void partition(final int i, final int... others) throws IOException {
        Files.createDirectories(data);
        final StringBuilder cut = new StringBuilder();
        for (final int other : others) {
            cut.append(Integer.toHexString(raftId(other))).append(' ');
            final Path file = partitionFile(other);
            final String existing = Files.exists(file) ? Files.readString(file) : "";
            writeAtomically(file, existing + Integer.toHexString(raftId(i)) + " ");
        }
        writeAtomically(partitionFile(i), cut.toString());
    }

    /**
     * Removes every cut.
     *
     * @throws IOException if the rule files cannot be removed.
     */
    public void heal() throws IOException {
        for (int i = 0; i < names.length; i++) {
            Files.deleteIfExists(partitionFile(i));
        }
    }

    /**
     * Removes every cut and thaws every paused member (a test's clean-up after faults).
     *
     * @throws IOException if a rule file cannot be removed or kill cannot run.
     */
    public void healAndThaw() throws IOException {
        heal();
        for (int i = 0; i < processes.length; i++) {
            if (processes[i] != null && processes[i].isAlive()) {
                signal(i, "CONT");
            }
        }
    }

    private static void writeAtomically(final Path file, final String text) throws IOException {
        final Path temporary = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(temporary, text);
        Files.move(temporary, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
            java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    /**
     * Sends a signal to member {@code i}'s process by PID.
     *
     * @param i      its position.
     * @param signal e.g. STOP, CONT.
     * @throws IOException if kill cannot run.
     */
    public void signal(final int i, final String signal) throws IOException {
        final Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(processes[i].pid())).start();
        try {
            if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
                throw new IOException("kill -" + signal + " " + processes[i].pid() + " failed");
            }
        } catch (final InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Chooses ports and names for a cluster without starting it (to prepare its data directories first).
     *
     * @param data where their data directories go.
     * @param test a label for the log folder.
     * @param size members.
     * @return the cluster, not started.
     * @throws IOException if no ports are free.
     */
    public static ProcessCluster prepareCairn(final Path data, final String test, final int size) throws IOException {
        return new ProcessCluster(data, test, size);
    }

    /**
     * Prepares a cluster whose members listen on the given addresses and start through a command prefix each (for
     * example {@code ip netns exec NS}: members in network namespaces the test made).
     *
     * @param data     where their data directories go.
     * @param test     a label for the log folder.
     * @param hosts    each member's address.
     * @param prefixes each member's command prefix.
     * @return the cluster, not started.
     * @throws IOException if no ports are free.
     */
    public static ProcessCluster prepareCairnAt(final Path data, final String test, final String[] hosts,
        final List<List<String>> prefixes) throws IOException {
        final ProcessCluster cluster = new ProcessCluster(data, test, hosts.length, 0, hosts);
        for (int i = 0; i < hosts.length; i++) {
            cluster.prefixes.set(i, List.copyOf(prefixes.get(i)));
        }
        return cluster;
    }

    /**
     * Members started from now on listen on 0.0.0.0 (client and peer ports) and advertise their addresses, as etcd
     * runs in a pod; only for members in network namespaces the test made, where every interface is the test's.
     *
     * @return this.
     */
    public ProcessCluster listeningOnEveryInterface() {
        everyInterface = true;
        return this;
    }

    /**
     * Starts every member of a prepared cluster.
     *
     * @throws IOException if a process cannot start.
     */
    public void startAll() throws IOException {
        for (int i = 0; i < processes.length; i++) {
            start(i);
        }
        awaitPorts();
    }

    /**
     * @return etcd's --initial-cluster for this cluster.
     */
    public String initialCluster() {
        return initialClusterFlag();
    }

    /**
     * @param i a member's position.
     * @return its name.
     */
    public String name(final int i) {
        return names[i];
    }

    /**
     * @param i a member's position.
     * @return what it printed, all its starts, so far.
     * @throws IOException if the log cannot be read.
     */
    public String log(final int i) throws IOException {
        final Path log = logs.resolve(names[i] + ".log");
        return Files.exists(log) ? Files.readString(log) : "";
    }

    /**
     * @param i a member's position.
     * @return its data directory.
     */
    public Path dataDir(final int i) {
        return data.resolve(names[i]);
    }

    /**
     * Starts one etcd 3.4 member ({@code etcd} on the PATH or in /usr/bin) for comparison.
     *
     * @param data where its data directory goes.
     * @param test a label for the log folder.
     * @return the "cluster".
     * @throws IOException if etcd cannot start.
     */
    public static ProcessCluster startEtcd(final Path data, final String test) throws IOException {
        final ProcessCluster cluster = prepareEtcd(data, test);
        cluster.startEtcd();
        return cluster;
    }

    /**
     * One etcd 3.4 member with its ports chosen, not started: its data directory ({@code data/etcd1}) can be made
     * first (by {@code etcdctl snapshot restore --name etcd1 --initial-cluster etcd1=PEER
     * --initial-advertise-peer-urls PEER}); then {@link #startEtcd()}.
     *
     * @param data where its data directory goes.
     * @param test the test's name (logs).
     * @return the "cluster".
     * @throws IOException if the log directory cannot be made.
     */
    public static ProcessCluster prepareEtcd(final Path data, final String test) throws IOException {
        return new ProcessCluster(data, test, 1);
    }

    /**
     * Starts the member {@link #prepareEtcd} prepared, named etcd1, with its data directory at {@code data/etcd1}.
     *
     * @throws IOException if etcd cannot start.
     */
    public void startEtcd() throws IOException {
        final String client = "http://127.0.0.1:" + clientPorts[0];
        final String peer = peerUrl(0);
        final ProcessBuilder builder = new ProcessBuilder(tool("etcd"), "--name", "etcd1", "--data-dir",
            data.resolve("etcd1").toString(), "--listen-client-urls", client, "--advertise-client-urls", client,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster",
            "etcd1=" + peer);
        builder.redirectErrorStream(true).redirectOutput(logs.resolve("etcd1.log").toFile());
        processes[0] = builder.start();
        httpPorts[0] = 0; // etcd serves its gateway on the client port
        awaitPorts();
    }

    /**
     * @param name a tool's name.
     * @return its path (PATH first, then /usr/bin).
     * @throws IllegalStateException naming the Debian package when it is missing.
     */
    public static String tool(final String name) {
        for (final String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
            if (Files.isExecutable(Path.of(dir, name))) {
                return Path.of(dir, name).toString();
            }
        }
        throw new IllegalStateException(name + " not found: install Debian's "
            + ("etcd".equals(name) ? "etcd-server" : "etcd-client") + " (.ci/run does)");
    }

    /**
     * (Re)starts member {@code i} from its data directory.
     *
     * @param i the member's position.
     * @throws IOException if it cannot start.
     */
    public void start(final int i) throws IOException {
        final Map<String, String> environment = etcdEnvironments.get(i);
        final List<String> args = new ArrayList<>(List.of("member"));
        if (environment == null) {
            args.addAll(List.of("--name", names[i]));
        }
        args.addAll(List.of("--data-dir", data.resolve(names[i]).toString(),
            "--listen-metrics-urls", "http://" + hosts[i] + ":" + httpPorts[i]));
        if (everyInterface) {
            // As in a pod: listen on every interface (of the member's own network namespace), advertise the address.
            args.addAll(List.of("--listen-client-urls", clientScheme + "://0.0.0.0:" + clientPorts[i],
                "--advertise-client-urls", clientScheme + "://" + hosts[i] + ":" + clientPorts[i],
                "--listen-peer-urls", peerScheme + "://0.0.0.0:" + peerPorts[i],
                "--initial-advertise-peer-urls", peerUrl(i)));
        } else {
            args.addAll(List.of("--listen-client-urls", clientScheme + "://" + hosts[i] + ":" + clientPorts[i],
                "--listen-peer-urls", peerUrl(i)));
        }
        final List<String> command = new ArrayList<>(CairnChild.command(List.of(
            "-Dio.netty.leakDetection.level=simple", // members turn it off unless asked: tests ask
            "-Dcairn.transport.partitionFile=" + partitionFile(i), "-Xmx256m"), args));
        if (Files.exists(bootIdFile(i))) {
            command.add(1, "-Dcairn.bootIdFile=" + bootIdFile(i));
        }
        command.addAll(extraFlags);
        if (environment != null) {
            // The name and the cluster come from the environment etcdctl member add printed.
        } else if (i < initialSize && !replaced[i]) {
            command.addAll(List.of("--initial-cluster", initialClusterFlag(), "--initial-cluster-clients",
                clients.replace("=http://", "=" + clientScheme + "://")));
        } else {
            // As etcdctl member add prints it: the members so far and this one; it publishes its client URL.
            command.addAll(List.of("--initial-cluster",
                i < initialSize ? initialClusterFlag() : initialClusterFlag() + "," + names[i] + "=" + peerUrl(i),
                "--initial-cluster-state", "existing"));
        }
        command.addAll(0, prefixes.get(i)); // ip netns exec NS java ...: exec keeps the PID
        final ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(logs.resolve(names[i] + ".log").toFile()));
        if (environment != null) {
            builder.environment().putAll(environment);
        }
        processes[i] = builder.start();
    }

    /**
     * Starts member {@code i} from now on with the variables {@code etcdctl member add} printed
     * ({@code ETCD_NAME}, {@code ETCD_INITIAL_CLUSTER}, {@code ETCD_INITIAL_ADVERTISE_PEER_URLS},
     * {@code ETCD_INITIAL_CLUSTER_STATE}) instead of its name and cluster flags, as an operator pastes them.
     *
     * @param i     its position.
     * @param added what {@code etcdctl member add} printed.
     */
    public void useEtcdEnvironment(final int i, final String added) {
        final Map<String, String> environment = new java.util.HashMap<>();
        final java.util.regex.Matcher variable = java.util.regex.Pattern.compile("(ETCD_[A-Z_]+)=\"([^\"]*)\"")
            .matcher(added);
        while (variable.find()) {
            environment.put(variable.group(1), variable.group(2));
        }
        etcdEnvironments.put(i, environment);
    }

    /** Has a JVM print its threads to its standard output (its log): what a member that hangs was doing. */
    private static void printThreads(final Process process) {
        try {
            final Process quit = new ProcessBuilder("kill", "-QUIT", Long.toString(process.pid())).start();
            quit.waitFor(5, TimeUnit.SECONDS);
            Await.sleep(1_000); // the dump is written by the JVM's signal thread
        } catch (final IOException ex) {
            System.err.println("could not print the threads of " + process.pid() + ": " + ex);
        } catch (final InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Waits until every running member accepts connections on its client port (and its HTTP port, for Cairn).
     */
    public void awaitPorts() {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        for (int i = 0; i < processes.length; i++) {
            while (processes[i] != null && processes[i].isAlive()) {
                try (java.net.Socket client = new java.net.Socket(hosts[i], clientPorts[i]);
                    java.net.Socket http = httpPorts[i] == 0 ? null : new java.net.Socket(hosts[i], httpPorts[i])) {
                    break;
                } catch (final IOException ex) {
                    if (System.nanoTime() > deadline) {
                        printThreads(processes[i]);
                        throw new IllegalStateException("member " + names[i] + " did not open its client port (its"
                            + " threads are printed in its log, " + logs + ")");
                    }
                    Await.sleep(50);
                }
            }
            if (processes[i] != null && !processes[i].isAlive()) {
                throw new IllegalStateException(names[i] + " exited with " + processes[i].exitValue() + ", see "
                    + logs);
            }
            synchronized (channels) {
                if (channels[i] != null) {
                    // The port is open again: a channel that failed to connect while the member was down would
                    // otherwise wait out its backoff (seconds) and fail calls fast with the old "connection refused".
                    channels[i].resetConnectBackoff();
                }
            }
        }
    }

    /**
     * @param i a member's position.
     * @return its client endpoint, {@code host:port}.
     */
    public String endpoint(final int i) {
        return hosts[i] + ":" + clientPorts[i];
    }

    /**
     * @param i a member's position.
     * @return its JSON gateway's base URL: the client port, which serves gRPC and HTTP/1.1 (as etcd's).
     */
    public String httpUrl(final int i) {
        return clientScheme + "://" + hosts[i] + ":" + clientPorts[i];
    }

    /**
     * @param i a member's position.
     * @return its {@code --listen-metrics-urls} base URL (/metrics and /health alone; plaintext).
     */
    public String metricsUrl(final int i) {
        return "http://" + hosts[i] + ":" + httpPorts[i];
    }

    /**
     * @return the client endpoints of every member started so far, comma-separated.
     */
    public String endpoints() {
        return endpointsExcept();
    }

    /**
     * @return members, spares included.
     */
    public int size() {
        return processes.length;
    }

    /**
     * @return the folder its processes' logs go to ({@code target/it-logs/TEST}).
     */
    public Path logs() {
        return logs;
    }

    /**
     * @param i a member's position.
     * @return its process.
     */
    public Process process(final int i) {
        return processes[i];
    }

    /**
     * SIGKILLs member {@code i} by PID.
     *
     * @param i its position.
     */
    public void kill(final int i) {
        processes[i].destroyForcibly();
        waitFor(processes[i]);
    }

    private static void waitFor(final Process process) {
        try {
            process.waitFor(30, TimeUnit.SECONDS);
        } catch (final InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Ports are picked below Linux's ephemeral range (32768 and up by default): a port the kernel handed out for
     * {@code bind(0)} may be given again, before the member binds it, as the source port of any outgoing connection
     * on the machine (this test's own probes included) — seen once as a member's "Failed to bind" in DiskFullIT.
     * Each port is handed out once per JVM.
     */
    private static final int PORT_MIN = 20_000;
    private static final int PORT_SPAN = 12_000;
    private static final Set<Integer> HANDED_OUT = ConcurrentHashMap.newKeySet();

    static int freeTcpPort() throws IOException {
        return freePort(true);
    }

    static int freeUdpPort() throws IOException {
        return freePort(false);
    }

    private static int freePort(final boolean tcp) throws IOException {
        for (int attempt = 0; attempt < 1_000; attempt++) {
            final int port = PORT_MIN + ThreadLocalRandom.current().nextInt(PORT_SPAN);
            if (!HANDED_OUT.add(port)) {
                continue;
            }
            final InetSocketAddress address = new InetSocketAddress("127.0.0.1", port);
            try {
                if (tcp) {
                    try (ServerSocket socket = new ServerSocket()) {
                        socket.bind(address);
                    }
                } else {
                    new DatagramSocket(address).close();
                    try (ServerSocket socket = new ServerSocket()) {
                        socket.bind(address); // free for TCP too: sealed peer frames agree keys over TCP on it
                    }
                }
                return port;
            } catch (final IOException taken) {
                continue; // in use: try another
            }
        }
        throw new IOException("no free " + (tcp ? "TCP" : "UDP") + " port in " + PORT_MIN + ".."
            + (PORT_MIN + PORT_SPAN));
    }

    /** Stops every process: SIGTERM (clean shutdown), SIGKILL after 15 s. */
    @Override
    public void close() {
        synchronized (channels) {
            for (final ManagedChannel channel : channels) {
                if (channel != null) {
                    channel.shutdownNow();
                }
            }
        }
        for (final Process process : processes) {
            if (process != null && process.isAlive()) {
                process.destroy();
            }
        }
        for (final Process process : processes) {
            if (process != null) {
                stop(process);
            }
        }
    }

    /**
     * Stops a process by its PID: SIGTERM (a clean shutdown), SIGKILL if it still runs 15 s later.
     *
     * @param process a child process.
     */
    static void stop(final Process process) {
        process.destroy();
        try {
            if (!process.waitFor(15, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(15, TimeUnit.SECONDS);
            }
        } catch (final InterruptedException ex) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
    }

    /**
     * @param i    a member's position.
     * @param name a counter or gauge on its {@code /metrics}.
     * @return its value (-1 when the member does not answer or has no such line).
     */
    public long metric(final int i, final String name) {
        try {
            final HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                java.net.URI.create(metricsUrl(i) + "/metrics")).timeout(
                java.time.Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
            for (final String line : response.body().split("\n")) {
                if (line.startsWith(name + " ")) {
                    return (long)Double.parseDouble(line.substring(name.length() + 1).trim());
                }
            }
        } catch (final IOException | RuntimeException ex) {
            return -1;
        } catch (final InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
        return -1;
    }

    /**
     * The members' own corruption check (start them with {@code --experimental-corrupt-check-time}) compared their
     * keyspaces while the test ran and found no difference: within 30 s the live members have judged or heard some
     * checks, and none of them counts a mismatch.
     *
     * @throws Exception if it fails or times out.
     */
    public void assertCorruptionChecksFoundNoDifference() throws Exception {
        Await.until("the members' corruption checks", 30, () -> {
            long checks = 0;
            for (int i = 0; i < processes.length; i++) {
                if (processes[i] != null && processes[i].isAlive()) {
                    checks += Math.max(0, metric(i, "cairn_corruption_checks_total"));
                }
            }
            return checks > 0;
        });
        for (int i = 0; i < processes.length; i++) {
            if (processes[i] != null && processes[i].isAlive()) {
                final long mismatches = metric(i, "cairn_corruption_mismatches_total");
                if (mismatches != 0) {
                    throw new AssertionError("member " + i + " counts " + mismatches + " keyspace mismatches");
                }
            }
        }
    }
}
