package io.cairn.embedded;

import org.agrona.DirectBuffer;

/**
 * The answer to a write on the zero-allocation path ({@link CairnNode#write(DirectBuffer, int, WriteHandler, long)},
 * {@link KvClient#put(DirectBuffer, int, int, DirectBuffer, int, int, long, WriteHandler, long)}): called exactly once
 * per write, on the node's loop thread once this member applied it, or on the calling thread when the write is refused
 * before it reaches the loop, or on the node's watchdog when it times out. It must return at once and throw nothing:
 * the loop waits for it. One handler can serve every write (the {@code context} tells them apart), so a steady
 * stream of writes allocates nothing.
 */
@FunctionalInterface
public interface WriteHandler {
    /**
     * @param context  the value the caller gave with the write.
     * @param error    null when the write was applied; otherwise why not ({@link CairnError#LEADER_CHANGED} and
     *                 {@link CairnError#TIMEOUT}: it may or may not have been applied).
     * @param response the keyspace's response ({@code MvccResponse}'s layout: revision, previous value…), a view
     *                 valid only during this call; null when {@code error} is not.
     * @param offset   where the response starts.
     * @param length   its length.
     */
    void onWritten(long context, CairnError error, DirectBuffer response, int offset, int length);
}
