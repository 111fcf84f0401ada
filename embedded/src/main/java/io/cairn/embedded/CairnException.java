package io.cairn.embedded;

/**
 * A request refused or not completed, with etcd's reason as a {@link CairnError} (its message is etcd's text). Futures
 * of {@link CairnNode} and its clients fail with it; no stack trace is filled (it is an answer, not a bug).
 */
public class CairnException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final CairnError error;

    /**
     * @param error why.
     */
    public CairnException(final CairnError error) {
        super(error.message(), null, false, false);
        this.error = error;
    }

    /**
     * @return why.
     */
    public CairnError error() {
        return error;
    }

    /**
     * @param error a failure, possibly wrapped by a future.
     * @return the {@link CairnException} inside it, or null.
     */
    public static CairnException find(final Throwable error) {
        Throwable cause = error;
        while (cause != null && !(cause instanceof CairnException)) {
            cause = cause.getCause();
        }
        return (CairnException)cause;
    }
}
