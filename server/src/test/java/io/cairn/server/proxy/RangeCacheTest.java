package io.cairn.server.proxy;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.KeyValue;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.RangeResponse;
import io.etcd.jetcd.api.ResponseHeader;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RangeCacheTest {
    private static final ByteString EDGE = ByteString.copyFrom(new byte[] {0});

    private static ByteString b(final String text) {
        return ByteString.copyFromUtf8(text);
    }

    private static RangeRequest range(final String key, final ByteString end, final long revision) {
        return RangeRequest.newBuilder().setKey(b(key)).setRangeEnd(end).setRevision(revision).setSerializable(true)
            .build();
    }

    private static RangeResponse answer(final String value, final long revision) {
        return RangeResponse.newBuilder().setHeader(ResponseHeader.newBuilder().setRevision(revision))
            .addKvs(KeyValue.newBuilder().setKey(b("k")).setValue(b(value))).setCount(1).build();
    }

    @Test
    void shouldServeSerializableRangesWhileYoungAndPastRevisionsUntilCompacted() throws Exception {
        final RangeCache cache = new RangeCache(16, 1 << 20, TimeUnit.MILLISECONDS.toNanos(200));
        final RangeRequest latest = range("k", ByteString.EMPTY, 0);
        final RangeRequest past = range("k", ByteString.EMPTY, 5);
        assertNull(cache.get("", latest));
        cache.put("", latest.toBuilder().setSerializable(false).build(), answer("v", 9), cache.generation());
        cache.put("", past, answer("old", 5), cache.generation());
        assertEquals("v", cache.get("", latest).getKvs(0).getValue().toStringUtf8(), "a linearizable answer serves");
        assertNull(cache.get("someone-else", latest), "another caller's token never shares an answer");
        Thread.sleep(250);
        assertNull(cache.get("", latest), "too old for the latest revision");
        assertNotNull(cache.get("", past), "a past revision never changes");
        cache.compact(6);
        assertNull(cache.get("", past), "compacted");
        assertEquals(2, cache.hits());
    }

    @Test
    void shouldDropWhatAWriteTouchesAndKeepNothingAnsweredAcrossAWrite() {
        final RangeCache cache = new RangeCache(16, 1 << 20, TimeUnit.SECONDS.toNanos(60));
        final RangeRequest single = range("a", ByteString.EMPTY, 0);
        final RangeRequest prefix = range("b", b("c"), 0);
        final RangeRequest fromKey = range("x", EDGE, 0);
        for (final RangeRequest request : new RangeRequest[] {single, prefix, fromKey}) {
            cache.put("", request, answer("v", 3), cache.generation());
        }
        cache.invalidate(b("bz"), ByteString.EMPTY);
        assertNull(cache.get("", prefix), "[b, c) holds bz");
        assertNotNull(cache.get("", single));
        assertNotNull(cache.get("", fromKey));
        cache.invalidate(b("zzz"), ByteString.EMPTY);
        assertNull(cache.get("", fromKey), "[x, end) holds zzz");
        cache.invalidate(b(""), EDGE);
        assertNull(cache.get("", single), "a delete of everything");
        final long before = cache.generation();
        cache.invalidate(b("q"), ByteString.EMPTY);
        cache.put("", single, answer("raced", 4), before);
        assertNull(cache.get("", single), "an answer sent before a write may predate it: not kept");
    }

    @Test
    void shouldEvictTheLeastRecentlyUsedPastItsBounds() {
        final RangeCache cache = new RangeCache(2, 1 << 20, TimeUnit.SECONDS.toNanos(60));
        cache.put("", range("a", ByteString.EMPTY, 0), answer("1", 1), cache.generation());
        cache.put("", range("b", ByteString.EMPTY, 0), answer("2", 1), cache.generation());
        assertNotNull(cache.get("", range("a", ByteString.EMPTY, 0)));
        cache.put("", range("c", ByteString.EMPTY, 0), answer("3", 1), cache.generation());
        assertNull(cache.get("", range("b", ByteString.EMPTY, 0)), "b was the least recently used");
        assertEquals(2, cache.size());
        assertTrue(RangeCache.overlaps(b("a"), b("c"), b("b"), ByteString.EMPTY));
        assertFalse(RangeCache.overlaps(b("a"), b("c"), b("c"), ByteString.EMPTY), "the end is exclusive");
        assertTrue(RangeCache.overlaps(b("a"), ByteString.EMPTY, b("a"), ByteString.EMPTY));
        assertFalse(RangeCache.overlaps(b("a"), ByteString.EMPTY, b("a\0"), ByteString.EMPTY));
    }
}
