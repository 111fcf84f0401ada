package io.cairn.engine.lease;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: the deadline heap always names the lease that expires first and the deadline of any lease, through grants,
 * renewals (earlier and later), removals and growth past its initial capacity. Method: seeded random operations
 * against a plain map, comparing the earliest deadline and every lease's deadline after each step.
 */
class LeaseDeadlinesTest {
    @Test
    void shouldTrackEarliestDeadlineWhenLeasesComeRenewAndGo() {
        for (long seed = 1; seed <= 20; seed++) {
            final Random random = new Random(seed);
            final LeaseDeadlines deadlines = new LeaseDeadlines(4);
            final Map<Long, Long> model = new HashMap<>();
            for (int step = 0; step < 2_000; step++) {
                final long lease = 1 + random.nextInt(40);
                if (random.nextInt(4) == 0) {
                    assertEquals(model.remove(lease) != null, deadlines.remove(lease), "seed " + seed);
                } else {
                    final long deadline = random.nextInt(10_000);
                    model.put(lease, deadline);
                    deadlines.set(lease, deadline);
                }
                assertEquals(model.size(), deadlines.size());
                final long earliest = model.values().stream().min(Long::compare).orElse(LeaseDeadlines.NO_DEADLINE);
                assertEquals(earliest, deadlines.earliestDeadline(), "seed " + seed + " step " + step);
                if (!model.isEmpty()) {
                    assertEquals(earliest, (long)model.get(deadlines.earliestLease()));
                }
                for (final Map.Entry<Long, Long> entry : model.entrySet()) {
                    assertEquals(entry.getValue(), deadlines.deadline(entry.getKey()));
                }
            }
        }
    }

    @Test
    void shouldForgetEverythingWhenCleared() {
        final LeaseDeadlines deadlines = new LeaseDeadlines(2);
        deadlines.set(1, 10);
        deadlines.set(2, 5);
        deadlines.clear();
        assertEquals(0, deadlines.size());
        assertEquals(LeaseDeadlines.NO_DEADLINE, deadlines.earliestDeadline());
        assertFalse(deadlines.remove(1));
        deadlines.set(3, 7);
        assertTrue(deadlines.remove(3));
    }
}
