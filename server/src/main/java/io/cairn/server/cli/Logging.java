package io.cairn.server.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.encoder.EncoderBase;
import com.google.gson.stream.JsonWriter;
import org.slf4j.LoggerFactory;
import org.slf4j.bridge.SLF4JBridgeHandler;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Locale;
import java.util.Map;

/**
 * etcd's {@code --logger} and {@code --log-level} over Logback, the one backend everything logs to (Cairn's
 * System.Logger through slf4j-jdk-platform-logging, gRPC's java.util.logging through the bridge, Chronicle and Netty
 * through SLF4J): {@code capnslog} (the default, etcd 3.4's) is one text line per event, {@code zap} one JSON object
 * per line with zap's fields ({@code level}, {@code ts}, {@code caller}, {@code msg}, and {@code error} with a
 * stack), as etcd writes them.
 */
final class Logging {
    private Logging() {
    }

    /**
     * Applies etcd's logging flags before anything logs.
     *
     * @param flags a member's flags ({@link EtcdFlags#read}): {@code logger}, {@code log-level}, {@code debug},
     *              {@code log-outputs}; empty for the defaults.
     * @throws IllegalArgumentException for a logger, level or output etcd does not know.
     */
    static void configure(final Map<String, String> flags) {
        final String logger = flags.getOrDefault("logger", "capnslog").trim();
        final String level = "true".equals(flags.get("debug")) ? "debug" : flags.getOrDefault("log-level", "info");
        final String outputs = flags.getOrDefault("log-outputs", "default").trim();
        final String target = switch (outputs) {
            case "default", "stderr", "" -> "System.err";
            case "stdout" -> "System.out";
            default -> throw new IllegalArgumentException("--log-outputs: Cairn writes to stderr or stdout, not "
                + outputs);
        };
        SLF4JBridgeHandler.removeHandlersForRootLogger();
        SLF4JBridgeHandler.install();
        if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
            return; // another backend on the class path: leave it to its own configuration
        }
        final Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        root.setLevel(level(level));
        if ("System.out".equals(target) && !"zap".equals(logger)) {
            root.iteratorForAppenders().forEachRemaining(appender -> {
                if (appender instanceof ConsoleAppender<ILoggingEvent> console) {
                    console.stop();
                    console.setTarget(target);
                    console.start();
                }
            });
        }
        if ("zap".equals(logger)) {
            final ConsoleAppender<ILoggingEvent> appender = new ConsoleAppender<>();
            appender.setContext(context);
            appender.setName("zap");
            appender.setTarget(target);
            final ZapEncoder encoder = new ZapEncoder();
            encoder.setContext(context);
            encoder.start();
            appender.setEncoder(encoder);
            appender.start();
            root.detachAndStopAllAppenders();
            root.addAppender(appender);
        } else if (!"capnslog".equals(logger)) {
            throw new IllegalArgumentException("--logger: unknown logger type " + logger + " (capnslog or zap)");
        }
    }

    private static Level level(final String level) {
        return switch (level.toLowerCase(Locale.ROOT)) {
            case "debug" -> Level.DEBUG;
            case "info" -> Level.INFO;
            case "warn" -> Level.WARN;
            case "error", "dpanic", "panic", "fatal" -> Level.ERROR;
            default -> throw new IllegalArgumentException("--log-level: unknown level " + level
                + " (debug, info, warn, error, panic or fatal)");
        };
    }

    /** One JSON object per event with zap's field names (Gson writes and escapes it). */
    static final class ZapEncoder extends EncoderBase<ILoggingEvent> {
        @Override
        public byte[] headerBytes() {
            return null;
        }

        @Override
        public byte[] encode(final ILoggingEvent event) {
            final StringWriter text = new StringWriter();
            try (JsonWriter json = new JsonWriter(text)) {
                json.setHtmlSafe(false);
                json.beginObject();
                json.name("level").value(event.getLevel().toString().toLowerCase(Locale.ROOT));
                json.name("ts").value(Instant.ofEpochMilli(event.getTimeStamp()).toString());
                json.name("caller").value(event.getLoggerName());
                json.name("msg").value(event.getFormattedMessage());
                if (event.getThrowableProxy() != null) {
                    json.name("error").value(ThrowableProxyUtil.asString(event.getThrowableProxy()));
                }
                json.endObject();
            } catch (final IOException ex) {
                throw new UncheckedIOException(ex);
            }
            return (text + "\n").getBytes(StandardCharsets.UTF_8);
        }

        @Override
        public byte[] footerBytes() {
            return null;
        }
    }
}
