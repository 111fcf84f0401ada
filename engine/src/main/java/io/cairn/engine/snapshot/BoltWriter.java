package io.cairn.engine.snapshot;

import org.agrona.ExpandableArrayBuffer;
import org.agrona.collections.LongArrayList;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Writes a bbolt database file — bbolt 1.3's layout, the one etcd 3.4 keeps its backend in — from top-level buckets
 * and their keys, each given once, in byte order. The file is written front to back in one pass, so a bucket of any
 * size costs memory only for one page and for the first key of each page: leaves are packed as full as a page allows
 * (a value larger than a page gets overflow pages, as bbolt does), branch levels are built over them, and the two meta
 * pages (FNV-1a checksummed) go last. No page is free; the freelist page is written, empty.
 *
 * <pre>
 * page      id u64, flags u16 (branch 1, leaf 2, meta 4, freelist 0x10), count u16, overflow u32
 * leaf      count × {flags u32 (1: a bucket), pos u32, ksize u32, vsize u32}, then keys and values; pos counts from
 *           the element itself
 * branch    count × {pos u32, ksize u32, child pgid u64}, then the keys (each child's first key)
 * meta      at offset 16 of pages 0 and 1: magic 0xED0CDAED, version 2, page size, flags, root bucket {pgid u64,
 *           sequence u64}, freelist pgid, high-water pgid, txid, FNV-1a 64 of the 56 bytes before it
 * bucket    a leaf element flagged 1 whose value is {root pgid u64, sequence u64}
 * </pre>
 *
 * <p>Every number is little-endian: bbolt writes its structs in the machine's order, and etcd runs on little-endian
 * machines (amd64, arm64).
 */
public final class BoltWriter implements AutoCloseable {
    static final int MAGIC = 0xED0CDAED;
    static final int VERSION = 2;
    static final int PAGE_HEADER = 16;
    static final int ELEMENT = 16;
    static final int BUCKET_HEADER = 16;
    static final int META_CHECKSUM_OFFSET = 56;
    static final int BRANCH_PAGE = 0x01;
    static final int LEAF_PAGE = 0x02;
    static final int META_PAGE = 0x04;
    static final int FREELIST_PAGE = 0x10;
    static final int BUCKET_ELEMENT = 0x01;
    /** The page size etcd's bbolt uses on Linux (the OS page). */
    public static final int PAGE_SIZE = 4096;

    private final Path file;
    private final FileChannel channel;
    private final int pageSize;
    private long nextPage = 2;

    private final List<byte[]> bucketNames = new ArrayList<>();
    private final LongArrayList bucketRoots = new LongArrayList();
    private byte[] bucket;
    private byte[] lastKey;
    private final Level leaves = new Level();
    private boolean finished;

    private BoltWriter(final Path file, final int pageSize) throws IOException {
        this.file = file;
        this.pageSize = pageSize;
        this.channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
            StandardOpenOption.WRITE);
    }

    /**
     * @param file     the database file to write (replaced if present).
     * @param pageSize bbolt's page size ({@link #PAGE_SIZE} for etcd); a power of two, at least 1,024.
     * @return a writer with no bucket open.
     * @throws IOException if the file cannot be created.
     */
    public static BoltWriter create(final Path file, final int pageSize) throws IOException {
        if (pageSize < 1024 || Integer.bitCount(pageSize) != 1) {
            throw new IllegalArgumentException("bbolt page size must be a power of two of at least 1024: " + pageSize);
        }
        return new BoltWriter(file, pageSize);
    }

    /**
     * Starts the next top-level bucket (the previous one ends). Names come in byte order.
     *
     * @param name the bucket's name.
     * @throws IOException if the previous bucket cannot be written.
     */
    public void bucket(final byte[] name) throws IOException {
        checkOpen();
        endBucket();
        if (!bucketNames.isEmpty() && Arrays.compareUnsigned(bucketNames.get(bucketNames.size() - 1), name) >= 0) {
            throw new IllegalArgumentException("bucket names must come in byte order: " + new String(name,
                java.nio.charset.StandardCharsets.UTF_8));
        }
        bucket = name.clone();
        lastKey = null;
    }

    /**
     * Adds a key to the open bucket. Keys come in byte order, each once.
     *
     * @param key         the key (1 to 32,768 bytes, bbolt's limit).
     * @param keyOffset   where it starts.
     * @param keyLength   its length.
     * @param value       the value.
     * @param valueOffset where it starts.
     * @param valueLength its length (bbolt allows up to 2 GiB - 2).
     * @throws IOException if a page cannot be written.
     */
    public void put(final byte[] key, final int keyOffset, final int keyLength,
        final byte[] value, final int valueOffset, final int valueLength) throws IOException {
        checkOpen();
        if (bucket == null) {
            throw new IllegalStateException("no bucket open");
        }
        if (keyLength <= 0 || keyLength > 32768) {
            throw new IllegalArgumentException("bbolt keys are 1 to 32,768 bytes: " + keyLength);
        }
        if (lastKey != null && Arrays.compareUnsigned(lastKey, 0, lastKey.length, key, keyOffset,
            keyOffset + keyLength) >= 0) {
            throw new IllegalArgumentException("keys must come in byte order, each once");
        }
        lastKey = Arrays.copyOfRange(key, keyOffset, keyOffset + keyLength);
        leaves.add(key, keyOffset, keyLength, value, valueOffset, valueLength, 0, this);
    }

    /**
     * Ends the last bucket and writes the root bucket, the freelist and the meta pages, then forces the file to disk.
     *
     * @param txid the transaction ID the meta pages carry (the second page carries one more).
     * @return the file's length in bytes (a whole number of pages).
     * @throws IOException if it cannot be written.
     */
    public long finish(final long txid) throws IOException {
        checkOpen();
        endBucket();
        final Level root = new Level();
        final byte[] header = new byte[BUCKET_HEADER];
        final ByteBuffer headerView = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < bucketNames.size(); i++) {
            final byte[] name = bucketNames.get(i);
            headerView.putLong(0, bucketRoots.getLong(i)).putLong(8, 0);
            root.add(name, 0, name.length, header, 0, header.length, BUCKET_ELEMENT, this);
        }
        final long rootPage = root.close(this);
        final long freelistPage = nextPage++;
        final ByteBuffer page = page(1);
        writePageHeader(page, freelistPage, FREELIST_PAGE, 0, 0);
        write(page, freelistPage);
        for (int i = 0; i < 2; i++) {
            final ByteBuffer meta = page(1);
            writePageHeader(meta, i, META_PAGE, 0, 0);
            meta.putInt(PAGE_HEADER, MAGIC).putInt(PAGE_HEADER + 4, VERSION).putInt(PAGE_HEADER + 8, pageSize)
                .putInt(PAGE_HEADER + 12, 0).putLong(PAGE_HEADER + 16, rootPage).putLong(PAGE_HEADER + 24, 0)
                .putLong(PAGE_HEADER + 32, freelistPage).putLong(PAGE_HEADER + 40, nextPage)
                .putLong(PAGE_HEADER + 48, txid + i);
            meta.putLong(PAGE_HEADER + META_CHECKSUM_OFFSET, fnv1a64(meta, PAGE_HEADER, META_CHECKSUM_OFFSET));
            write(meta, i);
        }
        channel.force(true);
        finished = true;
        return nextPage * pageSize;
    }

    /** FNV-1a, 64 bits: bbolt's meta checksum. */
    static long fnv1a64(final ByteBuffer bytes, final int offset, final int length) {
        long hash = 0xcbf29ce484222325L;
        for (int i = offset; i < offset + length; i++) {
            hash ^= bytes.get(i) & 0xFF;
            hash *= 0x100000001b3L;
        }
        return hash;
    }

    @Override
    public void close() throws IOException {
        channel.close();
        if (!finished) {
            java.nio.file.Files.deleteIfExists(file);
        }
    }

    private void checkOpen() {
        if (finished) {
            throw new IllegalStateException("finished");
        }
    }

    private void endBucket() throws IOException {
        if (bucket == null) {
            return;
        }
        bucketNames.add(bucket);
        bucketRoots.addLong(leaves.close(this));
        leaves.reset();
        bucket = null;
    }

    private ByteBuffer page(final int pages) {
        return ByteBuffer.allocate(pages * pageSize).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static void writePageHeader(final ByteBuffer page, final long id, final int flags, final int count,
        final int overflow) {
        page.putLong(0, id).putShort(8, (short)flags).putShort(10, (short)count).putInt(12, overflow);
    }

    private void write(final ByteBuffer page, final long id) throws IOException {
        page.clear();
        long position = id * pageSize;
        while (page.hasRemaining()) {
            position += channel.write(page, position);
        }
    }

    /**
     * One level of a bucket's tree being built: the page filling now (leaf or branch), and for each page written the
     * first key and page ID, which become the elements of the level above.
     */
    private static final class Level {
        private final ExpandableArrayBuffer data = new ExpandableArrayBuffer(8192);
        private final LongArrayList elements = new LongArrayList(); // per element: (flags << 48 | data offset)
        private final org.agrona.collections.IntArrayList lengths = new org.agrona.collections.IntArrayList();
        private int dataBytes;
        private final List<byte[]> firstKeys = new ArrayList<>();
        private final LongArrayList pages = new LongArrayList();
        private boolean branch;

        void reset() {
            elements.clear();
            lengths.clear();
            dataBytes = 0;
            firstKeys.clear();
            pages.clear();
            branch = false;
        }

        /** Adds a leaf element (or, with {@link #branch}, a branch element whose "value" is the child's pgid). */
        void add(final byte[] key, final int keyOffset, final int keyLength,
            final byte[] value, final int valueOffset, final int valueLength, final int elementFlags,
            final BoltWriter writer) throws IOException {
            final int count = elements.size();
            final long bytes = PAGE_HEADER + (long)(count + 1) * ELEMENT + dataBytes + keyLength + valueLength;
            if (count > 0 && (bytes > writer.pageSize || count == 0xFFFE)) {
                flush(writer);
            }
            if (elements.isEmpty()) {
                firstKeys.add(Arrays.copyOfRange(key, keyOffset, keyOffset + keyLength));
            }
            elements.addLong((long)elementFlags << 48 | dataBytes);
            lengths.addInt(keyLength);
            lengths.addInt(valueLength);
            data.putBytes(dataBytes, key, keyOffset, keyLength);
            data.putBytes(dataBytes + keyLength, value, valueOffset, valueLength);
            dataBytes += keyLength + valueLength;
        }

        private void flush(final BoltWriter writer) throws IOException {
            final int count = elements.size();
            final long total = PAGE_HEADER + (long)count * ELEMENT + dataBytes;
            final long span = (total + writer.pageSize - 1) / writer.pageSize;
            if (span * writer.pageSize > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException("a bbolt element of " + total + " bytes is too large");
            }
            final long id = writer.nextPage;
            final ByteBuffer page = writer.page((int)span);
            writePageHeader(page, id, branch ? BRANCH_PAGE : LEAF_PAGE, count, (int)(span - 1));
            final int dataStart = PAGE_HEADER + count * ELEMENT;
            for (int i = 0; i < count; i++) {
                final int element = PAGE_HEADER + i * ELEMENT;
                final long packed = elements.getLong(i);
                final int offset = (int)(packed & 0xFFFF_FFFFL);
                final int keyLength = lengths.getInt(2 * i);
                final int valueLength = lengths.getInt(2 * i + 1);
                final int pos = dataStart + offset - element;
                if (branch) {
                    page.putInt(element, pos).putInt(element + 4, keyLength)
                        .putLong(element + 8, data.getLong(offset + keyLength, ByteOrder.LITTLE_ENDIAN));
                    page.put(dataStart + offset, data.byteArray(), offset, keyLength);
                } else {
                    page.putInt(element, (int)(packed >>> 48)).putInt(element + 4, pos)
                        .putInt(element + 8, keyLength).putInt(element + 12, valueLength);
                    page.put(dataStart + offset, data.byteArray(), offset, keyLength + valueLength);
                }
            }
            writer.write(page, id);
            writer.nextPage += span;
            pages.addLong(id);
            elements.clear();
            lengths.clear();
            dataBytes = 0;
        }

        /**
         * Writes what is pending and the branch levels above this level.
         *
         * @return the root page of the tree (an empty leaf for an empty bucket).
         */
        long close(final BoltWriter writer) throws IOException {
            if (!elements.isEmpty() || pages.isEmpty()) {
                if (elements.isEmpty()) {
                    firstKeys.add(new byte[0]);
                }
                flush(writer);
            }
            List<byte[]> keys = new ArrayList<>(firstKeys);
            LongArrayList children = new LongArrayList();
            children.addAll(pages);
            final byte[] child = new byte[Long.BYTES];
            final ByteBuffer childView = ByteBuffer.wrap(child).order(ByteOrder.LITTLE_ENDIAN);
            while (children.size() > 1) {
                final Level above = new Level();
                above.branch = true;
                for (int i = 0; i < children.size(); i++) {
                    final byte[] key = keys.get(i);
                    childView.putLong(0, children.getLong(i));
                    above.add(key, 0, key.length, child, 0, Long.BYTES, 0, writer);
                }
                above.flush(writer);
                keys = above.firstKeys;
                children = above.pages;
            }
            return children.getLong(0);
        }
    }
}
