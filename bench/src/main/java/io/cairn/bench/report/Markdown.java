package io.cairn.bench.report;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Markdown tables and the number formats of the report. Numbers are formatted in {@link Locale#ROOT} so the output
 * does not depend on the machine's locale: three significant digits below 100, whole numbers with thousands
 * separators above; a missing or undefined figure is a dash.
 */
final class Markdown {
    /** What a missing figure reads as. */
    static final String NONE = "—";

    private final List<String> header;
    private final List<Boolean> numeric;
    private final List<List<String>> rows = new ArrayList<>();

    private Markdown(final List<String> header, final List<Boolean> numeric) {
        this.header = header;
        this.numeric = numeric;
    }

    /**
     * @param columns column headings; a heading starting with {@code >} is right-aligned (numbers), the mark dropped.
     * @return an empty table.
     */
    static Markdown table(final String... columns) {
        final List<String> header = new ArrayList<>();
        final List<Boolean> numeric = new ArrayList<>();
        for (final String column : columns) {
            numeric.add(column.startsWith(">"));
            header.add(column.startsWith(">") ? column.substring(1) : column);
        }
        return new Markdown(header, numeric);
    }

    /**
     * @param cells one cell per column.
     * @return this table.
     */
    Markdown row(final String... cells) {
        if (cells.length != header.size()) {
            throw new IllegalArgumentException(cells.length + " cells for " + header.size() + " columns");
        }
        rows.add(List.of(cells));
        return this;
    }

    /**
     * @return whether no row was added.
     */
    boolean isEmpty() {
        return rows.isEmpty();
    }

    /**
     * @return the table, ending in a newline.
     */
    String render() {
        final StringBuilder out = new StringBuilder();
        line(out, header);
        final List<String> rule = new ArrayList<>();
        for (final boolean right : numeric) {
            rule.add(right ? "---:" : "---");
        }
        line(out, rule);
        for (final List<String> row : rows) {
            line(out, row);
        }
        return out.toString();
    }

    private static void line(final StringBuilder out, final List<String> cells) {
        out.append('|');
        for (final String cell : cells) {
            out.append(' ').append(cell.replace("|", "\\|")).append(" |");
        }
        out.append('\n');
    }

    /**
     * @param value a figure.
     * @return it with three significant digits, or as a whole number with separators from 100 up; a dash if
     *     undefined.
     */
    static String number(final double value) {
        if (!Double.isFinite(value)) {
            return NONE;
        }
        if (Math.abs(value) >= 100) {
            return String.format(Locale.ROOT, "%,.0f", value);
        }
        if (value == 0) {
            return "0";
        }
        final int scale = 2 - (int)Math.floor(Math.log10(Math.abs(value)));
        return new BigDecimal(value).setScale(scale, RoundingMode.HALF_EVEN).toPlainString();
    }

    /**
     * @param score a score.
     * @param error its error, NaN where there is none.
     * @param unit  its unit, or the empty string.
     * @return {@code score ± error unit}.
     */
    static String score(final double score, final double error, final String unit) {
        final String text = number(score) + (Double.isFinite(error) ? " ± " + number(error) : "");
        return unit.isEmpty() || !Double.isFinite(score) ? text : text + " " + unit(unit);
    }

    /**
     * @param unit a JMH unit.
     * @return it as the rest of the report writes it ({@code us/op} as {@code µs/op}).
     */
    static String unit(final String unit) {
        return unit.startsWith("us/") ? "µs/" + unit.substring(3) : unit;
    }

    /**
     * @param numerator   a measured figure.
     * @param denominator what it is compared with.
     * @return their ratio as {@code 1.23×}, or a dash when either is missing or the denominator is 0.
     */
    static String ratio(final double numerator, final double denominator) {
        final double ratio = numerator / denominator;
        return Double.isFinite(ratio) && denominator != 0 ? String.format(Locale.ROOT, "%.2f×", ratio) : NONE;
    }

    /**
     * @param text  what the link reads.
     * @param target a relative path.
     * @return a Markdown link.
     */
    static String link(final String text, final String target) {
        return "[" + text + "](" + target.replace(" ", "%20") + ")";
    }
}
