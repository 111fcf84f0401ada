package io.cairn.bench.report;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.function.BiConsumer;

/**
 * One profile's JMH and sync-probe sections: the physical limits, then one table per benchmark family with score,
 * error and unit, and a ratio wherever a limit bounds the figure.
 */
final class FamilyTables {
    private static final Comparator<JmhResult> BY_BATCH_THEN_SYNC_FIRST = Comparator
        .comparingLong((JmhResult result) -> result.longParam("batchSize"))
        .thenComparing(result -> !"true".equals(result.param("sync")))
        .thenComparing(JmhResult.ORDER);

    private static final String MICROS = "us/op";

    private final ProfileResults profile;
    private final StringBuilder out;
    private final BiConsumer<String, String> chart;

    /**
     * @param profile a profile.
     * @param out     where the Markdown goes.
     * @param chart   links a chart (path, title) if it was written.
     */
    FamilyTables(final ProfileResults profile, final StringBuilder out, final BiConsumer<String, String> chart) {
        this.profile = profile;
        this.out = out;
        this.chart = chart;
    }

    /** Writes every section that has data. */
    void render() {
        syncProbe();
        memoryCopy();
        walAppend();
        keyspace();
        snapshot();
        replicatedCommit();
        roundTrip();
        allocation();
        other();
    }

    private void syncProbe() {
        final SyncProbeResult probe = profile.latestProbe();
        if (probe == null) {
            return;
        }
        out.append("### Physical limits: sync probe\n\n");
        out.append("One `write + fdatasync` of a plain file (`").append(SyncProbeResult.RAW).append("`, the floor ")
            .append("any log pays) against one WAL append + sync of the same bytes (`").append(SyncProbeResult.WAL)
            .append("`), alternating rounds, ").append(probe.entryBytes()).append(" B entries; latencies in µs; ")
            .append("`-N-writers`: N threads syncing their own files at once (members sharing one disk). ")
            .append("Source: ").append(Markdown.link(probe.source(), profile.name + "/" + probe.source()))
            .append(".\n\n");
        final Markdown table = Markdown.table(">batch", "kind", ">p50", ">p99", ">p99.9", ">max", ">entries/s",
            ">device B per logged B", ">p50 / raw", ">p99 / raw");
        for (final SyncProbeResult.Row row : probe.rows()) {
            final SyncProbeResult.Row raw = probe.row(SyncProbeResult.RAW, row.batchSize());
            final boolean reference = raw == null || raw == row;
            table.row(Integer.toString(row.batchSize()), row.kind(), Markdown.number(row.p50Us()),
                Markdown.number(row.p99Us()), Markdown.number(row.p999Us()), Markdown.number(row.maxUs()),
                Markdown.number(row.entriesPerSecond()),
                row.deviceBytesPerLoggedByte() > 0 ? Markdown.number(row.deviceBytesPerLoggedByte()) : Markdown.NONE,
                reference ? Markdown.NONE : Markdown.ratio(row.p50Us(), raw.p50Us()),
                reference ? Markdown.NONE : Markdown.ratio(row.p99Us(), raw.p99Us()));
        }
        out.append(table.render()).append('\n');
    }

    private void memoryCopy() {
        final SyncProbeResult probe = profile.memoryProbeFor("");
        if (probe == null) {
            return;
        }
        out.append("### Physical limits: memory copy\n\n");
        out.append("Copy bandwidth between two off-heap buffers (`Unsafe.copyMemory`), in GB/s of 10^9 bytes copied ")
            .append("per second (each byte read once and written once), rounds alternating between the sizes after ")
            .append("a warm-up. The largest size's median is the limit for snapshot bytes/s. Source: ")
            .append(Markdown.link(probe.source(), profile.name + "/" + probe.source())).append(".\n\n");
        final Markdown table = Markdown.table(">bytes per copy", ">rounds", ">best GB/s", ">median GB/s");
        for (final SyncProbeResult.Copy copy : probe.copies()) {
            table.row(bytes(copy.blockBytes()), Integer.toString(copy.rounds()), Markdown.number(copy.bestGBps()),
                Markdown.number(copy.medianGBps()));
        }
        out.append(table.render()).append('\n');
    }

    /** "64 MiB", "4 KiB" or "100 B". */
    private static String bytes(final long bytes) {
        if (bytes >= 1 << 20 && bytes % (1 << 20) == 0) {
            return (bytes >> 20) + " MiB";
        }
        return bytes >= 1 << 10 && bytes % (1 << 10) == 0 ? (bytes >> 10) + " KiB" : bytes + " B";
    }

    private void walAppend() {
        final List<JmhResult> results = new ArrayList<>(profile.jmh(Figures.WAL));
        if (results.isEmpty()) {
            return;
        }
        results.sort(BY_BATCH_THEN_SYNC_FIRST);
        out.append("### WAL append\n\n");
        out.append("`").append(Figures.WAL).append("`: one operation is one batch appended and, with fsync on, ")
            .append("made durable by one sync (group commit); fsync off copies into the mapped file only (measuring ")
            .append("only). Limit: the raw `write + fdatasync` entries/s of the same batch and entry size in the ")
            .append("sync probe of the benchmark's day (else the latest).\n\n");
        final Markdown table = Markdown.table(">batch", "fsync", ">entry B", "score", ">entries/s",
            ">raw fdatasync entries/s", ">WAL / raw");
        for (final JmhResult result : results) {
            final SyncProbeResult probe = profile.probeFor(result.date());
            final SyncProbeResult.Row raw = probe == null || probe.entryBytes() != result.longParam("entryBytes")
                ? null : probe.row(SyncProbeResult.RAW, (int)result.longParam("batchSize"));
            final boolean sync = "true".equals(result.param("sync"));
            final double limit = sync && raw != null ? raw.entriesPerSecond() : Double.NaN;
            table.row(result.param("batchSize"), sync ? "on" : "off", result.param("entryBytes"),
                score(result), Markdown.number(Figures.entriesPerSecond(result)), Markdown.number(limit),
                Markdown.ratio(Figures.entriesPerSecond(result), limit));
        }
        out.append(table.render()).append('\n');
        out.append(ReadmeWriter.sources(profile, results, probesFor(results)));
        chart.accept(ChartWriter.walChart(profile.name), "WAL append entries/s by batch size, fsync on and off");
    }

    private List<SyncProbeResult> probesFor(final List<JmhResult> results) {
        final List<SyncProbeResult> probes = new ArrayList<>();
        for (final JmhResult result : results) {
            final SyncProbeResult probe = profile.probeFor(result.date());
            if (probe != null && !probes.contains(probe)) {
                probes.add(probe);
            }
        }
        return probes;
    }

    private void keyspace() {
        final List<JmhResult> results = new ArrayList<>(profile.jmh(Figures.KEYSPACE_WRITE));
        results.addAll(profile.jmh(Figures.KEYSPACE_READ));
        final String what = " applies `batchSize` commands per LMDB write transaction as the"
            + " event loop does; `" + Figures.KEYSPACE_READ + "` serves point gets and 100-key prefix ranges as views"
            + " into LMDB's map. The `ops` counter is commands/s for writes and keys/s for ranges. No physical limit"
            + " is recorded for these (the probe measures the disk only).";
        if (!heading("Keyspace", Figures.KEYSPACE_WRITE, what, results)) {
            return;
        }
        genericTable(results, "ops");
    }

    /**
     * A family's title, then what its benchmark measures and against what, then the parameters all runs share.
     *
     * @return false (and nothing written) when the family has no results.
     */
    private boolean heading(final String title, final String benchmark, final String description,
        final List<JmhResult> results) {
        if (results.isEmpty()) {
            return false;
        }
        out.append("### ").append(title).append("\n\n`").append(benchmark).append('`').append(description)
            .append(constants(results)).append("\n\n");
        return true;
    }

    private void snapshot() {
        final List<JmhResult> results = profile.jmh(Figures.SNAPSHOT);
        final String what = ": taking a snapshot (LMDB's compacting copy, checksum,"
            + " seal) and restoring one, as snapshot MiB/s; compaction as history records looked at per second."
            + " Limit for the snapshot rows: the median memory copy bandwidth of the largest copy size in the probe"
            + " of the benchmark's day (else the latest probe that measured it); compaction has none recorded.";
        if (!heading("Snapshot and compaction", Figures.SNAPSHOT, what, results)) {
            return;
        }
        final Markdown table = Markdown.table("benchmark", "score", ">work per second", ">memory copy MiB/s",
            ">work / memory copy");
        final List<SyncProbeResult> probes = new ArrayList<>();
        for (final JmhResult result : results) {
            final double bytes = result.secondaryScore("bytes");
            final double records = result.secondaryScore("records");
            final String work = bytes > 0 ? Markdown.number(bytes / (1 << 20)) + " MiB/s"
                : records > 0 ? Markdown.number(records) + " records/s" : Markdown.NONE;
            final SyncProbeResult probe = bytes > 0 ? profile.memoryProbeFor(result.date()) : null;
            final double limit = probe == null ? Double.NaN : probe.memoryCopyBytesPerSecond();
            if (probe != null && !probes.contains(probe)) {
                probes.add(probe);
            }
            table.row(result.method(), score(result), work, Markdown.number(limit / (1 << 20)),
                Markdown.ratio(bytes, limit));
        }
        out.append(table.render()).append('\n');
        out.append(ReadmeWriter.sources(profile, results, probes));
    }

    private void replicatedCommit() {
        final List<JmhResult> results = new ArrayList<>(profile.jmh(Figures.COMMIT));
        if (results.isEmpty()) {
            return;
        }
        results.sort(BY_BATCH_THEN_SYNC_FIRST);
        final Map<String, JmhResult[]> byConfiguration = new TreeMap<>();
        for (final JmhResult result : results) {
            final JmhResult[] pair = byConfiguration.computeIfAbsent(configurationKey(result),
                key -> new JmhResult[2]);
            pair["commit".equals(result.method()) ? 0 : 1] = result;
        }
        final JmhResult roundTrip = Figures.fastestRoundTrip(profile);
        out.append("### Replicated commit\n\n");
        out.append("`").append(Figures.COMMIT).append("`: three members in one JVM replicating over loopback UDP; ")
            .append("one client proposes `batchSize` puts to the leader and waits until a quorum has committed and ")
            .append("the leader applied them. `commit` is one batch's latency (sample mode), `throughput` counts ")
            .append("committed entries. Floor for one write (batch 1): one Aeron round trip plus one raw ")
            .append("fdatasync of one entry (the leader's sync overlapped with replication), or the round trip ")
            .append("alone with fsync off; larger batches have no measured floor.");
        floorSources(roundTrip, results);
        out.append(constants(results)).append("\n\n");
        final Markdown table = Markdown.table(">batch", "fsync", "commit latency", ">p50", ">p99", ">floor p50",
            ">p50 / floor", ">p99 / floor p99", "throughput", ">entries/s");
        for (final JmhResult result : results) {
            final JmhResult[] pair = byConfiguration.remove(configurationKey(result));
            if (pair == null) {
                continue;
            }
            final JmhResult commit = pair[0];
            final JmhResult throughput = pair[1];
            final JmhResult any = commit != null ? commit : throughput;
            final double[] floor = floor(commit, roundTrip);
            table.row(any.param("batchSize"), "true".equals(any.param("sync")) ? "on" : "off",
                commit == null ? Markdown.NONE : score(commit),
                commit == null ? Markdown.NONE : Markdown.number(commit.percentile(50)),
                commit == null ? Markdown.NONE : Markdown.number(commit.percentile(99)), Markdown.number(floor[0]),
                commit == null ? Markdown.NONE : Markdown.ratio(commit.percentile(50), floor[0]),
                commit == null ? Markdown.NONE : Markdown.ratio(commit.percentile(99), floor[1]),
                throughput == null ? Markdown.NONE : score(throughput),
                throughput == null ? Markdown.NONE : Markdown.number(Figures.entriesPerSecond(throughput)));
        }
        out.append(table.render()).append('\n');
        out.append(ReadmeWriter.sources(profile, results, List.of()));
    }

    private void floorSources(final JmhResult roundTrip, final List<JmhResult> results) {
        final SyncProbeResult probe = profile.probeFor(results.get(0).date());
        final SyncProbeResult.Row raw = probe == null ? null : probe.row(SyncProbeResult.RAW, 1);
        if (roundTrip != null) {
            out.append(" Round trip: the fastest measured (`").append(roundTrip.paramsText()).append("`, p50 ")
                .append(Markdown.number(roundTrip.percentile(50))).append(", p99 ")
                .append(Markdown.number(roundTrip.percentile(99))).append(' ')
                .append(Markdown.unit(roundTrip.primary().unit()).replace("/op", "")).append(").");
        }
        if (raw != null) {
            out.append(" fdatasync: ").append(probe.entryBytes()).append(" B, p50 ")
                .append(Markdown.number(raw.p50Us())).append(", p99 ").append(Markdown.number(raw.p99Us()))
                .append(" µs (").append(Markdown.link(probe.source(), profile.name + "/" + probe.source()))
                .append(").");
        }
    }

    /** Batch-1 floor {p50, p99} in µs, NaN where there is none. */
    private double[] floor(final JmhResult commit, final JmhResult roundTrip) {
        final double[] none = {Double.NaN, Double.NaN};
        // The probe is in µs: a floor is only formed when both JMH figures are too.
        if (commit == null || commit.longParam("batchSize") != 1 || roundTrip == null
            || !MICROS.equals(commit.primary().unit()) || !MICROS.equals(roundTrip.primary().unit())) {
            return none;
        }
        if (!"true".equals(commit.param("sync"))) {
            return new double[] {roundTrip.percentile(50), roundTrip.percentile(99)};
        }
        final SyncProbeResult probe = profile.probeFor(commit.date());
        final SyncProbeResult.Row raw = probe == null ? null : probe.row(SyncProbeResult.RAW, 1);
        return raw == null ? none
            : new double[] {roundTrip.percentile(50) + raw.p50Us(), roundTrip.percentile(99) + raw.p99Us()};
    }

    private static String configurationKey(final JmhResult result) {
        return result.params().toString();
    }

    private void roundTrip() {
        final List<JmhResult> results = profile.jmh(Figures.ROUND_TRIP);
        final String what = ": one framed message to a peer and its echo back over"
            + " Cairn's Aeron transport on loopback UDP, two embedded drivers; the network's floor for replication."
            + " Percentiles in the score's unit.";
        if (!heading("Aeron round trip", Figures.ROUND_TRIP, what, results)) {
            return;
        }
        final SortedSet<String> varying = Figures.varyingParams(results);
        final List<String> columns = new ArrayList<>();
        for (final String param : varying) {
            columns.add(">" + param);
        }
        columns.addAll(List.of("score (mean)", ">p50", ">p90", ">p99", ">p99.9", ">max"));
        final Markdown table = Markdown.table(columns.toArray(String[]::new));
        for (final JmhResult result : results) {
            final List<String> cells = new ArrayList<>();
            for (final String param : varying) {
                cells.add(result.param(param));
            }
            cells.addAll(List.of(score(result), Markdown.number(result.percentile(50)),
                Markdown.number(result.percentile(90)), Markdown.number(result.percentile(99)),
                Markdown.number(result.percentile(99.9)), Markdown.number(result.percentile(100))));
            table.row(cells.toArray(String[]::new));
        }
        out.append(table.render()).append('\n');
        out.append(ReadmeWriter.sources(profile, results, List.of()));
    }

    private void allocation() {
        if (profile.allocation.isEmpty()) {
            return;
        }
        final List<JmhResult> results = new ArrayList<>(profile.allocation.values());
        results.sort(JmhResult.ORDER);
        out.append("### Allocation\n\n");
        out.append("From runs with `-prof gc`: bytes allocated per operation as JMH counts them, which is every ")
            .append("thread of the fork (background threads of Chronicle and of JMH itself included), so the hot ")
            .append("path's own figure is at most this.\n\n");
        final Markdown table = Markdown.table("benchmark", "parameters", ">allocated per op", ">allocation rate");
        for (final JmhResult result : results) {
            final JmhResult.Metric perOp = result.secondary().get(JmhResult.ALLOCATION_PER_OP);
            final JmhResult.Metric rate = result.secondary().get("gc.alloc.rate");
            table.row(result.className() + "." + result.method(), result.paramsText(),
                Markdown.score(perOp.score(), perOp.error(), perOp.unit()),
                rate == null ? Markdown.NONE : Markdown.score(rate.score(), rate.error(), rate.unit()));
        }
        out.append(table.render()).append('\n');
        out.append(ReadmeWriter.sources(profile, results, List.of()));
    }

    private void other() {
        final List<JmhResult> results = new ArrayList<>();
        for (final JmhResult result : profile.jmh.values()) {
            if (!Figures.KNOWN.contains(result.className())) {
                results.add(result);
            }
        }
        if (results.isEmpty()) {
            return;
        }
        results.sort(JmhResult.ORDER);
        out.append("### Other benchmarks\n\n");
        out.append("Benchmarks the report has no section for: score only.\n\n");
        final Markdown table = Markdown.table("benchmark", "mode", "parameters", "score");
        for (final JmhResult result : results) {
            table.row(result.className() + "." + result.method(), result.mode(), result.paramsText(), score(result));
        }
        out.append(table.render()).append('\n');
        out.append(ReadmeWriter.sources(profile, results, List.of()));
    }

    /** A table of benchmark, the parameters that vary, score and the named counters per second. */
    private void genericTable(final List<JmhResult> results, final String... counters) {
        final SortedSet<String> varying = Figures.varyingParams(results);
        final List<String> columns = new ArrayList<>(List.of("benchmark"));
        for (final String param : varying) {
            columns.add(">" + param);
        }
        columns.add("score");
        for (final String counter : counters) {
            columns.add(">`" + counter + "` counter/s");
        }
        final Markdown table = Markdown.table(columns.toArray(String[]::new));
        for (final JmhResult result : results) {
            final List<String> cells = new ArrayList<>(List.of(result.className() + "." + result.method()));
            for (final String param : varying) {
                cells.add(result.params().containsKey(param) ? result.param(param) : Markdown.NONE);
            }
            cells.add(score(result));
            for (final String counter : counters) {
                cells.add(Markdown.number(result.secondaryScore(counter)));
            }
            table.row(cells.toArray(String[]::new));
        }
        out.append(table.render()).append('\n');
        out.append(ReadmeWriter.sources(profile, results, List.of()));
    }

    /** " Every configuration: a=1, b=2." for the parameters that do not vary, or the empty string. */
    private static String constants(final List<JmhResult> results) {
        final SortedSet<String> varying = Figures.varyingParams(results);
        final Map<String, String> constant = new TreeMap<>();
        for (final JmhResult result : results) {
            result.params().forEach((name, value) -> {
                if (!varying.contains(name)) {
                    constant.put(name, value);
                }
            });
        }
        if (constant.isEmpty()) {
            return "";
        }
        final StringBuilder text = new StringBuilder(" Every configuration: ");
        constant.forEach((name, value) -> text.append('`').append(name).append('=').append(value).append("`, "));
        text.setLength(text.length() - 2);
        return text.append('.').toString();
    }

    private static String score(final JmhResult result) {
        return Markdown.score(result.primary().score(), result.primary().error(), result.primary().unit());
    }
}
