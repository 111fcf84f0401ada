package io.cairn.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Just enough JSON (RFC 8259) to read the result files back — the report reads them, the tests check what the load
 * generator writes with it — and strict about it: one value, no trailing text, no raw control characters in strings,
 * no duplicate keys. Objects keep their order, numbers are doubles. JMH writes {@code "NaN"} as a string where a figure
 * is undefined; {@link #number(Object)} reads it back as NaN. Bench carries no JSON library (the writer is
 * {@link Json}), and the files are ours or JMH's, a few hundred KiB at most.
 */
public final class JsonReader {
    private final String text;
    private int position;

    private JsonReader(final String text) {
        this.text = text;
    }

    /**
     * @param text one JSON value.
     * @return maps, lists, strings, doubles, booleans and nulls.
     * @throws IllegalArgumentException if the text is not one well-formed JSON value.
     */
    public static Object parse(final String text) {
        final JsonReader reader = new JsonReader(text);
        try {
            final Object value = reader.value();
            reader.skipSpace();
            if (reader.position != text.length()) {
                throw reader.error("trailing text");
            }
            return value;
        } catch (final StringIndexOutOfBoundsException ex) {
            throw reader.error("unexpected end");
        }
    }

    /**
     * @param value a parsed value.
     * @return it as an object, or an empty one when it is not an object.
     */
    @SuppressWarnings("unchecked")
    public static Map<String, Object> object(final Object value) {
        return value instanceof Map ? (Map<String, Object>)value : Map.of();
    }

    /**
     * @param value a parsed value.
     * @return it as an array, or an empty one when it is not an array.
     */
    @SuppressWarnings("unchecked")
    public static List<Object> array(final Object value) {
        return value instanceof List ? (List<Object>)value : List.of();
    }

    /**
     * @param value a parsed value.
     * @return its number; NaN when absent or not a number ({@code "NaN"}, {@code "Infinity"} strings are read).
     */
    public static double number(final Object value) {
        if (value instanceof Double) {
            return (Double)value;
        }
        if (value instanceof String) {
            try {
                return Double.parseDouble((String)value);
            } catch (final NumberFormatException ex) {
                return Double.NaN;
            }
        }
        return Double.NaN;
    }

    /**
     * @param value a parsed value.
     * @return it as text; the empty string when absent.
     */
    public static String string(final Object value) {
        if (value == null) {
            return "";
        }
        if (value instanceof Double) {
            final double number = (Double)value;
            return number == Math.rint(number) && Math.abs(number) < 1e15 ? Long.toString((long)number)
                : Double.toString(number);
        }
        return value.toString();
    }

    private Object value() {
        skipSpace();
        final char c = text.charAt(position);
        if (c == '{') {
            return objectValue();
        }
        if (c == '[') {
            return arrayValue();
        }
        if (c == '"') {
            return stringValue();
        }
        for (final String literal : new String[] {"true", "false", "null"}) {
            if (text.startsWith(literal, position)) {
                position += literal.length();
                return "null".equals(literal) ? null : Boolean.valueOf(literal);
            }
        }
        final int start = position;
        while (position < text.length() && "+-0123456789.eE".indexOf(text.charAt(position)) >= 0) {
            position++;
        }
        if (position == start) {
            throw error("unexpected '" + c + "'");
        }
        try {
            return Double.parseDouble(text.substring(start, position));
        } catch (final NumberFormatException ex) {
            throw error("bad number");
        }
    }

    private Map<String, Object> objectValue() {
        final Map<String, Object> object = new LinkedHashMap<>();
        position++;
        skipSpace();
        if (text.charAt(position) == '}') {
            position++;
            return object;
        }
        while (true) {
            skipSpace();
            final String key = stringValue();
            skipSpace();
            expect(':');
            if (object.put(key, value()) != null) {
                throw error("duplicate key " + key);
            }
            skipSpace();
            final char next = text.charAt(position++);
            if (next == '}') {
                return object;
            }
            if (next != ',') {
                throw error("expected ',' or '}'");
            }
        }
    }

    private List<Object> arrayValue() {
        final List<Object> array = new ArrayList<>();
        position++;
        skipSpace();
        if (text.charAt(position) == ']') {
            position++;
            return array;
        }
        while (true) {
            array.add(value());
            skipSpace();
            final char next = text.charAt(position++);
            if (next == ']') {
                return array;
            }
            if (next != ',') {
                throw error("expected ',' or ']'");
            }
        }
    }

    private String stringValue() {
        expect('"');
        final StringBuilder out = new StringBuilder();
        while (text.charAt(position) != '"') {
            final char c = text.charAt(position++);
            if (c < 0x20) {
                throw error("control character in a string");
            }
            if (c != '\\') {
                out.append(c);
                continue;
            }
            final char escaped = text.charAt(position++);
            switch (escaped) {
                case 'n' -> out.append('\n');
                case 't' -> out.append('\t');
                case 'r' -> out.append('\r');
                case 'b' -> out.append('\b');
                case 'f' -> out.append('\f');
                case 'u' -> {
                    out.append((char)Integer.parseInt(text.substring(position, position + 4), 16));
                    position += 4;
                }
                default -> out.append(escaped);
            }
        }
        position++;
        return out.toString();
    }

    private void expect(final char c) {
        if (text.charAt(position) != c) {
            throw error("expected '" + c + "'");
        }
        position++;
    }

    private void skipSpace() {
        while (position < text.length() && Character.isWhitespace(text.charAt(position))) {
            position++;
        }
    }

    private IllegalArgumentException error(final String what) {
        return new IllegalArgumentException(what + " at offset " + position);
    }
}
