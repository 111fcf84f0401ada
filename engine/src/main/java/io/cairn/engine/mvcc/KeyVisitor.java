package io.cairn.engine.mvcc;

import org.agrona.DirectBuffer;

/**
 * Receives keys as views (valid during the call).
 */
@FunctionalInterface
public interface KeyVisitor {
    /**
     * @param buffer holds the key.
     * @param offset where it starts.
     * @param length its length.
     */
    void onKey(DirectBuffer buffer, int offset, int length);
}
