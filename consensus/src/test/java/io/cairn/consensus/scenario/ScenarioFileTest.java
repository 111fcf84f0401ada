package io.cairn.consensus.scenario;

import io.cairn.consensus.MembershipChange;
import io.cairn.consensus.RaftMessage;
import io.cairn.consensus.RaftMessageDecoder;
import io.cairn.consensus.RaftResult;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Goal: the tricky Raft cases as readable text files (etcd-raft's datadriven style): each file in
 * {@code src/test/resources/scenarios} is a script of commands against a {@link ScenarioCluster}, each followed by
 * the output it must produce. Method: run every command, compare its output with the expected block; with
 * {@code -Dcairn.scenario.rewrite=true} the files are rewritten with the actual output instead (review the diff).
 *
 * <pre>
 *   # comment
 *   command arg key=value
 *   ----
 *   expected output (empty for none)
 *   (a blank line ends the case)
 * </pre>
 * Commands: {@code cluster voters=1,2,3 [spares=4] [pre-vote=false] [check-quorum=false] [append-entries=N]},
 * {@code campaign N}, {@code elect N} (campaign, deliver, repeat until it leads), {@code tick N [count]},
 * {@code tick-all count}, {@code stabilize}, {@code propose N value}, {@code isolate N}, {@code cut A B},
 * {@code heal}, {@code crash N}, {@code restart N}, {@code auto-sync N on|off}, {@code sync N},
 * {@code drop-accepted-appends term=T} / {@code drop-appends from=N} / {@code drop none},
 * {@code snapshot N}, {@code add-learner|add-voter|promote|remove L N}, {@code transfer L T}, {@code read N id},
 * {@code reads N}, {@code forward N id value} (a follower forwards to its leader), {@code forwards N} (the answers it
 * got), {@code status}, {@code log N}, {@code applied N}.
 */
class ScenarioFileTest {
    private static final Path DIRECTORY = Path.of("src/test/resources/scenarios");
    private static final String SEPARATOR = "----";

    private ScenarioCluster cluster;
    private final RaftMessageDecoder decoder = new RaftMessageDecoder();

    @TestFactory
    Stream<DynamicTest> shouldProduceExpectedOutputWhenRunningEachScenarioFile() throws IOException {
        final List<Path> files;
        try (Stream<Path> listing = Files.list(DIRECTORY)) {
            files = listing.filter(path -> path.toString().endsWith(".txt")).sorted().toList();
        }
        return files.stream().map(file -> DynamicTest.dynamicTest(file.getFileName().toString(), () -> run(file)));
    }

    private void run(final Path file) throws IOException {
        cluster = null;
        final List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        final StringBuilder rewritten = new StringBuilder();
        final StringBuilder expectedAll = new StringBuilder();
        final StringBuilder actualAll = new StringBuilder();
        int i = 0;
        while (i < lines.size()) {
            final String line = lines.get(i);
            if (line.isBlank() || line.startsWith("#")) {
                rewritten.append(line).append('\n');
                i++;
                continue;
            }
            final String command = line;
            i++;
            if (i >= lines.size() || !lines.get(i).equals(SEPARATOR)) {
                throw new IllegalStateException(file + ": '" + SEPARATOR + "' expected after: " + command);
            }
            i++;
            final StringBuilder expected = new StringBuilder();
            while (i < lines.size() && !lines.get(i).isBlank()) {
                expected.append(lines.get(i)).append('\n');
                i++;
            }
            final String actual = execute(command.trim());
            rewritten.append(command).append('\n').append(SEPARATOR).append('\n').append(actual);
            expectedAll.append(command).append('\n').append(expected);
            actualAll.append(command).append('\n').append(actual);
        }
        if (Boolean.getBoolean("cairn.scenario.rewrite")) {
            Files.writeString(file, rewritten.toString(), StandardCharsets.UTF_8);
            return;
        }
        assertEquals(expectedAll.toString(), actualAll.toString(), file.toString());
    }

    private String execute(final String command) {
        final String[] words = command.split("\\s+");
        final Map<String, String> options = new HashMap<>();
        final List<String> args = new ArrayList<>();
        for (int i = 1; i < words.length; i++) {
            final int equals = words[i].indexOf('=');
            if (equals > 0) {
                options.put(words[i].substring(0, equals), words[i].substring(equals + 1));
            } else {
                args.add(words[i]);
            }
        }
        switch (words[0]) {
            case "cluster":
                cluster = new ScenarioCluster(ids(options.get("voters")), ids(options.getOrDefault("spares", "")),
                    builder -> builder
                        .preVote(Boolean.parseBoolean(options.getOrDefault("pre-vote", "true")))
                        .checkQuorum(Boolean.parseBoolean(options.getOrDefault("check-quorum", "true")))
                        .appendLimits(4096, Integer.parseInt(options.getOrDefault("append-entries", "64"))));
                return cluster.status();
            case "campaign":
                cluster.campaign(arg(args, 0));
                return "";
            case "elect":
                cluster.electUntilLeader(arg(args, 0));
                return cluster.status();
            case "tick":
                cluster.tick(arg(args, 0), args.size() > 1 ? arg(args, 1) : 1);
                return "";
            case "tick-all":
                cluster.tickAll(arg(args, 0));
                return cluster.status();
            case "stabilize":
                cluster.stabilize();
                return cluster.status();
            case "propose":
                return code(cluster.propose(arg(args, 0), args.get(1)));
            case "isolate":
                cluster.isolate(arg(args, 0));
                return "";
            case "cut":
                cluster.cut(arg(args, 0), arg(args, 1));
                return "";
            case "heal":
                cluster.heal();
                return "";
            case "crash":
                cluster.crash(arg(args, 0));
                return "";
            case "restart":
                cluster.restart(arg(args, 0));
                return cluster.statusOf(cluster.node(arg(args, 0))) + "\n";
            case "auto-sync":
                cluster.node(arg(args, 0)).autoSync("on".equals(args.get(1)));
                return "";
            case "sync":
                cluster.node(arg(args, 0)).sync();
                return "";
            default:
                return executeMore(words[0], args, options);
        }
    }

    private String executeMore(final String verb, final List<String> args, final Map<String, String> options) {
        switch (verb) {
            case "drop-accepted-appends":
                final long term = Long.parseLong(options.get("term"));
                cluster.dropWhen(message -> isAcceptedAppendWithTerm(message, term));
                return "";
            case "drop-appends":
                final int from = Integer.parseInt(options.get("from"));
                cluster.dropWhen(message -> message.kind() == RaftMessage.APPEND && message.from() == from);
                return "";
            case "drop":
                cluster.dropWhen(message -> false);
                return "";
            case "snapshot":
                cluster.snapshotAndCompact(arg(args, 0));
                return cluster.statusOf(cluster.node(arg(args, 0))) + "\n";
            case "add-learner":
                return code(cluster.changeMembership(arg(args, 0), MembershipChange.ADD_LEARNER, arg(args, 1)));
            case "add-voter":
                return code(cluster.changeMembership(arg(args, 0), MembershipChange.ADD_VOTER, arg(args, 1)));
            case "promote":
                return code(cluster.changeMembership(arg(args, 0), MembershipChange.PROMOTE_LEARNER, arg(args, 1)));
            case "remove":
                return code(cluster.changeMembership(arg(args, 0), MembershipChange.REMOVE, arg(args, 1)));
            case "transfer":
                return code(cluster.transfer(arg(args, 0), arg(args, 1)));
            case "read":
                return code(cluster.read(arg(args, 0), arg(args, 1)));
            case "reads":
                return cluster.node(arg(args, 0)).readStates() + "\n";
            case "forward":
                return code(cluster.proposeOrForward(arg(args, 0), arg(args, 1), args.get(2)));
            case "forwards":
                return cluster.node(arg(args, 0)).forwardStates() + "\n";
            case "status":
                return cluster.status();
            case "log":
                return cluster.log(arg(args, 0)) + "\n";
            case "applied":
                return cluster.node(arg(args, 0)).applied() + "\n";
            default:
                throw new IllegalArgumentException("unknown command " + verb);
        }
    }

    /** An append that carries an entry of {@code term} and that its receiver would accept (its prefix matches). */
    private boolean isAcceptedAppendWithTerm(final ScenarioCluster.Message message, final long term) {
        if (message.kind() != RaftMessage.APPEND) {
            return false;
        }
        decoder.wrap(new UnsafeBuffer(message.bytes()), 0, message.bytes().length);
        boolean carriesTerm = false;
        int position = RaftMessage.APPEND_ENTRIES_OFFSET;
        for (int i = 0; i < decoder.entryCount(); i++, position = decoder.nextEntry(position)) {
            carriesTerm |= decoder.entryTerm(position) == term;
        }
        final ScenarioCluster.Node receiver = cluster.node(message.to());
        return carriesTerm && receiver.wal().term(decoder.prevLogIndex()) == decoder.prevLogTerm();
    }

    private static String code(final long result) {
        return RaftResult.name(result) + "\n";
    }

    private static int arg(final List<String> args, final int position) {
        return Integer.parseInt(args.get(position));
    }

    private static int[] ids(final String list) {
        return list == null || list.isEmpty() ? new int[0]
            : Arrays.stream(list.split(",")).mapToInt(Integer::parseInt).toArray();
    }
}
