package io.cairn.engine.mvcc;

import io.cairn.engine.check.Check;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.lmdbjava.Dbi;
import org.lmdbjava.DbiFlags;
import org.lmdbjava.Env;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The LMDB tables of one keyspace and their key layouts. All keys are big-endian so LMDB's byte order is numeric
 * order.
 *
 * <pre>
 * revs        revision (main 8, sub 8)          → record ({@link KeyValueView}); every change, in revision order
 * keys        user key (dup-sorted, fixed 16)   → (Long.MAX_VALUE - main 8, sub 8): a key's revisions, newest first
 * leases      lease ID (8)                      → granted TTL seconds (8, little-endian)
 * lease_keys  lease ID (8) (dup-sorted)         → user key: the keys attached to a lease now
 * alarms      alarm (1) member ID (8)           → nothing: the alarms raised
 * meta        "state"                           → applied index, applied term, revision, compacted revision,
 *                                                  physical compaction position (main, sub): 6 longs, little-endian
 *             "format"                          → the store's format (int)
 *             "indexSalt"                       → 32 random bytes: the key of long keys' digests ({@link IndexKeys})
 * </pre>
 */
final class Tables {
    static final ByteOrder KEY_ORDER = ByteOrder.BIG_ENDIAN;
    static final int REVISION_KEY_BYTES = 16;
    static final int STATE_APPLIED_INDEX = 0;
    static final int STATE_APPLIED_TERM = 8;
    static final int STATE_REVISION = 16;
    static final int STATE_COMPACT_REVISION = 24;
    static final int STATE_COMPACT_SCAN_MAIN = 32;
    static final int STATE_COMPACT_SCAN_SUB = 40;
    static final int STATE_BYTES = 48;
    static final int FORMAT = 1;
    /** The meta table's key for the format number, and for the state record. */
    static final String FORMAT_KEY = "format";
    static final String STATE_KEY = "state";

    final Env<DirectBuffer> env;
    final Dbi<DirectBuffer> revs;
    final Dbi<DirectBuffer> keys;
    final Dbi<DirectBuffer> leases;
    final Dbi<DirectBuffer> leaseKeys;
    final Dbi<DirectBuffer> alarms;
    final Dbi<DirectBuffer> meta;
    /** etcd's authentication state: users, roles, the enabled flag and {@link #AUTH_REVISION_KEY} (AUTH commands). */
    final Dbi<DirectBuffer> auth;
    final UnsafeBuffer stateKey;
    final UnsafeBuffer formatKey;
    /** Present once any compaction was applied (one to revision 0 included): etcd's "compacted at -1" start. */
    final UnsafeBuffer compactedKey;

    /** The meta table's key for {@link #indexSalt()}. */
    static final String INDEX_SALT_KEY = "indexSalt";
    static final int INDEX_SALT_BYTES = 32;
    private volatile byte[] indexSalt;

    Tables(final Env<DirectBuffer> env) {
        this.env = env;
        this.revs = env.openDbi("revs", DbiFlags.MDB_CREATE);
        this.keys = env.openDbi("keys", DbiFlags.MDB_CREATE, DbiFlags.MDB_DUPSORT, DbiFlags.MDB_DUPFIXED);
        this.leases = env.openDbi("leases", DbiFlags.MDB_CREATE);
        this.leaseKeys = env.openDbi("lease_keys", DbiFlags.MDB_CREATE, DbiFlags.MDB_DUPSORT);
        this.alarms = env.openDbi("alarms", DbiFlags.MDB_CREATE);
        this.meta = env.openDbi("meta", DbiFlags.MDB_CREATE);
        this.auth = env.openDbi("auth", DbiFlags.MDB_CREATE);
        this.stateKey = ascii(STATE_KEY);
        this.formatKey = ascii(FORMAT_KEY);
        this.compactedKey = ascii("compacted");
        try (org.lmdbjava.Txn<DirectBuffer> txn = env.txnRead()) {
            final DirectBuffer salt = meta.get(txn, ascii(INDEX_SALT_KEY));
            if (salt != null) {
                final byte[] bytes = new byte[salt.capacity()];
                salt.getBytes(0, bytes);
                indexSalt = bytes;
            }
        }
    }

    /**
     * @return the salt of long keys' index digests (null until {@link #ensureIndexSalt} on a store that had none).
     */
    byte[] indexSalt() {
        return indexSalt;
    }

    /**
     * Gives a store its salt if it has none yet (a new store, or one written before long keys existed: it holds no
     * key that needs one). Copies of the file carry it.
     */
    void ensureIndexSalt() {
        if (indexSalt != null) {
            return;
        }
        final byte[] bytes = new byte[INDEX_SALT_BYTES];
        new java.security.SecureRandom().nextBytes(bytes);
        final UnsafeBuffer value = direct(INDEX_SALT_BYTES);
        value.putBytes(0, bytes);
        try (org.lmdbjava.Txn<DirectBuffer> txn = env.txnWrite()) {
            meta.put(txn, ascii(INDEX_SALT_KEY), value);
            txn.commit();
        }
        indexSalt = bytes;
    }

    static final int DATABASES = 7;
    /** The auth table's key for the auth revision (8 bytes, big-endian, as etcd's {@code authRevision}). */
    static final String AUTH_REVISION_KEY = "authRevision";

    static UnsafeBuffer ascii(final String text) {
        final UnsafeBuffer buffer = new UnsafeBuffer(ByteBuffer.allocateDirect(text.length()));
        buffer.putStringWithoutLengthAscii(0, text);
        return buffer;
    }

    static UnsafeBuffer direct(final int bytes) {
        return new UnsafeBuffer(ByteBuffer.allocateDirect(bytes));
    }

    static void revisionKey(final MutableDirectBuffer target, final long main, final long sub) {
        target.putLong(0, main, KEY_ORDER);
        target.putLong(8, sub, KEY_ORDER);
    }

    static void keyRevision(final MutableDirectBuffer target, final long main, final long sub) {
        target.putLong(0, Long.MAX_VALUE - main, KEY_ORDER);
        target.putLong(8, sub, KEY_ORDER);
    }

    static long keyRevisionMain(final DirectBuffer dup) {
        return Long.MAX_VALUE - dup.getLong(0, KEY_ORDER);
    }

    static long keyRevisionSub(final DirectBuffer dup) {
        return dup.getLong(8, KEY_ORDER);
    }

    /**
     * LMDB reads key and value memory by absolute address: a heap buffer's "address" is an array offset, so bytes in
     * a heap buffer are copied off-heap first.
     */
    static DirectBuffer offHeap(
        final DirectBuffer source, final int offset, final int length, final UnsafeBuffer view,
        final UnsafeBuffer scratch) {
        Check.state(length > 0, "LMDB keys are never empty");
        if (source.byteArray() == null && source.addressOffset() != 0) {
            view.wrap(source, offset, length);
        } else {
            Check.state(length <= scratch.capacity(), "key longer than the scratch space", length);
            scratch.putBytes(0, source, offset, length);
            view.wrap(scratch, 0, length);
        }
        return view;
    }

    /**
     * Unsigned lexicographic comparison, shorter first on a common prefix: LMDB's and etcd's key order.
     */
    static int compare(
        final DirectBuffer a, final int aOffset, final int aLength,
        final DirectBuffer b, final int bOffset, final int bLength) {
        final int common = Math.min(aLength, bLength);
        int i = 0;
        for (; i + Long.BYTES <= common; i += Long.BYTES) {
            final long x = a.getLong(aOffset + i, KEY_ORDER);
            final long y = b.getLong(bOffset + i, KEY_ORDER);
            if (x != y) {
                return Long.compareUnsigned(x, y);
            }
        }
        for (; i < common; i++) {
            final int x = a.getByte(aOffset + i) & 0xFF;
            final int y = b.getByte(bOffset + i) & 0xFF;
            if (x != y) {
                return x - y;
            }
        }
        return aLength - bLength;
    }

    /**
     * The one reading of a stored format number, for the store that opens a file and for a reader of a copy.
     *
     * @param value the meta table's {@link #FORMAT_KEY} value, or null when there is none (a new file).
     * @return the format it names, or -1 if it is not a format number.
     */
    static int formatOf(final DirectBuffer value) {
        return value != null && value.capacity() == Integer.BYTES ? value.getInt(0, KeyValueView.ORDER) : -1;
    }
}
