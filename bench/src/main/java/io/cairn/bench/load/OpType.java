package io.cairn.bench.load;

/**
 * The etcd requests the generator sends; each has its own histograms and error counts.
 */
public enum OpType {
    /** {@code KV.Put} of one key. */
    PUT("put"),
    /** {@code KV.Range} of one key (a point get). */
    RANGE("range"),
    /** {@code KV.Txn} with no compares and puts in its success branch. */
    TXN("txn");

    /** Cached {@link #values()}: one array, not one per call. */
    static final OpType[] ALL = values();

    private final String label;

    OpType(final String label) {
        this.label = label;
    }

    /**
     * @return the name used in the summary, the JSON and on the command line.
     */
    public String label() {
        return label;
    }
}
