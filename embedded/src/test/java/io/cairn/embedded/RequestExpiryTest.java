package io.cairn.embedded;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: a request that nobody answers fails at its deadline with etcd's "request timed out", and nothing else does.
 * Method: the watchdog's sweep over futures with deadlines before, at and after now, and one already answered.
 */
class RequestExpiryTest {
    @Test
    void shouldTimeOutOnlyTheRequestsPastTheirDeadline() throws Exception {
        final long nowNs = System.nanoTime();
        final Requests.Deadlined<Long> late = new Requests.Deadlined<>(nowNs - TimeUnit.SECONDS.toNanos(1));
        final Requests.Deadlined<Long> due = new Requests.Deadlined<>(nowNs);
        final Requests.Deadlined<Long> early = new Requests.Deadlined<>(nowNs + TimeUnit.SECONDS.toNanos(1));
        final Requests.Deadlined<Long> answered = new Requests.Deadlined<>(nowNs - 1);
        answered.complete(7L);
        final CompletableFuture<Long> plain = new CompletableFuture<>(); // no deadline of its own: left alone
        Requests.expire(List.of(late, due, early, answered, plain), nowNs);

        for (final Requests.Deadlined<Long> timedOut : List.of(late, due)) {
            final ExecutionException failure = assertThrows(ExecutionException.class, timedOut::get);
            final CairnException cause = CairnException.find(failure);
            assertEquals(CairnError.TIMEOUT, cause.error());
            assertEquals("etcdserver: request timed out", cause.getMessage());
        }
        assertFalse(early.isDone(), "a request before its deadline waits on");
        assertEquals(7L, answered.get(), "an answer stands");
        assertFalse(plain.isDone());

        Requests.expire(List.of(early), nowNs + TimeUnit.SECONDS.toNanos(1));
        assertTrue(early.isCompletedExceptionally(), "and times out once its deadline passes");
    }
}
