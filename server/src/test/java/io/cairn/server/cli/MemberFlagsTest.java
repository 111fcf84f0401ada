package io.cairn.server.cli;

import io.cairn.embedded.NodeConfig;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Goal: {@code --experimental-corrupt-check-time} takes Go's durations as etcd's flag does, from the command line or
 * the environment, and refuses what is not one. Method: parse flags and compare the member's config.
 */
class MemberFlagsTest {
    private static long corruptCheckMs(final Map<String, String> env, final String... args) {
        return MemberFlags.parse(args, env).node().corruptCheckMs();
    }

    @Test
    void shouldParseGoDurationsForTheCorruptionCheck() {
        assertEquals(NodeConfig.CORRUPT_CHECK_DEFAULT_MS, corruptCheckMs(Map.of()));
        assertEquals(30_000, corruptCheckMs(Map.of(), "--experimental-corrupt-check-time", "30s"));
        assertEquals(5_400_000, corruptCheckMs(Map.of(), "--experimental-corrupt-check-time=1h30m"));
        assertEquals(1_500, corruptCheckMs(Map.of(), "--experimental-corrupt-check-time", "1.5s"));
        assertEquals(250, corruptCheckMs(Map.of(), "--experimental-corrupt-check-time", "250ms"));
        assertEquals(0, corruptCheckMs(Map.of(), "--experimental-corrupt-check-time", "0"));
        assertEquals(120_000, corruptCheckMs(Map.of("CAIRN_EXPERIMENTAL_CORRUPT_CHECK_TIME", "2m")));
        for (final String bad : new String[] {"5", "5x", "m", "1h 30m", "-1s", "30s5"}) {
            assertThrows(IllegalArgumentException.class,
                () -> corruptCheckMs(Map.of(), "--experimental-corrupt-check-time", bad), bad);
        }
    }
}
