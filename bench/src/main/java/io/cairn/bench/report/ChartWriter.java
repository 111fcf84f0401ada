package io.cairn.bench.report;

import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.CategorySeries;
import org.knowm.xchart.VectorGraphicsEncoder;
import org.knowm.xchart.style.CategoryStyler;
import org.knowm.xchart.style.Styler;

import java.awt.Color;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * Draws the report's charts with XChart and writes them as SVG (VectorGraphics2D): per profile the WAL's entries/s by
 * batch size (fsync on, off, and the raw fdatasync limit) and, per compared workload, Cairn's and etcd's latency
 * percentiles; across profiles, bars of the headline figures. XChart draws text as glyph outlines, so a chart's bytes
 * depend on the fonts installed, not only on the data: the same machine gives the same bytes.
 */
final class ChartWriter {
    /** The folder, relative to the results folder. */
    static final String FOLDER = "charts";
    private static final int WIDTH = 800;
    private static final int HEIGHT = 450;

    private final Path root;
    private final SortedSet<String> written = new TreeSet<>();

    private ChartWriter(final Path root) {
        this.root = root;
    }

    /**
     * @param profile a profile's name.
     * @return its WAL chart's path, relative to the results folder.
     */
    static String walChart(final String profile) {
        return FOLDER + "/" + safe(profile) + "-wal-append.svg";
    }

    /**
     * @param profile  a profile's name.
     * @param workload a compared workload.
     * @return its latency chart's path, relative to the results folder.
     */
    static String latencyChart(final String profile, final String workload) {
        return FOLDER + "/" + safe(profile) + "-latency-" + safe(workload) + ".svg";
    }

    /**
     * @param group a kind of headline figure.
     * @return its chart's path, relative to the results folder.
     */
    static String headlineChart(final Figures.Group group) {
        final String name = switch (group) {
            case LATENCY_US -> "latency";
            case PER_SECOND -> "throughput";
            case CAIRN_OVER_ETCD -> "cairn-vs-etcd";
        };
        return FOLDER + "/profiles-" + name + ".svg";
    }

    /**
     * Writes every chart the data allows and deletes SVGs in the folder that no longer have data.
     *
     * @param profiles every profile.
     * @param root     the results folder.
     * @return the charts written, relative to the results folder.
     * @throws IOException if a file cannot be written.
     */
    static SortedSet<String> write(final List<ProfileResults> profiles, final Path root) throws IOException {
        final ChartWriter writer = new ChartWriter(root);
        Files.createDirectories(root.resolve(FOLDER));
        for (final Figures.Group group : Figures.Group.values()) {
            writer.headlines(profiles, group);
        }
        for (final ProfileResults profile : profiles) {
            writer.wal(profile);
            writer.latency(profile);
        }
        try (Stream<Path> files = Files.list(root.resolve(FOLDER))) {
            for (final Path file : files.sorted().toList()) {
                final String name = FOLDER + "/" + file.getFileName();
                if (name.endsWith(".svg") && !writer.written.contains(name)) {
                    Files.delete(file);
                }
            }
        }
        return writer.written;
    }

    private void headlines(final List<ProfileResults> profiles, final Figures.Group group) throws IOException {
        final boolean logarithmic = group != Figures.Group.CAIRN_OVER_ETCD;
        final List<Figures.Headline> headlines = new ArrayList<>();
        for (final Figures.Headline headline : Figures.headlines(profiles)) {
            if (headline.group() == group) {
                headlines.add(headline);
            }
        }
        final List<String> categories = new ArrayList<>();
        for (final Figures.Headline headline : headlines) {
            categories.add(headline.chartLabel());
        }
        final SortedMap<String, List<Double>> series = new TreeMap<>();
        for (final ProfileResults profile : profiles) {
            final List<Double> values = new ArrayList<>();
            for (final Figures.Headline headline : headlines) {
                values.add(headline.value().applyAsDouble(profile));
            }
            series.put(profile.name, values);
        }
        final String title = switch (group) {
            case LATENCY_US -> "Latency headlines by profile (lower is better)";
            case PER_SECOND -> "Throughput headlines by profile (higher is better)";
            case CAIRN_OVER_ETCD -> "Cairn/etcd throughput by workload and profile (1 = parity)";
        };
        final String axis = switch (group) {
            case LATENCY_US -> "µs (log scale)";
            case PER_SECOND -> "per second (log scale)";
            case CAIRN_OVER_ETCD -> "Cairn/etcd";
        };
        save(headlineChart(group), bars(title, "", axis, categories, series, logarithmic));
    }

    private void wal(final ProfileResults profile) throws IOException {
        final List<JmhResult> results = profile.jmh(Figures.WAL);
        if (results.isEmpty()) {
            return;
        }
        final long entryBytes = results.get(0).longParam("entryBytes");
        final SortedMap<Long, Double[]> byBatch = new TreeMap<>();
        for (final JmhResult result : results) {
            if (result.longParam("entryBytes") == entryBytes) {
                final Double[] values = byBatch.computeIfAbsent(result.longParam("batchSize"),
                    batch -> new Double[] {Double.NaN, Double.NaN, Double.NaN});
                values["true".equals(result.param("sync")) ? 0 : 1] = Figures.entriesPerSecond(result);
                final SyncProbeResult probe = profile.probeFor(result.date());
                final SyncProbeResult.Row raw = probe == null || probe.entryBytes() != entryBytes ? null
                    : probe.row(SyncProbeResult.RAW, (int)result.longParam("batchSize"));
                values[2] = raw == null ? values[2] : raw.entriesPerSecond();
            }
        }
        final List<String> categories = new ArrayList<>();
        final String[] names = {"fsync on", "fsync off", "raw write + fdatasync (sync probe)"};
        final Map<String, List<Double>> series = new LinkedHashMap<>();
        for (final String name : names) {
            series.put(name, new ArrayList<>());
        }
        byBatch.forEach((batch, values) -> {
            categories.add(Long.toString(batch));
            for (int i = 0; i < names.length; i++) {
                series.get(names[i]).add(values[i]);
            }
        });
        save(walChart(profile.name), bars("WAL append by batch size, " + entryBytes + " B entries, " + profile.name,
            "entries per batch", "entries/s (log scale)", categories, series, true));
    }

    private void latency(final ProfileResults profile) throws IOException {
        for (final Map.Entry<String, SortedMap<String, Figures.Aggregate>> workload
            : Figures.compare(profile.compare).entrySet()) {
            final SortedMap<String, List<Double>> series = new TreeMap<>();
            workload.getValue().forEach((system, aggregate) ->
                series.put(Figures.CAIRN.equals(system) ? "Cairn" : system, aggregate.latencyUs()));
            final CategoryChart chart = bars(workload.getKey() + " (" + workload.getValue().values().iterator()
                .next().load() + "), " + profile.name, "percentile", "latency µs (log scale)",
                LoadRun.LATENCY_LABELS, series, true);
            if (chart != null) {
                chart.getStyler().setDefaultSeriesRenderStyle(CategorySeries.CategorySeriesRenderStyle.Line);
                chart.getStyler().setOverlapped(true);
            }
            save(latencyChart(profile.name, workload.getKey()), chart);
        }
    }

    /** A category chart, or null when no series has a figure to draw. */
    private static CategoryChart bars(final String title, final String xTitle, final String yTitle,
        final List<String> categories, final Map<String, List<Double>> series, final boolean logarithmic) {
        final CategoryChart chart = new CategoryChartBuilder().width(WIDTH).height(HEIGHT).title(title)
            .xAxisTitle(xTitle).yAxisTitle(yTitle).build();
        final CategoryStyler styler = chart.getStyler();
        styler.setChartBackgroundColor(Color.WHITE);
        styler.setLegendPosition(Styler.LegendPosition.OutsideS);
        styler.setLegendLayout(Styler.LegendLayout.Horizontal);
        styler.setPlotGridVerticalLinesVisible(false);
        styler.setYAxisDecimalPattern(logarithmic ? "#,###.##" : "0.00");
        double min = Double.POSITIVE_INFINITY;
        double max = 0;
        for (final Map.Entry<String, List<Double>> entry : series.entrySet()) {
            final List<Double> values = new ArrayList<>();
            boolean any = false;
            for (final Double value : entry.getValue()) {
                // A log axis cannot show 0; a missing figure is a gap, not a zero.
                final boolean drawable = Double.isFinite(value) && (value > 0 || !logarithmic && value == 0);
                values.add(drawable ? value : null);
                any |= drawable;
                min = drawable ? Math.min(min, value) : min;
                max = drawable ? Math.max(max, value) : max;
            }
            if (any) {
                chart.addSeries(entry.getKey(), categories, values);
            }
        }
        if (chart.getSeriesMap().isEmpty()) {
            return null;
        }
        if (logarithmic) {
            // Whole decades, so the axis is labelled at both ends.
            styler.setYAxisLogarithmic(true);
            styler.setYAxisMin(Math.pow(10, Math.floor(Math.log10(min))));
            styler.setYAxisMax(Math.pow(10, Math.max(Math.ceil(Math.log10(max)), Math.floor(Math.log10(min)) + 1)));
        } else {
            styler.setYAxisMin(0.0);
        }
        return chart;
    }

    private void save(final String path, final CategoryChart chart) throws IOException {
        if (chart == null) {
            return;
        }
        final ByteArrayOutputStream svg = new ByteArrayOutputStream(256 * 1024);
        VectorGraphicsEncoder.saveVectorGraphic(chart, svg, VectorGraphicsEncoder.VectorGraphicsFormat.SVG);
        Files.write(root.resolve(path), svg.toByteArray());
        written.add(path);
    }

    private static String safe(final String name) {
        return name.replaceAll("[^A-Za-z0-9._-]", "-");
    }
}
