package io.cairn.transport.aeron;

import io.cairn.consensus.EntryType;
import io.cairn.consensus.Role;
import io.cairn.consensus.keyspace.KeyspaceMember;
import io.cairn.consensus.loop.RaftListener;
import io.cairn.engine.mvcc.CommandEncoder;
import io.cairn.engine.mvcc.MvccReader;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Goal: one member of a test cluster as its own JVM, so a test can SIGKILL it by PID. Method: a
 * {@link KeyspaceMember} over {@link AeronTransport}; while it leads, a writer thread proposes puts (3,000/s) of keys
 * {@code <id>-<sequence>} and prints {@code ACK <key>} once each is committed (held durably by a quorum); every
 * 100 ms it prints {@code STATUS <role> <applied index> <revision>}; {@code pause} on stdin stops the writer,
 * {@code stop} closes the member cleanly.
 *
 * <p>{@code MemberProcess <id> <data dir> <id=host:port,...>}
 */
public final class MemberProcess {
    private static final AtomicBoolean STOPPING = new AtomicBoolean();
    private static final AtomicBoolean PAUSED = new AtomicBoolean();
    /** Puts per second while leading: {@code -Dcairn.it.writesPerSecond} (0: as fast as it goes), default 3,000. */
    private static final long WRITES_PER_SECOND = Long.getLong("cairn.it.writesPerSecond", 3_000) <= 0
        ? Long.MAX_VALUE / 1_000_000 : Long.getLong("cairn.it.writesPerSecond", 3_000);
    private MemberProcess() {
    }

    /**
     * @param args id, data directory, all members' endpoints.
     * @throws Exception if the member cannot start.
     */
    public static void main(final String[] args) throws Exception {
        final int id = Integer.parseInt(args[0]);
        final Path data = Path.of(args[1]);
        final Map<Integer, String> peers = new HashMap<>();
        for (final String member : args[2].split(",")) {
            final String[] parts = member.split("=");
            peers.put(Integer.parseInt(parts[0]), parts[1]);
        }
        final String own = peers.remove(id);
        final PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        final Map<Long, String> inFlight = new ConcurrentHashMap<>();
        final AtomicInteger role = new AtomicInteger(Role.FOLLOWER);
        final AeronTransport transport = AeronTransport.launch(AeronTransportConfig.of(id, own, peers));
        final KeyspaceMember member = new KeyspaceMember(
            KeyspaceMember.Settings.of(id, data, 1, 2, 3).with(true, TimeUnit.MILLISECONDS.toNanos(50), 2_000, 500),
            transport, RaftListener.forWrites((correlationId, code, index, result) -> {
                final String key = inFlight.remove(correlationId);
                if (code == RaftListener.COMMITTED && key != null) {
                    out.println("ACK " + key);
                }
            }, (newRole, term, leaderId) -> role.set(newRole)))
            .start(error -> {
                error.printStackTrace();
                Runtime.getRuntime().halt(3);
            });
        final Thread writer = new Thread(() -> write(id, member, role, inFlight), "writer");
        writer.setDaemon(true);
        writer.start();
        final Thread status = new Thread(() -> status(member, role, out), "status");
        status.setDaemon(true);
        status.start();
        final BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null && !"stop".equals(line.trim())) {
            if ("pause".equals(line.trim())) {
                PAUSED.set(true);
            }
        }
        STOPPING.set(true);
        status.join(5_000);
        member.close();
        transport.close();
        out.println("STOPPED");
    }

    private static void write(final int id, final KeyspaceMember member, final AtomicInteger role,
        final Map<Long, String> inFlight) {
        final CommandEncoder encoder = new CommandEncoder();
        final byte[] value = new byte[100];
        long sequence = 0;
        final long startNs = System.nanoTime();
        while (true) {
            // A steady rate by default (3,000 puts/s), so the test is quick; 0 writes as fast as the cluster takes
            // (a restarted member must then catch up by a large snapshot under saturation).
            final long allowed = (System.nanoTime() - startNs) / 1_000_000L * WRITES_PER_SECOND / 1_000L;
            if (role.get() != Role.LEADER || inFlight.size() > 2_000 || PAUSED.get() || sequence >= allowed) {
                sleep(2);
                continue;
            }
            final String key = id + "-" + System.nanoTime() + "-" + sequence++;
            encoder.reset().put(key.getBytes(StandardCharsets.UTF_8), value, 0, 0);
            inFlight.put(sequence, key);
            if (!member.requests().offerProposal(sequence, EntryType.NORMAL, encoder.buffer(), 0,
                encoder.length())) {
                inFlight.remove(sequence);
                sleep(1);
            }
        }
    }

    private static void status(final KeyspaceMember member, final AtomicInteger role, final PrintStream out) {
        try (MvccReader reader = member.store().newReader()) {
            while (!STOPPING.get()) {
                reader.refresh();
                out.println("STATUS " + role.get() + " " + reader.appliedIndex() + " " + reader.revision());
                sleep(100);
            }
        }
    }

    private static void sleep(final long ms) {
        try {
            Thread.sleep(ms);
        } catch (final InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }
}
