package io.cairn.engine.mvcc;

import org.agrona.DirectBuffer;
import org.agrona.ExpandableDirectByteBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.lmdbjava.Cursor;
import org.lmdbjava.Env;
import org.lmdbjava.Txn;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;

/**
 * Test support for the modules above: damage a closed keyspace the way a disk or a bug would, behind Raft's back.
 */
public final class StoreDamage {
    private StoreDamage() {
    }

    /**
     * Applies a put to the store without a log entry (its applied index stays): the store then holds a write that no
     * other member has, and its revisions run one ahead.
     *
     * @param storeDir the keyspace's directory (a member's {@code kv}); the store must be closed.
     * @param key      the key.
     * @param value    the value.
     * @throws IOException if it cannot be opened.
     */
    public static void applyOutsideTheLog(final Path storeDir, final byte[] key, final byte[] value)
        throws IOException {
        try (MvccStore store = MvccStore.open(MvccConfig.defaults(storeDir))) {
            final CommandEncoder encoder = new CommandEncoder().put(key, value, 0, 0);
            store.beginBatch();
            store.apply(encoder.buffer(), 0, encoder.length(), new ExpandableDirectByteBuffer(256), 0);
            store.commit(store.appliedIndex(), store.appliedTerm());
        }
    }

    /**
     * Flips one bit in the last byte of the newest stored revision's record (bit rot: same revisions, other bytes).
     *
     * @param storeDir the keyspace's directory; the store must be closed.
     * @throws IOException if it cannot be opened.
     */
    public static void flipNewestRevisionBit(final Path storeDir) throws IOException {
        try (Env<DirectBuffer> env = StoreFiles.open(MvccConfig.defaults(storeDir))) {
            final Tables tables = new Tables(env);
            try (Txn<DirectBuffer> txn = env.txnWrite()) {
                final byte[] key;
                final byte[] record;
                try (Cursor<DirectBuffer> cursor = tables.revs.openCursor(txn)) {
                    if (!cursor.last()) {
                        throw new IllegalStateException("an empty keyspace: nothing to damage in " + storeDir);
                    }
                    key = new byte[cursor.key().capacity()];
                    cursor.key().getBytes(0, key);
                    record = new byte[cursor.val().capacity()];
                    cursor.val().getBytes(0, record);
                }
                record[record.length - 1] ^= 0x20;
                tables.revs.put(txn, direct(key), direct(record));
                txn.commit();
            }
        }
    }

    private static DirectBuffer direct(final byte[] bytes) {
        final UnsafeBuffer buffer = new UnsafeBuffer(ByteBuffer.allocateDirect(bytes.length));
        buffer.putBytes(0, bytes);
        return buffer;
    }
}
