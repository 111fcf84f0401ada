package io.cairn.engine.check;

/**
 * A broken invariant or a programmer error. Never caused by client input, peer frames or disk contents: those are
 * reported as codes. The owner of the failing component fail-stops rather than continuing in a wrong state.
 */
public final class InvariantViolation extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /**
     * @param message what was expected and what was found.
     */
    public InvariantViolation(final String message) {
        super(message);
    }
}
