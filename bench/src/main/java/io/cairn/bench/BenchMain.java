package io.cairn.bench;

import io.cairn.bench.limits.SyncProbe;
import io.cairn.bench.load.CompareMain;
import io.cairn.bench.load.FailoverMain;
import io.cairn.bench.load.LoadMain;
import io.cairn.bench.load.ProxyMain;
import io.cairn.bench.report.ReportMain;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * {@code java -jar bench/target/benchmarks.jar [JMH options] [regexp]} runs JMH with Cairn's JVM flags handed to
 * every fork; {@code ... probe [--out DIR] [--seconds N]} measures the physical limits and the WAL's sync latency in
 * one run; {@code ... profile} prints this machine's hardware profile; {@code ... load --endpoints HOST:PORT [options]}
 * drives any etcd v3 endpoint (Cairn or etcd) and reports throughput and latency ({@code load --help});
 * {@code ... report [--results DIR]} renders {@code perf-results/README.md} and its charts from the stored results.
 */
public final class BenchMain {
    private static final String FLAGS_APPLIED = "cairn.bench.flagsApplied";

    private BenchMain() {
    }

    /**
     * @param args a command ({@code probe}, {@code profile}, {@code load}, {@code compare}, {@code failover},
     *             {@code proxy}, {@code report}) or JMH's
     *             own arguments.
     * @throws Exception if the run fails.
     */
    public static void main(final String[] args) throws Exception {
        if (args.length > 0 && "profile".equals(args[0])) {
            System.out.println(HardwareProfile.probe(Path.of(".")).toJson());
            return;
        }
        if (args.length > 0 && "load".equals(args[0])) {
            // A gRPC client only: none of the flags Chronicle, Agrona and LMDB need, so no relaunch. jetcd-grpc
            // brings slf4j-api without a binding; its no-op fallback is right here, its three-line warning is noise.
            System.setProperty("slf4j.internal.verbosity", System.getProperty("slf4j.internal.verbosity", "ERROR"));
            System.exit(LoadMain.run(Arrays.copyOfRange(args, 1, args.length), System.out, System.err));
        }
        if (args.length > 0 && "compare".equals(args[0])) {
            System.setProperty("slf4j.internal.verbosity", System.getProperty("slf4j.internal.verbosity", "ERROR"));
            System.exit(CompareMain.run(Arrays.copyOfRange(args, 1, args.length), System.out, System.err));
        }
        if (args.length > 0 && "failover".equals(args[0])) {
            System.setProperty("slf4j.internal.verbosity", System.getProperty("slf4j.internal.verbosity", "ERROR"));
            System.exit(FailoverMain.run(Arrays.copyOfRange(args, 1, args.length), System.out, System.err));
        }
        if (args.length > 0 && "proxy".equals(args[0])) {
            System.setProperty("slf4j.internal.verbosity", System.getProperty("slf4j.internal.verbosity", "ERROR"));
            System.exit(ProxyMain.run(Arrays.copyOfRange(args, 1, args.length), System.out, System.err));
        }
        if (args.length > 0 && "report".equals(args[0])) {
            // Reads JSON and draws charts: none of the flags Chronicle, Agrona and LMDB need, so no relaunch.
            System.exit(ReportMain.run(Arrays.copyOfRange(args, 1, args.length), System.out, System.err));
        }
        if (args.length > 0 && "probe".equals(args[0])) {
            if (!Boolean.getBoolean(FLAGS_APPLIED)) {
                System.exit(relaunchWithFlags(args));
            }
            SyncProbe.main(Arrays.copyOfRange(args, 1, args.length));
            return;
        }
        final List<String> jmhArgs = new ArrayList<>();
        jmhArgs.add("-jvmArgsAppend");
        jmhArgs.add(String.join(" ", JvmFlags.load()));
        jmhArgs.addAll(Arrays.asList(args));
        org.openjdk.jmh.Main.main(jmhArgs.toArray(new String[0]));
    }

    private static int relaunchWithFlags(final String[] args) throws Exception {
        final List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(JvmFlags.load());
        command.add("-D" + FLAGS_APPLIED + "=true");
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(BenchMain.class.getName());
        command.addAll(Arrays.asList(args));
        return new ProcessBuilder(command).inheritIO().start().waitFor();
    }
}
