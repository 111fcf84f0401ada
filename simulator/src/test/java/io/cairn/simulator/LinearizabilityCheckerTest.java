package io.cairn.simulator;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: the simulator's linearizability checker accepts exactly the linearizable register histories: it must reject
 * stale reads, lost acknowledged writes, values never written, reads that travel back in time and impossible
 * compare-and-set outcomes, and accept concurrent operations in any consistent order and open (unknown-outcome)
 * writes taking effect late or never. Method: small hand-built histories with explicit invocation and completion
 * times.
 */
class LinearizabilityCheckerTest {
    private final List<History.Op> ops = new ArrayList<>();

    private History.Op op(final byte kind, final int key, final long value, final long expected, final long start,
        final long end, final long output) {
        final History.Op op = new History.Op(ops.size(), ops.size(), kind, key, value, expected, start);
        if (end == History.OPEN) {
            op.status = History.UNKNOWN;
        } else {
            op.status = History.OK;
            op.completedAt = end;
            op.output = output;
        }
        ops.add(op);
        return op;
    }

    private void put(final long value, final long start, final long end) {
        op(History.PUT, 0, value, 0, start, end, 0);
    }

    private void get(final long value, final long start, final long end) {
        op(History.GET, 0, 0, 0, start, end, value);
    }

    private void cas(final long expected, final long value, final boolean swapped, final long start, final long end) {
        op(History.CAS, 0, value, expected, start, end, swapped ? KvStateMachine.CAS_OK : KvStateMachine.CAS_FAILED);
    }

    private boolean linearizable() {
        return LinearizabilityChecker.check(ops).linearizable();
    }

    @Test
    void shouldAcceptSequentialHistory() {
        put(1, 1, 2);
        get(1, 3, 4);
        cas(1, 2, true, 5, 6);
        cas(1, 3, false, 7, 8);
        get(2, 9, 10);
        assertTrue(linearizable());
    }

    @Test
    void shouldRejectStaleReadAfterWriteCompleted() {
        put(1, 1, 2);
        get(0, 3, 4);
        assertFalse(linearizable());
    }

    @Test
    void shouldRejectReadOfValueNeverWritten() {
        put(1, 1, 2);
        get(7, 3, 4);
        assertFalse(linearizable());
    }

    @Test
    void shouldRejectLostAcknowledgedWrite() {
        put(1, 1, 2);
        put(2, 3, 4);
        get(1, 5, 6);
        assertFalse(linearizable());
    }

    @Test
    void shouldAcceptConcurrentWritesReadInEitherOrder() {
        put(1, 1, 10);
        put(2, 2, 9);
        get(1, 11, 12);
        assertTrue(linearizable());
        ops.clear();
        put(1, 1, 10);
        put(2, 2, 9);
        get(2, 11, 12);
        assertTrue(linearizable());
    }

    @Test
    void shouldRejectReadsGoingBackInTime() {
        put(1, 1, 10);
        get(1, 2, 3);
        get(0, 4, 5);
        assertFalse(linearizable(), "once a read saw 1, a later read cannot see 0");
        ops.clear();
        put(1, 1, 10);
        get(0, 2, 3);
        get(1, 4, 5);
        assertTrue(linearizable(), "the write may take effect between the reads");
    }

    @Test
    void shouldRejectImpossibleCompareAndSetOutcome() {
        put(1, 1, 2);
        cas(0, 5, true, 3, 4);
        assertFalse(linearizable(), "swapped although the value was 1, not 0");
        ops.clear();
        put(1, 1, 2);
        cas(1, 5, false, 3, 4);
        assertFalse(linearizable(), "refused although the value was 1");
    }

    @Test
    void shouldAcceptOpenWriteTakingEffectLateOrNever() {
        put(5, 1, History.OPEN);
        get(0, 2, 3);
        get(5, 4, 5);
        assertTrue(linearizable(), "took effect late");
        ops.clear();
        put(5, 1, History.OPEN);
        get(0, 2, 3);
        get(0, 4, 5);
        assertTrue(linearizable(), "never took effect");
        ops.clear();
        put(5, 1, History.OPEN);
        get(5, 2, 3);
        get(0, 4, 5);
        assertFalse(linearizable(), "cannot be undone once seen");
    }

    @Test
    void shouldCheckKeysIndependently() {
        op(History.PUT, 1, 1, 0, 1, 2, 0);
        op(History.GET, 2, 0, 0, 3, 4, 0);
        op(History.GET, 1, 0, 0, 5, 6, 1);
        assertTrue(linearizable());
        op(History.GET, 2, 0, 0, 7, 8, 1);
        final LinearizabilityChecker.Result result = LinearizabilityChecker.check(ops);
        assertFalse(result.linearizable());
        assertTrue(result.key() == 2, "the failing key is named");
    }

    @Test
    void shouldDecideManyConcurrentOperations() {
        for (int i = 0; i < 12; i++) {
            put(i + 1, i, 200 + i);
        }
        get(12, 300, 301);
        assertTrue(linearizable());
        get(3, 302, 303);
        assertFalse(linearizable());
    }

    @Test
    void shouldReportInconclusiveWhenSearchExceedsBudget() {
        for (int i = 0; i < 40; i++) {
            put(i + 1, i, History.OPEN);
        }
        get(99, 300, 301);
        final LinearizabilityChecker.Result result = LinearizabilityChecker.check(ops, 100_000);
        assertTrue(result.inconclusive() || !result.linearizable(), "never a silent pass");
    }

    @Test
    void shouldDecideQuicklyWhenManyOpenWritesAreNeverObserved() {
        // 24 clients time out in a partition, each leaving a write nobody ever reads; then a read still sees the
        // initial value. Whole, the search first places open writes before that read and backtracks through their
        // subsets (exponential); without the unobserved ones it is a short sequential history.
        for (int i = 0; i < 24; i++) {
            op(History.PUT, 0, 1000 + i, 0, 1 + i, History.OPEN, 0);
        }
        get(0, 30, 31);
        for (int i = 0; i < 40; i++) {
            put(i + 1, 100 + 4 * i, 101 + 4 * i);
            get(i + 1, 102 + 4 * i, 103 + 4 * i);
        }
        final LinearizabilityChecker.Result result = LinearizabilityChecker.check(ops, 100_000);
        assertTrue(result.linearizable());
        assertFalse(result.inconclusive(), "decided within 100,000 steps");
    }

    @Test
    void shouldKeepAnOpenWriteThatExplainsAFailedCompareAndSet() {
        // Only the open put(5) explains why cas(0 -> 9) failed: the checker must not drop it and refute the history.
        op(History.PUT, 0, 5, 0, 1, History.OPEN, 0);
        cas(0, 9, false, 2, 3);
        assertTrue(linearizable());
    }

    @Test
    void shouldStillRejectAStaleReadAmongUnobservedOpenWrites() {
        op(History.PUT, 0, 100, 0, 1, History.OPEN, 0);
        op(History.PUT, 0, 101, 0, 1, History.OPEN, 0);
        put(1, 2, 3);
        put(2, 4, 5);
        get(1, 6, 7);
        assertFalse(linearizable());
    }
}
