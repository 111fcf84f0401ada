package io.cairn.server.proxy;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.RangeResponse;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The proxy's cache of range answers, for serializable ranges (etcd's grpc-proxy cache). Every range answer the proxy
 * relays is kept (least recently used first out, at most {@code entriesMax} answers and {@code bytesMax} bytes), keyed
 * by the request — serializable flag aside — and by the caller's auth token, so no caller is answered from another's
 * permissions. A serializable range is answered from it when:
 *
 * <ul>
 *   <li>it asks for a past revision ({@code revision > 0}): that answer never changes (until a compaction through
 *       the proxy drops it);</li>
 *   <li>it asks for the latest revision and the answer is younger than {@code maxAgeNanos}. etcd's proxy keeps such
 *       answers until a write through the same proxy touches their keys; a write through another proxy or a member
 *       would leave them stale for ever. Cairn's bound keeps a serializable read at most that old (default 1 s), and
 *       writes through this proxy still drop what they touch at once.</li>
 * </ul>
 *
 * <p>A write that lands while a range is being answered upstream may or may not be in that answer: the answer is not
 * kept if any write went through the proxy since the range was sent ({@link #generation()}).
 */
final class RangeCache {
    private static final ByteString EDGE = ByteString.copyFrom(new byte[] {0});

    private record Key(String token, RangeRequest request) {
    }

    private record Entry(RangeResponse response, long storedNanos, long bytes) {
    }

    private final int entriesMax;
    private final long bytesMax;
    private final long maxAgeNanos;
    private final LinkedHashMap<Key, Entry> entries = new LinkedHashMap<>(64, 0.75f, true);
    private long bytes;
    private final AtomicLong generation = new AtomicLong();
    private final AtomicLong hits = new AtomicLong();
    private final AtomicLong misses = new AtomicLong();

    /**
     * @param entriesMax  answers kept at most.
     * @param bytesMax    bytes of answers kept at most.
     * @param maxAgeNanos how long an answer at the latest revision may serve a serializable range (0: never).
     */
    RangeCache(final int entriesMax, final long bytesMax, final long maxAgeNanos) {
        this.entriesMax = entriesMax;
        this.bytesMax = bytesMax;
        this.maxAgeNanos = maxAgeNanos;
    }

    private static Key key(final String token, final RangeRequest request) {
        return new Key(token, request.getSerializable() ? request.toBuilder().setSerializable(false).build()
            : request);
    }

    /**
     * @return the count of writes seen so far: pass it to {@link #put}.
     */
    long generation() {
        return generation.get();
    }

    /**
     * @param token   the caller's token ("" for none).
     * @param request a serializable range, in the cluster's keys.
     * @return the kept answer, or null.
     */
    RangeResponse get(final String token, final RangeRequest request) {
        final Key key = key(token, request);
        synchronized (this) {
            final Entry entry = entries.get(key);
            if (entry != null && (request.getRevision() > 0
                || System.nanoTime() - entry.storedNanos() < maxAgeNanos)) {
                hits.incrementAndGet();
                return entry.response();
            }
            if (entry != null) {
                remove(key);
            }
        }
        misses.incrementAndGet();
        return null;
    }

    /**
     * @param token      the caller's token.
     * @param request    the range, in the cluster's keys.
     * @param response   the cluster's answer.
     * @param generation {@link #generation()} when the range was sent.
     */
    void put(final String token, final RangeRequest request, final RangeResponse response, final long generation) {
        final long size = response.getSerializedSize();
        if (size > bytesMax / 4) {
            return; // one answer would crowd out the rest
        }
        final Key key = key(token, request);
        synchronized (this) {
            if (this.generation.get() != generation) {
                return;
            }
            remove(key);
            entries.put(key, new Entry(response, System.nanoTime(), size));
            bytes += size;
            final Iterator<Map.Entry<Key, Entry>> oldest = entries.entrySet().iterator();
            while ((entries.size() > entriesMax || bytes > bytesMax) && oldest.hasNext()) {
                bytes -= oldest.next().getValue().bytes();
                oldest.remove();
            }
        }
    }

    private void remove(final Key key) {
        final Entry gone = entries.remove(key);
        if (gone != null) {
            bytes -= gone.bytes();
        }
    }

    /**
     * Drops every answer whose range meets {@code [key, rangeEnd)}: a write through the proxy changed it.
     *
     * @param key      the first key written.
     * @param rangeEnd the end (empty: the key alone; {@code "\0"}: to the end of the keyspace).
     */
    synchronized void invalidate(final ByteString key, final ByteString rangeEnd) {
        generation.incrementAndGet();
        final Iterator<Map.Entry<Key, Entry>> all = entries.entrySet().iterator();
        while (all.hasNext()) {
            final Map.Entry<Key, Entry> entry = all.next();
            final RangeRequest cached = entry.getKey().request();
            if (overlaps(cached.getKey(), cached.getRangeEnd(), key, rangeEnd)) {
                bytes -= entry.getValue().bytes();
                all.remove();
            }
        }
    }

    /**
     * Drops the answers at revisions below {@code revision}: compacted.
     *
     * @param revision the compaction's revision.
     */
    synchronized void compact(final long revision) {
        final Iterator<Map.Entry<Key, Entry>> all = entries.entrySet().iterator();
        while (all.hasNext()) {
            final Map.Entry<Key, Entry> entry = all.next();
            final long at = entry.getKey().request().getRevision();
            if (at > 0 && at < revision) {
                bytes -= entry.getValue().bytes();
                all.remove();
            }
        }
    }

    static boolean overlaps(final ByteString aKey, final ByteString aEnd, final ByteString bKey,
        final ByteString bEnd) {
        // [aKey, aEndExclusive) meets [bKey, bEndExclusive); an empty end is the key alone, "\0" is unbounded.
        return before(aKey, bKey, bEnd) && before(bKey, aKey, aEnd);
    }

    /** Whether {@code key} is below the exclusive end of the interval starting at {@code start}. */
    private static boolean before(final ByteString key, final ByteString start, final ByteString end) {
        if (end.isEmpty()) {
            return ByteString.unsignedLexicographicalComparator().compare(key, start) <= 0;
        }
        if (end.equals(EDGE)) {
            return true;
        }
        return ByteString.unsignedLexicographicalComparator().compare(key, end) < 0;
    }

    /**
     * @return answers kept now.
     */
    synchronized int size() {
        return entries.size();
    }

    /**
     * @return serializable ranges answered from the cache.
     */
    long hits() {
        return hits.get();
    }

    /**
     * @return serializable ranges sent to the cluster.
     */
    long misses() {
        return misses.get();
    }
}
