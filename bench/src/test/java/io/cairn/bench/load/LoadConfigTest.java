package io.cairn.bench.load;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: the load command's options parse into the run they describe, and bad input is refused before anything
 * connects, with a message that names the option and what it expected. Method: {@link LoadConfig#parse} on
 * argument lists, good and bad, checking fields and messages.
 */
class LoadConfigTest {
    private static String refusal(final String... args) {
        return assertThrows(IllegalArgumentException.class, () -> LoadConfig.parse(args)).getMessage();
    }

    @Test
    void shouldApplyDefaultsWhenOnlyEndpointsGiven() {
        final LoadConfig config = LoadConfig.parse("--endpoints", "127.0.0.1:2379");
        assertEquals(List.of("127.0.0.1:2379"), config.endpoints);
        assertEquals(Workload.PUT, config.workload);
        assertFalse(config.fixedRate());
        assertEquals(LoadConfig.CLOSED_LOOP, config.ratePerSecond);
        assertEquals(16, config.keyBytes);
        assertEquals(256, config.valueBytes);
        assertEquals(10_000, config.keyCount);
        assertEquals(1, config.connectionCount);
        assertEquals(16, config.clientCount);
        assertEquals(TimeUnit.SECONDS.toNanos(30), config.durationNs);
        assertEquals(TimeUnit.SECONDS.toNanos(5), config.warmupNs);
        assertFalse(config.prefill);
        assertTrue(config.pids.isEmpty());
        assertNull(config.jsonPath);
        assertEquals("put", config.label);
    }

    @Test
    void shouldParseEveryOptionWhenGiven() {
        final LoadConfig config = LoadConfig.parse("--endpoints", "http://a:1,b:2,[::1]:3", "--workload", "mixed",
            "--read-ratio", "0.75", "--key-size=8", "--value-size", "0", "--keys", "1_000", "--connections", "4",
            "--clients", "64", "--rate", "5000", "--duration", "1.5s", "--warmup", "500ms", "--timeout", "2m",
            "--serializable", "--pids", "12,34", "--json", "out/r.json", "--label", "etcd mixed");
        assertEquals(List.of("a:1", "b:2", "[::1]:3"), config.endpoints);
        assertEquals(Workload.MIXED, config.workload);
        assertEquals(0.75, config.readRatio);
        assertEquals(8, config.keyBytes);
        assertEquals(0, config.valueBytes);
        assertEquals(1000, config.keyCount);
        assertEquals(4, config.connectionCount);
        assertEquals(64, config.clientCount);
        assertTrue(config.fixedRate());
        assertEquals(5000, config.ratePerSecond);
        assertEquals(1_500_000_000L, config.durationNs);
        assertEquals(500_000_000L, config.warmupNs);
        assertEquals(TimeUnit.MINUTES.toNanos(2), config.timeoutNs);
        assertTrue(config.serializable);
        assertTrue(config.prefill, "a workload that reads fills the key space first");
        assertEquals(List.of(12L, 34L), config.pids);
        assertEquals(Path.of("out/r.json"), config.jsonPath);
        assertEquals("etcd mixed", config.label);
    }

    @Test
    void shouldOpenOneConnectionPerEndpointWhenConnectionsNotGiven() {
        assertEquals(3, LoadConfig.parse("--endpoints", "a:1,b:2,c:3").connectionCount);
        assertEquals(2, LoadConfig.parse("--endpoints", "a:1,b:2,c:3", "--connections", "2").connectionCount);
    }

    @Test
    void shouldSkipPrefillWhenAskedTo() {
        assertFalse(LoadConfig.parse("--endpoints", "h:1", "--workload", "range", "--no-prefill").prefill);
        assertTrue(LoadConfig.parse("--endpoints", "h:1", "--workload", "range").prefill);
    }

    @Test
    void shouldParseDurationsInEveryUnit() {
        assertEquals(30_000_000_000L, LoadConfig.parseDurationNs("--duration", "30s"));
        assertEquals(30_000_000_000L, LoadConfig.parseDurationNs("--duration", "30"));
        assertEquals(250_000_000L, LoadConfig.parseDurationNs("--duration", "250ms"));
        assertEquals(7_000L, LoadConfig.parseDurationNs("--duration", "7us"));
        assertEquals(90_000_000_000L, LoadConfig.parseDurationNs("--duration", "1.5m"));
        assertEquals(3_600_000_000_000L, LoadConfig.parseDurationNs("--duration", "1h"));
        assertEquals(0, LoadConfig.parseDurationNs("--warmup", "0s"));
    }

    @Test
    void shouldRequireEndpointsWhenMissing() {
        assertTrue(refusal("--workload", "put").contains("--endpoints is required"));
    }

    @Test
    void shouldNameTheOptionWhenValueIsBad() {
        assertEquals("--clients: expected a whole number, got 'many'",
            refusal("--endpoints", "h:1", "--clients", "many"));
        assertEquals("--clients: expected 1 to 100000, got 0", refusal("--endpoints", "h:1", "--clients", "0"));
        assertEquals("--duration: expected a duration such as 30s, 500ms or 2m, got '10x'",
            refusal("--endpoints", "h:1", "--duration", "10x"));
        assertEquals("--duration must be more than 0", refusal("--endpoints", "h:1", "--duration", "0s"));
        assertEquals("--workload: expected put, range, txn or mixed, got 'delete'",
            refusal("--endpoints", "h:1", "--workload", "delete"));
        assertEquals("--read-ratio: expected a number from 0 to 1, got 1.5",
            refusal("--endpoints", "h:1", "--workload", "mixed", "--read-ratio", "1.5"));
        assertEquals("--rate: expected a whole number, got '1e3'", refusal("--endpoints", "h:1", "--rate", "1e3"));
        assertEquals("--pids: expected a whole number, got 'x'", refusal("--endpoints", "h:1", "--pids", "1,x"));
    }

    @Test
    void shouldRefuseEndpointsWhenNotHostAndPort() {
        assertEquals("--endpoints: expected host:port, got 'localhost'", refusal("--endpoints", "localhost"));
        assertEquals("--endpoints: expected host:port, got 'h:99999'", refusal("--endpoints", "h:99999"));
        assertEquals("--endpoints: expected host:port, got ''", refusal("--endpoints", "h:1,"));
        assertEquals("--endpoints: https:// needs --cacert, got 'https://h:1'", refusal("--endpoints", "https://h:1"));
        assertEquals("--endpoints: --cacert given, but 'http://h:1' is http://",
            refusal("--endpoints", "http://h:1", "--cacert", "ca.pem"));
        assertEquals("--cert and --key go together, and with --cacert",
            refusal("--endpoints", "https://h:1", "--cacert", "ca.pem", "--cert", "c.pem"));
    }

    @Test
    void shouldRefuseOptionsWhenUnknownRepeatedOrValueless() {
        assertEquals("unknown option '--thread' (see load --help)", refusal("--endpoints", "h:1", "--thread", "4"));
        assertEquals("unexpected argument 'put' (see load --help)", refusal("--endpoints", "h:1", "put"));
        assertEquals("--clients is given twice", refusal("--endpoints", "h:1", "--clients", "1", "--clients", "2"));
        assertEquals("--duration needs a value", refusal("--endpoints", "h:1", "--duration"));
        assertEquals("--serializable takes no value", refusal("--endpoints", "h:1", "--serializable=true"));
    }

    @Test
    void shouldRefuseOptionsWhenTheyDoNotApplyToTheWorkload() {
        assertEquals("--read-ratio applies only to --workload mixed",
            refusal("--endpoints", "h:1", "--read-ratio", "0.5"));
        assertEquals("--txn-ops applies only to --workload txn", refusal("--endpoints", "h:1", "--txn-ops", "2"));
    }

    @Test
    void shouldRefuseKeySizeWhenTooSmallForTheKeySpace() {
        assertEquals("--key-size 4 cannot hold 100000 distinct keys: they need 5 bytes",
            refusal("--endpoints", "h:1", "--key-size", "4", "--keys", "100000"));
        LoadConfig.parse("--endpoints", "h:1", "--key-size", "4", "--keys", "10000");
    }

    @Test
    void shouldPadKeysWithZerosWhenIndexIsShort() {
        assertEquals("00000042", new String(KvClient.key(42, 8), StandardCharsets.US_ASCII));
        assertEquals("9999", new String(KvClient.key(9999, 4), StandardCharsets.US_ASCII));
        assertThrows(IllegalArgumentException.class, () -> KvClient.key(10_000, 4));
    }
}
