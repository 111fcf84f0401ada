package io.cairn.server.grpc;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Goal: etcd 3.4's auto compaction schedule. Periodic: compacts every min(retention, 1 h) at the revision noted a
 * retention ago, never before one is that old; revision: every five minutes at the revision less the retention; only
 * while leading, starting over after a leader change. Method: a clock, a revision and a leadership driven by hand, one
 * call a second as the watchdog makes them.
 */
class AutoCompactorTest {
    private long nowMs;
    private long revision;
    private boolean leading = true;
    private final List<Long> compactions = new ArrayList<>();

    private AutoCompactor compactor(final AutoCompactor.Mode mode, final long retention) {
        return new AutoCompactor(new AutoCompactor.Settings(mode, retention), () -> nowMs, () -> leading,
            () -> revision, compactions::add);
    }

    /** Seconds pass; ten writes each. */
    private void seconds(final AutoCompactor compactor, final int count) {
        for (int i = 0; i < count; i++) {
            nowMs += 1_000;
            revision += 10;
            compactor.run();
        }
    }

    @Test
    void shouldKeepTheLastRetentionOfHistoryPeriodically() {
        final AutoCompactor compactor = compactor(AutoCompactor.Mode.PERIODIC, 10_000); // 10 s: samples every 1 s
        seconds(compactor, 9);
        assertEquals(List.of(), compactions, "nothing is a retention old yet");
        seconds(compactor, 2);
        assertEquals(List.of(10L), compactions, "the revision noted ten seconds ago (at second 1)");
        seconds(compactor, 10);
        assertEquals(List.of(10L, 110L), compactions, "then every retention (under an hour)");
    }

    @Test
    void shouldCompactEveryFiveMinutesKeepingTheRetentionInRevisionMode() {
        final AutoCompactor compactor = compactor(AutoCompactor.Mode.REVISION, 1_000);
        seconds(compactor, 299);
        assertEquals(List.of(), compactions);
        seconds(compactor, 1);
        assertEquals(List.of(3_000L - 1_000), compactions);
        seconds(compactor, 300);
        assertEquals(List.of(2_000L, 5_000L), compactions);
    }

    @Test
    void shouldCompactOnlyWhileLeadingAndStartOverAfterwards() {
        final AutoCompactor compactor = compactor(AutoCompactor.Mode.PERIODIC, 5_000);
        leading = false;
        seconds(compactor, 20);
        assertEquals(List.of(), compactions);
        leading = true;
        seconds(compactor, 5);
        assertEquals(List.of(), compactions, "a new leader samples a retention's worth first");
        seconds(compactor, 1);
        assertEquals(List.of(210L), compactions);
    }
}
