package io.cairn.engine.check;

/**
 * Assertions that are always on (TigerBeetle style). The message arguments are primitives so that a passing check
 * allocates nothing; the message is only built when the check fails.
 */
public final class Check {
    private Check() {
    }

    /**
     * @param condition must hold.
     * @param what      names the invariant.
     * @throws InvariantViolation when the condition does not hold.
     */
    public static void state(final boolean condition, final String what) {
        if (!condition) {
            throw new InvariantViolation(what);
        }
    }

    /**
     * @param condition must hold.
     * @param what      names the invariant.
     * @param value     the offending value, appended to the message.
     * @throws InvariantViolation when the condition does not hold.
     */
    public static void state(final boolean condition, final String what, final long value) {
        if (!condition) {
            throw new InvariantViolation(what + ": " + value);
        }
    }

    /**
     * @param condition must hold.
     * @param what      names the invariant.
     * @param first     the first offending value.
     * @param second    the second offending value.
     * @throws InvariantViolation when the condition does not hold.
     */
    public static void state(final boolean condition, final String what, final long first, final long second) {
        if (!condition) {
            throw new InvariantViolation(what + ": " + first + ", " + second);
        }
    }
}
