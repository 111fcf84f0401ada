package io.cairn.consensus.keyspace;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * A daemon thread of its own for work the loop must not wait for (a snapshot's copy, a defragmentation's), started the
 * first time there is some, so that a member that never needs it has no idle thread.
 */
final class LazyWorker {
    private final String name;
    private ExecutorService executor;

    /**
     * @param name the thread's name.
     */
    LazyWorker(final String name) {
        this.name = name;
    }

    /**
     * @return the worker, started if it was not.
     */
    ExecutorService executor() {
        if (executor == null) {
            executor = Executors.newSingleThreadExecutor(runnable -> {
                final Thread thread = new Thread(runnable, name);
                thread.setDaemon(true);
                return thread;
            });
        }
        return executor;
    }

    /**
     * Lets queued work finish (a minute at most) and stops the thread; a later {@link #executor()} starts another.
     */
    void close() {
        if (executor == null) {
            return;
        }
        executor.shutdown();
        try {
            executor.awaitTermination(1, TimeUnit.MINUTES);
        } catch (final InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
        executor = null;
    }
}
