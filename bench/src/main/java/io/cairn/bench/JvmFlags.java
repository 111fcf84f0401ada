package io.cairn.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

/**
 * The one list of JVM flags (config/jvm.properties), packed into this jar at build time, so that JMH forks and the
 * probes get exactly what the tests and the launcher get.
 */
public final class JvmFlags {
    private JvmFlags() {
    }

    /**
     * @return the flags, one element each.
     */
    public static List<String> load() {
        final Properties properties = new Properties();
        try (InputStream in = JvmFlags.class.getResourceAsStream("jvm.properties")) {
            if (in == null) {
                throw new IllegalStateException("jvm.properties missing from the benchmarks jar");
            }
            properties.load(in);
        } catch (final IOException ex) {
            throw new UncheckedIOException(ex);
        }
        final List<String> flags = new ArrayList<>();
        for (final String flag : properties.getProperty("cairn.jvm.flags", "").trim().split("\\s+")) {
            if (!flag.isEmpty()) {
                flags.add(flag);
            }
        }
        return flags;
    }
}
