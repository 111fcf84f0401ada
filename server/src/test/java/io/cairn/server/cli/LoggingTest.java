package io.cairn.server.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.LoggingEvent;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: {@code --logger zap} writes what zap writes, and the flags take etcd's values only. Method: an event with a
 * quote, a newline and an exception through the encoder, parsed back as JSON; unknown loggers and levels refused.
 */
class LoggingTest {
    @Test
    void shouldWriteZapsFieldsAsOneJsonLine() {
        final LoggerContext context = new LoggerContext();
        final LoggingEvent event = new LoggingEvent("x", context.getLogger("io.cairn.Example"), Level.WARN,
            "slow request \"{}\"\nsecond line", new IllegalStateException("boom"), new Object[] {"put"});
        event.setTimeStamp(1_764_777_600_123L);
        final Logging.ZapEncoder encoder = new Logging.ZapEncoder();
        encoder.setContext(context);
        encoder.start();
        final String line = new String(encoder.encode(event), StandardCharsets.UTF_8);
        assertTrue(line.endsWith("}\n") && line.indexOf('\n') == line.length() - 1, line);
        final JsonObject json = JsonParser.parseString(line).getAsJsonObject();
        assertEquals("warn", json.get("level").getAsString());
        assertEquals("2025-12-03T16:00:00.123Z", json.get("ts").getAsString());
        assertEquals("io.cairn.Example", json.get("caller").getAsString());
        assertEquals("slow request \"put\"\nsecond line", json.get("msg").getAsString());
        assertTrue(json.get("error").getAsString().contains("IllegalStateException: boom"));
    }

    @Test
    void shouldRefuseLoggersAndLevelsEtcdDoesNotKnow() {
        assertThrows(IllegalArgumentException.class, () -> Logging.configure(Map.of("log-level", "loud")));
        assertThrows(IllegalArgumentException.class, () -> Logging.configure(Map.of("logger", "log4j")));
        assertThrows(IllegalArgumentException.class, () -> Logging.configure(Map.of("log-outputs", "journal")));
    }
}
