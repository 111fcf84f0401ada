package io.cairn.engine.lease;

import io.cairn.engine.check.Check;
import org.agrona.collections.Hashing;
import org.agrona.collections.Long2LongHashMap;

import java.util.Arrays;

/**
 * When each lease expires, for the leader that decides expiry: a binary min-heap of (deadline, lease ID) with an
 * index from ID to heap slot, so granting, renewing (keep-alive), forgetting and finding the earliest deadline are
 * all O(log n) and allocate nothing below the capacity given at construction. Pure: deadlines are numbers the owner
 * computes from its own clock; nothing here reads time.
 *
 * <p>etcd keeps expiry in the leader's memory only: a new leader gives every lease its whole TTL again (call
 * {@link #set} for each), so a lease never expires early because leadership moved.
 */
public final class LeaseDeadlines {
    /** What {@link #deadline(long)} and {@link #earliestDeadline()} answer when there is none. */
    public static final long NO_DEADLINE = Long.MAX_VALUE;
    private static final long MISSING = -1;

    private long[] deadlines;
    private long[] leases;
    private int size;
    private final Long2LongHashMap slots;

    /**
     * @param capacity leases held before the arrays grow.
     */
    public LeaseDeadlines(final int capacity) {
        Check.state(capacity > 0, "capacity", capacity);
        deadlines = new long[capacity];
        leases = new long[capacity];
        slots = new Long2LongHashMap(capacity * 2, Hashing.DEFAULT_LOAD_FACTOR, MISSING);
    }

    /**
     * Grants, renews or refreshes a lease.
     *
     * @param leaseId    the lease.
     * @param deadlineNs when it expires unless renewed.
     */
    public void set(final long leaseId, final long deadlineNs) {
        final long slot = slots.get(leaseId);
        if (slot == MISSING) {
            if (size == deadlines.length) {
                deadlines = Arrays.copyOf(deadlines, size * 2);
                leases = Arrays.copyOf(leases, size * 2);
            }
            deadlines[size] = deadlineNs;
            leases[size] = leaseId;
            slots.put(leaseId, size);
            up(size++);
            return;
        }
        final int at = (int)slot;
        final long before = deadlines[at];
        deadlines[at] = deadlineNs;
        if (deadlineNs < before) {
            up(at);
        } else {
            down(at);
        }
    }

    /**
     * @param leaseId a lease revoked or expired.
     * @return true when it was held.
     */
    public boolean remove(final long leaseId) {
        final long slot = slots.remove(leaseId);
        if (slot == MISSING) {
            return false;
        }
        final int at = (int)slot;
        size--;
        if (at != size) {
            move(size, at);
            up(at);
            down(at);
        }
        return true;
    }

    /**
     * @param leaseId a lease.
     * @return its deadline, or {@link #NO_DEADLINE}.
     */
    public long deadline(final long leaseId) {
        final long slot = slots.get(leaseId);
        return slot == MISSING ? NO_DEADLINE : deadlines[(int)slot];
    }

    /**
     * @return the earliest deadline, or {@link #NO_DEADLINE} when none is held.
     */
    public long earliestDeadline() {
        return size == 0 ? NO_DEADLINE : deadlines[0];
    }

    /**
     * @return the lease with the earliest deadline (when {@link #size()} is not 0).
     */
    public long earliestLease() {
        Check.state(size > 0, "no lease held");
        return leases[0];
    }

    /**
     * @return leases held.
     */
    public int size() {
        return size;
    }

    /**
     * Forgets every lease (a leader stepping down).
     */
    public void clear() {
        size = 0;
        slots.clear();
    }

    private void up(final int from) {
        int at = from;
        while (at > 0) {
            final int parent = (at - 1) >>> 1;
            if (deadlines[parent] <= deadlines[at]) {
                return;
            }
            swap(at, parent);
            at = parent;
        }
    }

    private void down(final int from) {
        int at = from;
        while (true) {
            final int left = 2 * at + 1;
            if (left >= size) {
                return;
            }
            final int right = left + 1;
            final int child = right < size && deadlines[right] < deadlines[left] ? right : left;
            if (deadlines[at] <= deadlines[child]) {
                return;
            }
            swap(at, child);
            at = child;
        }
    }

    private void swap(final int a, final int b) {
        final long deadline = deadlines[a];
        final long lease = leases[a];
        deadlines[a] = deadlines[b];
        leases[a] = leases[b];
        deadlines[b] = deadline;
        leases[b] = lease;
        slots.put(leases[a], a);
        slots.put(leases[b], b);
    }

    private void move(final int from, final int to) {
        deadlines[to] = deadlines[from];
        leases[to] = leases[from];
        slots.put(leases[to], to);
    }
}
