package io.cairn.embedded;

import java.util.concurrent.ThreadFactory;

/**
 * Threads of a member's pools and event loops: daemons (a member's own threads never keep the JVM alive: its
 * shutdown hook closes it), named after what they serve so that a thread dump or a per-thread CPU reading says whose
 * time it is.
 */
public final class DaemonThreads {
    private DaemonThreads() {
    }

    /**
     * @param name every thread's name, e.g. {@code cairn-m1-netty}.
     * @return a factory of daemon threads with that name.
     */
    public static ThreadFactory named(final String name) {
        return runnable -> {
            final Thread thread = new Thread(runnable, name);
            thread.setDaemon(true);
            return thread;
        };
    }
}
