package io.cairn.server.tls;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Something read from files and read again when one of them changes: the files' modification times are looked at
 * no more than once a second (a TLS handshake asks, so this is on the handshake's path); what fails to load (a
 * half-written file, a key that does not match) is reported and the value in use kept. Each value read gets the next
 * generation number.
 *
 * @param <T> what the files make.
 */
final class ReloadingFiles<T> {
    private static final System.Logger LOG = System.getLogger(ReloadingFiles.class.getName());
    private static final long CHECK_NS = TimeUnit.SECONDS.toNanos(1);

    /**
     * A value and its generation (0 for the first).
     *
     * @param generation how many reloads came before it.
     * @param value      what the files made.
     * @param <T>        what the files make.
     */
    record Generation<T>(int generation, T value) {
    }

    private record State<T>(Generation<T> current, List<FileTime> times, long checkedNs) {
    }

    private final String what;
    private final List<Path> files;
    private final Supplier<T> load;
    private volatile State<T> state;

    /**
     * @param what  names it in log lines ("the certificate", "the trusted CAs").
     * @param files the files (null entries are skipped).
     * @param load  reads them; throws IllegalArgumentException when they do not make a value.
     * @throws IllegalArgumentException if they cannot be read now.
     */
    ReloadingFiles(final String what, final List<Path> files, final Supplier<T> load) {
        this.what = what;
        this.files = files.stream().filter(Objects::nonNull).toList();
        this.load = load;
        try {
            final List<FileTime> times = times();
            this.state = new State<>(new Generation<>(0, load.get()), times, System.nanoTime());
        } catch (final IOException ex) {
            throw new IllegalArgumentException("cannot read " + this.files + ": " + ex, ex);
        }
    }

    private List<FileTime> times() throws IOException {
        final List<FileTime> times = new ArrayList<>(files.size());
        for (final Path file : files) {
            times.add(Files.getLastModifiedTime(file));
        }
        return times;
    }

    /**
     * @return the value, read again first if a file changed since the last look (at most once a second).
     */
    Generation<T> current() {
        final State<T> now = state;
        if (System.nanoTime() - now.checkedNs() < CHECK_NS) {
            return now.current();
        }
        synchronized (this) {
            if (state != now) {
                return state.current();
            }
            try {
                final List<FileTime> times = times();
                if (times.equals(now.times())) {
                    state = new State<>(now.current(), now.times(), System.nanoTime());
                } else {
                    final Generation<T> next = new Generation<>(now.current().generation() + 1, load.get());
                    state = new State<>(next, times, System.nanoTime());
                    LOG.log(System.Logger.Level.INFO, "TLS: reloaded " + what + " from " + files);
                }
            } catch (final IOException | IllegalArgumentException ex) {
                LOG.log(System.Logger.Level.WARNING, "TLS: keeping " + what + " in use; " + ex.getMessage());
                state = new State<>(now.current(), now.times(), System.nanoTime());
            }
            return state.current();
        }
    }
}
