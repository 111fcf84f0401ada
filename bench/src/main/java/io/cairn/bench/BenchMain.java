package io.cairn.bench;

/**
 * Placeholder replaced below.
 */
public final class BenchMain {
    private BenchMain() {
    }

    /**
     * Entry point.
     *
     * @param args ignored.
     */
    public static void main(final String[] args) {
    }
}
