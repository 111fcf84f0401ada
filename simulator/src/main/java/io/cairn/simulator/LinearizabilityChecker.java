package io.cairn.simulator;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * Goal: decide whether a key-value history is linearizable (Herlihy and Wing 1990), so the simulator can check what
 * clients saw and not only Raft's internal invariants. Method: Wing and Gong's search with Lowe's just-in-time
 * linearization and memoisation of (linearized set, state) pairs, as in Porcupine, run separately per key (a
 * history of registers is linearizable iff each key's is, by locality). Each key is a register starting at 0: put
 * writes, compare-and-set writes when it finds the expected value and reports whether it did, get reads. Open
 * operations (outcome unknown) may take effect at any point after their invocation or not at all; failed ones are
 * left out.
 */
final class LinearizabilityChecker {
    /** What the check found; {@code inconclusive} when a key's search ran out of its step budget. */
    record Result(boolean linearizable, boolean inconclusive, int key, String explanation) {
        static final Result OK = new Result(true, false, -1, "");
    }

    /** Search steps allowed per key: Wing and Gong's search is exponential in the worst case (many open writes). */
    static final long STEP_BUDGET = 20_000_000;
    private static final int LINEARIZABLE = 0;
    private static final int NOT_LINEARIZABLE = 1;
    private static final int INCONCLUSIVE = 2;

    private static final class Entry {
        final History.Op op;
        final long time;
        final boolean isCall;
        Entry match;
        Entry prev;
        Entry next;

        Entry(final History.Op op, final long time, final boolean isCall) {
            this.op = op;
            this.time = time;
            this.isCall = isCall;
        }
    }

    private record Frame(Entry entry, long state) {
    }

    private record CacheKey(BitSet linearized, long state) {
    }

    private LinearizabilityChecker() {
    }

    static Result check(final List<History.Op> ops) {
        return check(ops, STEP_BUDGET);
    }

    static Result check(final List<History.Op> ops, final long stepBudget) {
        final Map<Integer, List<History.Op>> byKey = new TreeMap<>();
        for (final History.Op op : ops) {
            if (op.status == History.FAILED || (op.status != History.OK && !op.isWrite())) {
                continue;
            }
            byKey.computeIfAbsent(op.key, key -> new ArrayList<>()).add(op);
        }
        Result result = Result.OK;
        for (final Map.Entry<Integer, List<History.Op>> key : byKey.entrySet()) {
            final List<History.Op> pruned = withoutUnobservedOpenWrites(key.getValue());
            if (pruned.size() < key.getValue().size() && checkKey(pruned, stepBudget) == LINEARIZABLE) {
                continue;
            }
            final int verdict = checkKey(key.getValue(), stepBudget);
            if (verdict == NOT_LINEARIZABLE) {
                return new Result(false, false, key.getKey(), describe(key.getValue()));
            }
            if (verdict == INCONCLUSIVE) {
                result = new Result(true, true, key.getKey(), "search budget exhausted");
            }
        }
        return result;
    }

    /**
     * The key's operations without the open writes (outcome unknown) whose value nobody observed: no read returned it
     * and no compare-and-set expected it. Values are unique per write, so if the rest is linearizable, so is the
     * whole: each dropped write takes effect after everything else (an open operation may), where nobody sees it. The
     * converse does not hold (a dropped write might explain a failed compare-and-set), so a history this refutes or
     * cannot decide is checked again whole. Open writes are what makes the search exponential (a client that timed out
     * in a partition leaves one), and most are never observed.
     */
    static List<History.Op> withoutUnobservedOpenWrites(final List<History.Op> ops) {
        final Set<Long> observed = new HashSet<>();
        for (final History.Op op : ops) {
            if (op.kind == History.CAS) {
                observed.add(op.expected);
            } else if (op.kind == History.GET && op.status == History.OK) {
                observed.add(op.output);
            }
        }
        final List<History.Op> kept = new ArrayList<>(ops.size());
        for (final History.Op op : ops) {
            if (op.status == History.OK || !op.isWrite() || observed.contains(op.value)) {
                kept.add(op);
            }
        }
        return kept;
    }

    /**
     * @param ops        one key's operations (OK ones, and open writes).
     * @param stepBudget most search steps before giving up.
     * @return whether some order of them respects real time and the register's semantics, or inconclusive.
     */
    static int checkKey(final List<History.Op> ops, final long stepBudget) {
        final Entry head = buildList(ops);
        final BitSet linearized = new BitSet();
        final Set<CacheKey> cache = new HashSet<>();
        final ArrayDeque<Frame> calls = new ArrayDeque<>();
        final int[] slots = slotsOf(ops);
        long state = 0;
        Entry entry = head.next;
        long steps = 0;
        while (head.next != null) {
            if (++steps > stepBudget) {
                return INCONCLUSIVE;
            }
            if (entry.isCall) {
                final long next = step(state, entry.op);
                if (next != INVALID) {
                    final BitSet candidate = (BitSet)linearized.clone();
                    candidate.set(slots[entry.op.id]);
                    if (cache.add(new CacheKey(candidate, next))) {
                        calls.push(new Frame(entry, state));
                        state = next;
                        linearized.set(slots[entry.op.id]);
                        lift(entry);
                        entry = head.next;
                        continue;
                    }
                }
                entry = entry.next;
            } else {
                if (calls.isEmpty()) {
                    return NOT_LINEARIZABLE;
                }
                final Frame frame = calls.pop();
                entry = frame.entry();
                state = frame.state();
                linearized.clear(slots[entry.op.id]);
                unlift(entry);
                entry = entry.next;
            }
        }
        return LINEARIZABLE;
    }

    private static final long INVALID = Long.MIN_VALUE;

    private static long step(final long state, final History.Op op) {
        final boolean known = op.status == History.OK;
        switch (op.kind) {
            case History.PUT:
                return op.value;
            case History.CAS:
                if (!known) {
                    return state == op.expected ? op.value : state;
                }
                if (op.output == KvStateMachine.CAS_OK) {
                    return state == op.expected ? op.value : INVALID;
                }
                return state != op.expected ? state : INVALID;
            default:
                return op.output == state ? state : INVALID;
        }
    }

    private static int[] slotsOf(final List<History.Op> ops) {
        int max = 0;
        for (final History.Op op : ops) {
            max = Math.max(max, op.id);
        }
        final int[] slots = new int[max + 1];
        for (int i = 0; i < ops.size(); i++) {
            slots[ops.get(i).id] = i;
        }
        return slots;
    }

    private static Entry buildList(final List<History.Op> ops) {
        final List<Entry> events = new ArrayList<>(ops.size() * 2);
        for (final History.Op op : ops) {
            final Entry call = new Entry(op, op.invokedAt, true);
            final Entry ret = new Entry(op, op.completedAt, false);
            call.match = ret;
            events.add(call);
            events.add(ret);
        }
        // Returns at "infinity" keep a stable order; a call sorts before a return at the same time.
        events.sort(Comparator.<Entry>comparingLong(e -> e.time).thenComparing(e -> !e.isCall)
            .thenComparingInt(e -> e.op.id));
        final Entry head = new Entry(null, Long.MIN_VALUE, false);
        Entry previous = head;
        for (final Entry event : events) {
            previous.next = event;
            event.prev = previous;
            previous = event;
        }
        return head;
    }

    private static void lift(final Entry entry) {
        entry.prev.next = entry.next;
        if (entry.next != null) {
            entry.next.prev = entry.prev;
        }
        final Entry match = entry.match;
        match.prev.next = match.next;
        if (match.next != null) {
            match.next.prev = match.prev;
        }
    }

    private static void unlift(final Entry entry) {
        final Entry match = entry.match;
        match.prev.next = match;
        if (match.next != null) {
            match.next.prev = match;
        }
        entry.prev.next = entry;
        if (entry.next != null) {
            entry.next.prev = entry;
        }
    }

    private static String describe(final List<History.Op> ops) {
        final History.Op[] sorted = ops.toArray(new History.Op[0]);
        Arrays.sort(sorted, Comparator.comparingLong(op -> op.invokedAt));
        final StringBuilder text = new StringBuilder();
        final int from = Math.max(0, sorted.length - 40);
        if (from > 0) {
            text.append("  ... ").append(from).append(" earlier operations\n");
        }
        for (int i = from; i < sorted.length; i++) {
            text.append("  ").append(Objects.toString(sorted[i])).append('\n');
        }
        return text.toString();
    }
}
