package io.cairn.embedded.kv;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * What a watch follows (etcd's {@code WatchCreateRequest}): a key, a prefix or {@code [key, end)}, from a revision
 * (history first, then live changes), with or without the values before each change, puts or deletes filtered out,
 * and progress notifications while nothing changes.
 *
 * @param key            the key, or the start of the range.
 * @param end            the end of the range (exclusive), empty for the key alone, one zero byte for every key from
 *                       {@code key} on.
 * @param startRevision  the first revision to deliver; 0 for the next one (live changes only).
 * @param prevKv         deliver each change's previous key-value too.
 * @param noPut          leave puts out.
 * @param noDelete       leave deletes out.
 * @param progressNotify deliver a progress notification (the current revision) when nothing was delivered for etcd's
 *                       interval (10 minutes).
 */
public record WatchOptions(byte[] key, byte[] end, long startRevision, boolean prevKv, boolean noPut,
    boolean noDelete, boolean progressNotify) {
    private static final byte[] NONE = new byte[0];

    /**
     * Checks it.
     */
    public WatchOptions {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(end, "end");
        if (startRevision < 0) {
            throw new IllegalArgumentException("startRevision must not be negative");
        }
    }

    /**
     * @param key a key.
     * @return a watch of its changes from the next revision.
     */
    public static WatchOptions key(final byte[] key) {
        return new WatchOptions(key, NONE, 0, false, false, false, false);
    }

    /**
     * @param key a key, as UTF-8.
     * @return a watch of its changes from the next revision.
     */
    public static WatchOptions key(final String key) {
        return key(key.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * @param prefix a prefix (empty: every key).
     * @return a watch of every key with it, from the next revision.
     */
    public static WatchOptions prefix(final byte[] prefix) {
        final RangeQuery range = RangeQuery.prefix(prefix); // the same range a prefix read covers
        return new WatchOptions(range.key(), range.end(), 0, false, false, false, false);
    }

    /**
     * @param prefix a prefix, as UTF-8.
     * @return a watch of every key with it, from the next revision.
     */
    public static WatchOptions prefix(final String prefix) {
        return prefix(prefix.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * @param revision the first revision to deliver (history, then live).
     * @return this watch from there.
     */
    public WatchOptions fromRevision(final long revision) {
        return new WatchOptions(key, end, revision, prevKv, noPut, noDelete, progressNotify);
    }

    /**
     * @return this watch with each change's previous key-value.
     */
    public WatchOptions withPrevKv() {
        return new WatchOptions(key, end, startRevision, true, noPut, noDelete, progressNotify);
    }

    /**
     * @return this watch without puts.
     */
    public WatchOptions withoutPuts() {
        return new WatchOptions(key, end, startRevision, prevKv, true, noDelete, progressNotify);
    }

    /**
     * @return this watch without deletes.
     */
    public WatchOptions withoutDeletes() {
        return new WatchOptions(key, end, startRevision, prevKv, noPut, true, progressNotify);
    }

    /**
     * @return this watch with progress notifications.
     */
    public WatchOptions withProgressNotify() {
        return new WatchOptions(key, end, startRevision, prevKv, noPut, noDelete, true);
    }
}
