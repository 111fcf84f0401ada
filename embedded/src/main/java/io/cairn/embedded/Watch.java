package io.cairn.embedded;

/**
 * A registered watch: cancel it to stop its deliveries (a delivery under way may still complete).
 */
public interface Watch extends AutoCloseable {
    /**
     * Stops the watch. Idempotent.
     */
    void cancel();

    /**
     * @return the next revision the watch will deliver: every change below it has been handed to its sink, batch
     *         end included (a progress answer below it is never ahead of an event still to come).
     */
    long nextRevision();

    /**
     * Same as {@link #cancel}.
     */
    @Override
    default void close() {
        cancel();
    }
}
