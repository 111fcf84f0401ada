package io.cairn.consensus;

/**
 * Majority arithmetic over voters' values (§5.3, §5.4): the highest value that a quorum has reached.
 */
public final class Quorum {
    private Quorum() {
    }

    /**
     * The value a majority has reached: the {@code (count / 2 + 1)}-th largest of {@code values[0, count)}.
     * Sorts a copy with insertion sort (configurations hold at most {@link Membership#MEMBERS_MAX} voters), so
     * nothing is allocated and {@code values} is left as it was.
     *
     * @param values  per-voter values (match indexes, acknowledged ReadIndex rounds).
     * @param count   voters; positive.
     * @param scratch at least {@code count} long, overwritten.
     * @return the quorum value.
     */
    public static long committedIndex(final long[] values, final int count, final long[] scratch) {
        for (int i = 0; i < count; i++) {
            final long value = values[i];
            int j = i - 1;
            while (j >= 0 && scratch[j] > value) {
                scratch[j + 1] = scratch[j];
                j--;
            }
            scratch[j + 1] = value;
        }
        // Ascending order: a majority holds at least the value at count - quorum.
        return scratch[count - (count / 2 + 1)];
    }
}
