package io.cairn.consensus;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Goal: {@link Quorum#committedIndex} returns the highest value a majority has reached, for every voter count a
 * configuration can have, without disturbing its input. Method: a seeded property loop against the naive
 * definition (sort a copy descending, take the quorum-th value).
 */
class QuorumTest {
    @Test
    void shouldMatchNaiveMajorityValueWhenValuesAreRandom() {
        final Random random = new Random(42);
        final long[] scratch = new long[Membership.MEMBERS_MAX];
        for (int round = 0; round < 20_000; round++) {
            final int count = 1 + random.nextInt(Membership.MEMBERS_MAX);
            final long[] values = new long[count];
            for (int i = 0; i < count; i++) {
                values[i] = random.nextInt(4) == 0 ? 7 : random.nextInt(1000);
            }
            final long[] before = values.clone();
            final long[] sorted = values.clone();
            Arrays.sort(sorted);
            final long naive = sorted[count - (count / 2 + 1)];
            assertEquals(naive, Quorum.committedIndex(values, count, scratch), Arrays.toString(values));
            assertArrayEquals(before, values, "input left as it was");
        }
    }

    @Test
    void shouldNeedMajorityWhenVotersAreEven() {
        final long[] scratch = new long[4];
        assertEquals(5, Quorum.committedIndex(new long[] {9, 5, 5, 1}, 4, scratch), "3 of 4 hold at least 5");
        assertEquals(1, Quorum.committedIndex(new long[] {9, 9, 1, 1}, 4, scratch), "2 of 4 is not a majority");
    }
}
