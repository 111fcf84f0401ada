package io.cairn.engine.snapshot;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;

/**
 * Reads a bbolt database file (bbolt 1.3's layout, etcd 3.4's backend; see {@link BoltWriter} for the layout) as
 * untrusted input: every page ID, count, offset and length is checked against the file before it is used, no page is
 * visited twice, keys must ascend, and the first thing wrong is reported as a {@link CorruptSnapshotException} that
 * says where. Of the two meta pages the valid one with the higher transaction ID is used, as bbolt does. Pages are
 * read with positional reads, one at a time, so a file of any size is read in bounded memory.
 */
public final class BoltReader implements AutoCloseable {
    /** bbolt's meta freelist value when the freelist is not written (etcd 3.4's {@code NoFreelistSync}). */
    static final long NO_FREELIST = -1L;
    private static final int DEPTH_MAX = 64;
    private static final long SPAN_MAX = 1L << 30;

    /** Gets the entries of a bucket, in key order. */
    @FunctionalInterface
    public interface Visitor {
        /**
         * @param key    the key.
         * @param value  the value (a bucket's: its 16-byte header, then an inline bucket's page).
         * @param bucket true when the entry is a nested bucket.
         * @throws IOException to stop the walk with that error.
         */
        void onEntry(byte[] key, byte[] value, boolean bucket) throws IOException;
    }

    private final Path file;
    private final FileChannel channel;
    private final long length;
    private int pageSize;
    private long highWater;
    private long rootPage;
    private long txid;
    private BitSet visited;

    private BoltReader(final Path file, final long length) throws IOException {
        this.file = file;
        this.channel = FileChannel.open(file, StandardOpenOption.READ);
        this.length = length < 0 ? channel.size() : Math.min(length, channel.size());
    }

    /**
     * Opens a bbolt file and checks its meta pages.
     *
     * @param file   the file.
     * @param length how many of its bytes are the database (-1: all; etcd's snapshot has a SHA-256 after it).
     * @return the reader.
     * @throws CorruptSnapshotException if neither meta page is valid.
     * @throws IOException              if the file cannot be read.
     */
    public static BoltReader open(final Path file, final long length) throws IOException {
        final BoltReader reader = new BoltReader(file, length);
        try {
            reader.readMeta();
            return reader;
        } catch (final IOException | RuntimeException ex) {
            reader.close();
            throw ex;
        }
    }

    /**
     * @param file a file.
     * @return true when it starts with a bbolt meta page (magic and version; nothing else checked).
     * @throws IOException if it cannot be read.
     */
    public static boolean isBolt(final Path file) throws IOException {
        try (FileChannel in = FileChannel.open(file, StandardOpenOption.READ)) {
            final ByteBuffer head = ByteBuffer.allocate(BoltWriter.PAGE_HEADER + 8).order(ByteOrder.LITTLE_ENDIAN);
            int read = 0;
            while (head.hasRemaining() && read >= 0) {
                read = in.read(head, head.position());
            }
            return head.position() == head.capacity()
                && head.getInt(BoltWriter.PAGE_HEADER) == BoltWriter.MAGIC
                && head.getInt(BoltWriter.PAGE_HEADER + 4) == BoltWriter.VERSION;
        }
    }

    /**
     * @return the transaction ID of the meta page in use.
     */
    public long txid() {
        return txid;
    }

    /**
     * @return the database's page size.
     */
    public int pageSize() {
        return pageSize;
    }

    /**
     * @return the names of the top-level buckets, in order.
     * @throws IOException if the root bucket is damaged.
     */
    public List<String> buckets() throws IOException {
        final List<String> names = new ArrayList<>();
        walk(rootPage, null, (key, value, bucket) -> {
            if (bucket) {
                names.add(new String(key, StandardCharsets.UTF_8));
            }
        });
        return names;
    }

    /**
     * Visits every entry of a top-level bucket, in key order.
     *
     * @param name    the bucket's name.
     * @param visitor gets each entry.
     * @return false when there is no such bucket.
     * @throws CorruptSnapshotException if a page on the way is damaged.
     * @throws IOException              if the file cannot be read or the visitor throws.
     */
    public boolean forEach(final String name, final Visitor visitor) throws IOException {
        final byte[] wanted = name.getBytes(StandardCharsets.UTF_8);
        final byte[][] header = new byte[1][];
        walk(rootPage, null, (key, value, bucket) -> {
            if (bucket && Arrays.equals(key, wanted)) {
                header[0] = value;
            }
        });
        if (header[0] == null) {
            return false;
        }
        final byte[] value = header[0];
        if (value.length < BoltWriter.BUCKET_HEADER) {
            throw corrupt("bucket " + name + "'s header is " + value.length + " bytes");
        }
        final long root = ByteBuffer.wrap(value).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        if (root == 0) {
            walk(0, Arrays.copyOfRange(value, BoltWriter.BUCKET_HEADER, value.length), visitor);
        } else {
            walk(root, null, visitor);
        }
        return true;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }

    private void readMeta() throws IOException {
        if (length < 1024) {
            throw corrupt("file of " + length + " bytes is too small for a bbolt database");
        }
        final ByteBuffer first = readAt(0, (int)Math.min(length, 4096));
        long[] best = meta(first, 0);
        final int size = best != null ? (int)best[0] : first.getInt(BoltWriter.PAGE_HEADER + 8);
        long[] second = null;
        if (size >= 512 && size <= 65536 && Integer.bitCount(size) == 1 && 2L * size <= length) {
            second = meta(readAt(size, size), 1);
        }
        if (second != null && (best == null || second[4] > best[4] && second[0] == best[0])) {
            best = second;
        }
        if (best == null) {
            throw corrupt("neither bbolt meta page is valid (magic, version 2 and checksum)");
        }
        pageSize = (int)best[0];
        rootPage = best[1];
        highWater = best[3];
        txid = best[4];
        if (highWater < 3 || highWater > length / pageSize) {
            throw corrupt("meta says " + highWater + " pages of " + pageSize + " bytes, file has " + length
                + " bytes");
        }
        if (rootPage < 2 || rootPage >= highWater) {
            throw corrupt("root bucket page " + rootPage + " outside the file's " + highWater + " pages");
        }
        final long freelist = best[2];
        if (freelist != NO_FREELIST && (freelist < 2 || freelist >= highWater)) {
            throw corrupt("freelist page " + freelist + " outside the file's " + highWater + " pages");
        }
    }

    /** A meta page's {page size, root, freelist, high water, txid} if it is valid, else null. */
    private static long[] meta(final ByteBuffer page, final long id) {
        final int at = BoltWriter.PAGE_HEADER;
        if (page.capacity() < at + 64 || page.getLong(0) != id
            || (page.getShort(8) & BoltWriter.META_PAGE) == 0
            || page.getInt(at) != BoltWriter.MAGIC || page.getInt(at + 4) != BoltWriter.VERSION
            || page.getLong(at + BoltWriter.META_CHECKSUM_OFFSET)
            != BoltWriter.fnv1a64(page, at, BoltWriter.META_CHECKSUM_OFFSET)) {
            return null;
        }
        final int size = page.getInt(at + 8);
        if (size < 512 || size > 65536 || Integer.bitCount(size) != 1) {
            return null;
        }
        return new long[] {size, page.getLong(at + 16), page.getLong(at + 32), page.getLong(at + 40),
            page.getLong(at + 48)};
    }

    private void walk(final long root, final byte[] inline, final Visitor visitor) throws IOException {
        visited = new BitSet();
        final byte[][] last = new byte[1][];
        if (inline != null) {
            final ByteBuffer page = ByteBuffer.wrap(inline).order(ByteOrder.LITTLE_ENDIAN);
            if (inline.length < BoltWriter.PAGE_HEADER || (page.getShort(8) & 0xFFFF) != BoltWriter.LEAF_PAGE) {
                throw corrupt("an inline bucket's page is not a leaf");
            }
            leaf(page, "an inline bucket", visitor, last);
            return;
        }
        visit(root, 0, visitor, last);
    }

    private void visit(final long id, final int depth, final Visitor visitor, final byte[][] last)
        throws IOException {
        if (depth > DEPTH_MAX) {
            throw corrupt("tree deeper than " + DEPTH_MAX + " at page " + id);
        }
        if (id < 2 || id >= highWater) {
            throw corrupt("page " + id + " outside the file's " + highWater + " pages");
        }
        if (visited.get((int)Math.min(id, Integer.MAX_VALUE))) {
            throw corrupt("page " + id + " is reached twice");
        }
        visited.set((int)Math.min(id, Integer.MAX_VALUE));
        final ByteBuffer header = readAt(id * pageSize, BoltWriter.PAGE_HEADER);
        if (header.getLong(0) != id) {
            throw corrupt("page " + id + " says it is page " + header.getLong(0));
        }
        final int flags = header.getShort(8) & 0xFFFF;
        final long overflow = header.getInt(12) & 0xFFFF_FFFFL;
        final long span = (overflow + 1) * pageSize;
        if (id + overflow + 1 > highWater || span > SPAN_MAX) {
            throw corrupt("page " + id + "'s " + overflow + " overflow pages run past the file");
        }
        final ByteBuffer page = readAt(id * pageSize, (int)span);
        final String where = "page " + id;
        if (flags == BoltWriter.LEAF_PAGE) {
            leaf(page, where, visitor, last);
        } else if (flags == BoltWriter.BRANCH_PAGE) {
            final int count = elements(page, where);
            for (int i = 0; i < count; i++) {
                final int element = BoltWriter.PAGE_HEADER + i * BoltWriter.ELEMENT;
                slice(page, element, unsigned(page, element), unsigned(page, element + 4), 0, where);
                visit(page.getLong(element + 8), depth + 1, visitor, last);
            }
        } else {
            throw corrupt(where + " has flags " + Integer.toHexString(flags) + " where a branch or leaf belongs");
        }
    }

    private void leaf(final ByteBuffer page, final String where, final Visitor visitor, final byte[][] last)
        throws IOException {
        final int count = elements(page, where);
        for (int i = 0; i < count; i++) {
            final int element = BoltWriter.PAGE_HEADER + i * BoltWriter.ELEMENT;
            final int flags = page.getInt(element);
            if ((flags & ~BoltWriter.BUCKET_ELEMENT) != 0) {
                throw corrupt(where + " element " + i + " has flags " + Integer.toHexString(flags));
            }
            final long pos = unsigned(page, element + 4);
            final long keyLength = unsigned(page, element + 8);
            final long valueLength = unsigned(page, element + 12);
            final byte[] key = slice(page, element, pos, keyLength, valueLength, where);
            final byte[] value = slice(page, element, pos + keyLength, valueLength, 0, where);
            if (last[0] != null && Arrays.compareUnsigned(last[0], key) >= 0) {
                throw corrupt(where + " element " + i + ": keys out of order");
            }
            last[0] = key;
            visitor.onEntry(key, value, flags == BoltWriter.BUCKET_ELEMENT);
        }
    }

    private int elements(final ByteBuffer page, final String where) throws CorruptSnapshotException {
        final int count = page.getShort(10) & 0xFFFF;
        if (BoltWriter.PAGE_HEADER + (long)count * BoltWriter.ELEMENT > page.capacity()) {
            throw corrupt(where + " claims " + count + " elements, more than fit");
        }
        return count;
    }

    /** The bytes at element + pos, length long, with room for {@code after} more bytes in the page. */
    private byte[] slice(final ByteBuffer page, final int element, final long pos, final long size,
        final long after, final String where) throws CorruptSnapshotException {
        final long start = element + pos;
        if (start + size + after > page.capacity()) {
            throw corrupt(where + " has an element that runs past its end");
        }
        final byte[] bytes = new byte[(int)size];
        page.get((int)start, bytes);
        return bytes;
    }

    private static long unsigned(final ByteBuffer page, final int at) {
        return Integer.toUnsignedLong(page.getInt(at));
    }

    private ByteBuffer readAt(final long position, final int bytes) throws IOException {
        if (position + bytes > length) {
            throw corrupt("read of " + bytes + " bytes at " + position + " runs past the file's " + length);
        }
        final ByteBuffer buffer = ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
        while (buffer.hasRemaining()) {
            if (channel.read(buffer, position + buffer.position()) < 0) {
                throw corrupt("file ends at " + (position + buffer.position()));
            }
        }
        return buffer.clear();
    }

    private CorruptSnapshotException corrupt(final String reason) {
        return new CorruptSnapshotException(file, "bbolt database: " + reason);
    }
}
