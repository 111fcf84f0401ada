package io.cairn.simulator;

import java.util.ArrayList;
import java.util.List;

/**
 * Goal: the client-visible history of a run, for the linearizability checker. Method: every operation records its
 * invocation and completion on one logical clock that ticks at each event, so real-time order is exact even when
 * many events share a simulated millisecond. An operation whose outcome is unknown (the client gave up, the node
 * crashed) stays open: it may take effect at any point after its invocation. An operation known not to have taken
 * effect (refused, or its log entry was replaced) is marked failed and left out of the check.
 */
final class History {
    static final byte PUT = KvStateMachine.PUT;
    static final byte CAS = KvStateMachine.CAS;
    static final byte GET = 3;
    static final long OPEN = Long.MAX_VALUE;

    static final int PENDING = 0;
    static final int OK = 1;
    static final int FAILED = 2;
    static final int UNKNOWN = 3;

    /** One client operation. */
    static final class Op {
        final int id;
        final int client;
        final byte kind;
        final int key;
        final long value;
        final long expected;
        final long invokedAt;
        long completedAt = OPEN;
        long output;
        int status = PENDING;
        long index;
        long term;
        // Keyspace mode only (0 otherwise): the mod revision the client believes goes with {@code expected} (a
        // compare-and-set may compare it instead of the value), and the mod revision of what a get read or a write
        // wrote.
        long expectedRevision;
        long revision;

        Op(final int id, final int client, final byte kind, final int key, final long value, final long expected,
            final long invokedAt) {
            this.id = id;
            this.client = client;
            this.kind = kind;
            this.key = key;
            this.value = value;
            this.expected = expected;
            this.invokedAt = invokedAt;
        }

        boolean isWrite() {
            return kind != GET;
        }

        @Override
        public String toString() {
            final String what = kind == PUT ? "put(" + value + ")" : kind == CAS ? "cas(" + expected + "->" + value
                + ")" : "get()";
            final String result = status == OK ? (kind == PUT ? "ok" : String.valueOf(output))
                : status == FAILED ? "failed" : "?";
            return "#" + id + " c" + client + " k" + key + " " + what + " = " + result + " ["
                + invokedAt + ", " + (completedAt == OPEN ? "inf" : String.valueOf(completedAt)) + "]"
                + (index > 0 ? " @" + index + "/" + term : "");
        }
    }

    private final List<Op> ops = new ArrayList<>();
    private long clock;

    Op invoke(final int client, final byte kind, final int key, final long value, final long expected) {
        final Op op = new Op(ops.size(), client, kind, key, value, expected, ++clock);
        ops.add(op);
        return op;
    }

    boolean ok(final Op op, final long output) {
        if (op.status != PENDING) {
            return false;
        }
        op.status = OK;
        op.output = output;
        op.completedAt = ++clock;
        return true;
    }

    void fail(final Op op) {
        if (op.status == PENDING) {
            op.status = FAILED;
            op.completedAt = ++clock;
        }
    }

    void abandon(final Op op) {
        if (op.status == PENDING) {
            op.status = UNKNOWN;
        }
    }

    List<Op> ops() {
        return ops;
    }
}
