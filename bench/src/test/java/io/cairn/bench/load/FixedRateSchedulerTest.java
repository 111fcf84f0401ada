package io.cairn.bench.load;

import io.grpc.Status;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: a fixed-rate run measures each operation from its intended start, so a server stall shows up in the
 * corrected latencies of every operation scheduled during it (coordinated omission corrected) while the uncorrected
 * ones, timed from the actual send, show only the one stalled request; and the schedule's arithmetic is exact.
 * Method: the real scheduler and recorder on a fake clock that only moves when the scheduler parks or the fake
 * server "works"; the server answers synchronously (one request in flight), in 100 µs, once in 100 ms.
 */
class FixedRateSchedulerTest {
    private static final long MS = 1_000_000L;
    private static final long US = 1_000L;

    /** Time moves only when told: parking jumps to the deadline. */
    private static final class FakeClock implements NanoClock {
        long nowNs;

        FakeClock(final long nowNs) {
            this.nowNs = nowNs;
        }

        @Override
        public long nanoTime() {
            return nowNs;
        }

        @Override
        public void parkUntil(final long deadlineNs) {
            nowNs = Math.max(nowNs, deadlineNs);
        }
    }

    @Test
    void shouldShowStallInCorrectedLatenciesWhenServerStallsAtFixedRate() {
        final long startNs = 5_000 * MS;
        final FakeClock clock = new FakeClock(startNs);
        final FixedRateScheduler scheduler = new FixedRateScheduler(clock, 1000);
        final LatencyRecorder recorder = new LatencyRecorder(startNs);
        final long[] correctedNs = new long[1000];
        final long sent = scheduler.run(startNs, startNs + 1000 * MS, (opIndex, intendedNs) -> {
            final long actualNs = clock.nanoTime();
            clock.nowNs += opIndex == 500 ? 100 * MS : 100 * US;
            correctedNs[(int)opIndex] = clock.nowNs - intendedNs;
            recorder.recordSuccess(OpType.PUT, intendedNs, actualNs, clock.nowNs);
            return true;
        });
        recorder.collect();
        assertEquals(1000, sent, "the scheduler catches up after the stall and sends every op");
        assertEquals(1000, scheduler.scheduledBefore(startNs, startNs + 1000 * MS));

        // Op 500 is due at 500 ms and answered at 600 ms. Ops 501.. were due during the stall and are sent back to
        // back from 600 ms, 100 µs each, until the schedule is met again at op 611 (due and sent at 611 ms).
        assertEquals(100 * MS, correctedNs[500]);
        assertEquals(600 * MS + 100 * US - 501 * MS, correctedNs[501]);
        assertEquals(605 * MS - 550 * MS, correctedNs[550], "sent 49.9 ms late");
        assertEquals(MS, correctedNs[610]);
        assertEquals(100 * US, correctedNs[611]);
        assertEquals(100 * US, correctedNs[499]);
        assertEquals(100 * US, correctedNs[612]);
        int late = 0;
        for (final long latencyNs : correctedNs) {
            late += latencyNs > MS ? 1 : 0;
        }
        assertEquals(110, late, "ops 500 to 609 finish more than 1 ms after they were due");

        final Histogram corrected = recorder.correctedTotal(OpType.PUT);
        final Histogram uncorrected = recorder.uncorrectedTotal(OpType.PUT);
        assertEquals(1000, corrected.getTotalCount());
        assertEquals(1000, uncorrected.getTotalCount());
        assertEquals(1, uncorrected.getCountBetweenValues(1000, Long.MAX_VALUE), "uncorrected: one slow op");
        assertEquals(100, uncorrected.getValueAtPercentile(99), "uncorrected p99 hides the stall");
        assertEquals(late, corrected.getCountBetweenValues(1001, Long.MAX_VALUE));
        assertTrue(corrected.getValueAtPercentile(99) >= 90_000, "corrected p99 shows it: "
            + corrected.getValueAtPercentile(99));
        assertTrue(corrected.getValueAtPercentile(90) >= 1000, "corrected p90 too: "
            + corrected.getValueAtPercentile(90));
        assertEquals(100, corrected.getValueAtPercentile(50), "the median is untouched");
        assertTrue(Math.abs(corrected.getMaxValue() - 100_000) <= 100, "max " + corrected.getMaxValue());
    }

    @Test
    void shouldKeepIntendedStartsExactWhenRateDoesNotDivideOneSecond() {
        final FixedRateScheduler scheduler = new FixedRateScheduler(new FakeClock(0), 3);
        assertEquals(7, scheduler.intendedStartNs(7, 0));
        assertEquals(7 + 333_333_333, scheduler.intendedStartNs(7, 1));
        assertEquals(7 + 666_666_666, scheduler.intendedStartNs(7, 2));
        assertEquals(7 + 1_000_000_000, scheduler.intendedStartNs(7, 3));
        assertEquals(7 + 3_333_333_333L, scheduler.intendedStartNs(7, 10));
        final FixedRateScheduler fast = new FixedRateScheduler(new FakeClock(0), 100_000_000);
        assertEquals(86_400_000_000_000L, fast.intendedStartNs(0, 8_640_000_000_000L), "a day at 1e8/s");
    }

    @Test
    void shouldCountScheduledOpsLikeSearchWhenRateAndEndVary() {
        final Random random = new Random(42);
        final int[] rateBounds = {5, 1000, 3_000_000};
        for (int round = 0; round < 20_000; round++) {
            final long rate = 1 + random.nextInt(rateBounds[round % rateBounds.length]);
            final long startNs = random.nextInt(1_000_000_000);
            final long endNs = startNs - 10 + (long)(random.nextDouble() * 5e9);
            final FixedRateScheduler scheduler = new FixedRateScheduler(new FakeClock(0), rate);
            // The least i due at or after the end, by binary search over the (monotonic) schedule.
            long low = 0;
            long high = rate * 6;
            while (low < high) {
                final long middle = (low + high) >>> 1;
                if (scheduler.intendedStartNs(startNs, middle) < endNs) {
                    low = middle + 1;
                } else {
                    high = middle;
                }
            }
            assertEquals(low, scheduler.scheduledBefore(startNs, endNs),
                "rate " + rate + " start " + startNs + " end " + endNs);
        }
    }

    @Test
    void shouldLeaveOpsUnsentWhenServerIsSlowerThanTheRate() {
        final FakeClock clock = new FakeClock(0);
        final FixedRateScheduler scheduler = new FixedRateScheduler(clock, 1000);
        final long sent = scheduler.run(0, 1000 * MS, (opIndex, intendedNs) -> {
            clock.nowNs += 2 * MS;
            return true;
        });
        assertEquals(500, sent, "2 ms per op for 1 s");
        assertEquals(500, scheduler.scheduledBefore(0, 1000 * MS) - sent, "the rest were due and never sent");
    }

    @Test
    void shouldStopWhenIssuerSaysSo() {
        final FakeClock clock = new FakeClock(0);
        final FixedRateScheduler scheduler = new FixedRateScheduler(clock, 1000);
        assertEquals(3, scheduler.run(0, 1000 * MS, (opIndex, intendedNs) -> opIndex < 3));
    }

    @Test
    void shouldCountWarmupOpsWithoutRecordingThem() {
        final LatencyRecorder recorder = new LatencyRecorder(1000 * MS);
        recorder.recordSuccess(OpType.RANGE, 999 * MS, 999 * MS, 1001 * MS);
        recorder.recordError(OpType.RANGE, Status.Code.UNAVAILABLE, 999 * MS);
        recorder.recordSuccess(OpType.RANGE, 1000 * MS, 1000 * MS + 10 * US, 1000 * MS + 30 * US);
        recorder.recordError(OpType.PUT, Status.Code.DEADLINE_EXCEEDED, 1000 * MS);
        recorder.recordError(OpType.PUT, Status.Code.DEADLINE_EXCEEDED, 1000 * MS);
        recorder.recordError(OpType.PUT, Status.Code.UNAVAILABLE, 1000 * MS);
        assertEquals(1, recorder.collect());
        assertEquals(2, recorder.warmupOps());
        assertEquals(30, recorder.correctedTotal(OpType.RANGE).getMaxValue());
        assertEquals(20, recorder.uncorrectedTotal(OpType.RANGE).getMaxValue());
        assertEquals(3, recorder.errorCount());
        assertEquals("{DEADLINE_EXCEEDED=2, UNAVAILABLE=1}", recorder.errorsByCode(OpType.PUT).toString());
        assertTrue(recorder.errorsByCode(OpType.RANGE).isEmpty());
        assertEquals(0, recorder.collect(), "collected intervals are not counted twice");
        assertEquals(1, recorder.correctedTotal(OpType.RANGE).getTotalCount());
    }
}
