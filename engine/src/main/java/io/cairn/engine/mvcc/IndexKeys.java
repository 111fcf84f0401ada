package io.cairn.engine.mvcc;

import io.cairn.engine.check.Check;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.security.GeneralSecurityException;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The LMDB key a user key is indexed under in {@code keys} and {@code lease_keys}. LMDB's keys stop at
 * {@link #DIRECT_MAX} bytes; etcd's keys stop only at the request size. A key up to that limit is its own index key
 * (so every store written before long keys existed reads as it is); a longer one is indexed as its first
 * {@link #GROUP_PREFIX} bytes followed by a 16-byte keyed digest of the whole key (HMAC-SHA-256 under the store's own
 * random salt, {@link Tables#indexSalt}, so that nobody can choose a key whose index key another key already has).
 *
 * <p>Byte order survives everywhere but inside a <em>group</em>: the index keys of {@link #GROUP_PREFIX} bytes or more
 * that share their first {@link #GROUP_PREFIX} bytes. Two index keys that differ before that point compare as their
 * keys do; inside a group the digest decides, so a scan that meets a group gathers it (it is contiguous in LMDB's
 * order), takes each key from its record, and sorts by the real keys ({@code Keyspace.scan}). Lookups of one key
 * compare the record's key with the key asked for where the index key may be a digest.
 */
final class IndexKeys {
    /** LMDB's key limit: keys up to it are their own index key. */
    static final int DIRECT_MAX = MvccStore.KEY_BYTES_MAX;
    /** Index keys this long or longer belong to the group of their first this-many bytes. */
    static final int GROUP_PREFIX = 495;
    static final int DIGEST_BYTES = DIRECT_MAX - GROUP_PREFIX;

    private final UnsafeBuffer view = new UnsafeBuffer(0, 0);
    private final UnsafeBuffer scratch = Tables.direct(DIRECT_MAX + 1);
    private byte[] heap = new byte[1024];
    private final byte[] digest = new byte[32];
    private Mac mac;
    private byte[] macSalt;

    /**
     * @return the index key of {@code key}, in memory LMDB can read; valid until the next call.
     */
    DirectBuffer of(final Tables tables, final DirectBuffer key, final int offset, final int length) {
        if (length <= DIRECT_MAX) {
            return Tables.offHeap(key, offset, length, view, scratch);
        }
        scratch.putBytes(0, key, offset, GROUP_PREFIX);
        if (heap.length < length) {
            heap = new byte[Math.max(length, heap.length * 2)];
        }
        key.getBytes(offset, heap, 0, length);
        final Mac keyed = mac(tables.indexSalt());
        keyed.update(heap, 0, length);
        try {
            keyed.doFinal(digest, 0);
        } catch (final GeneralSecurityException ex) {
            throw new IllegalStateException("HMAC-SHA-256 failed", ex);
        }
        scratch.putBytes(GROUP_PREFIX, digest, 0, DIGEST_BYTES);
        view.wrap(scratch, 0, DIRECT_MAX);
        return view;
    }

    /**
     * @param indexKeyLength an index key's length.
     * @return true when the key may be in a group (its order among its group is not the index's).
     */
    static boolean grouped(final int indexKeyLength) {
        return indexKeyLength >= GROUP_PREFIX;
    }

    /**
     * @param keyLength a key's length.
     * @return true when its index key may be a digest (or a digest may equal it): the record must say the key.
     */
    static boolean checkRecord(final int keyLength) {
        return keyLength >= DIRECT_MAX;
    }

    private Mac mac(final byte[] salt) {
        Check.state(salt != null, "the store has no index salt");
        if (mac == null || salt != macSalt) {
            try {
                mac = Mac.getInstance("HmacSHA256");
                mac.init(new SecretKeySpec(salt, "HmacSHA256"));
            } catch (final GeneralSecurityException ex) {
                throw new IllegalStateException("no HMAC-SHA-256 in this JVM", ex);
            }
            macSalt = salt;
        }
        return mac;
    }
}
