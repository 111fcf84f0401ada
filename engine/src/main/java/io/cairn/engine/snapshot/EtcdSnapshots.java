package io.cairn.engine.snapshot;

import io.cairn.engine.mvcc.KeyspaceExport;
import io.cairn.engine.mvcc.MvccReader;
import io.cairn.engine.mvcc.MvccStore;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.LongUnaryOperator;

/**
 * etcd 3.4's snapshot format, both ways: the keyspace written as the bbolt database etcd's backend is (what
 * {@code etcdctl snapshot save} receives from etcd), and such a file — etcd's or Cairn's — read into a new store.
 *
 * <pre>
 * alarm            marshalled etcdserverpb.AlarmMember {MemberID, Alarm}  → empty
 * auth             "authEnabled" → 1 byte, "authRevision" → 8 bytes big-endian
 * authRoles        role name → authpb.Role        authUsers   user name → authpb.User
 * cluster          "clusterVersion" → "3.4.0"
 * key              revision (main '_' sub, big-endian; + 't' for a deletion) → mvccpb.KeyValue
 * lease            lease ID (8 bytes big-endian) → leasepb.Lease {ID, TTL}
 * members          member ID (hex) → etcd's membership JSON        members_removed   (empty)
 * meta             "consistent_index" → 8 bytes big-endian; "scheduledCompactRev", "finishedCompactRev" → a revision
 * </pre>
 *
 * <p>Cairn's authentication table keeps etcd's encodings under {@code users/NAME} and {@code roles/NAME}, so users
 * and roles move as they are; its {@code tokenSecret} (what simple tokens are signed with) is Cairn's alone: left out
 * on the way to etcd, and made anew on the way in when authentication is enabled.
 */
public final class EtcdSnapshots {
    private static final int SHA256_BYTES = 32;
    private static final int ETCD_BLOCK = 512;
    private static final byte[] USERS = ascii("users/");
    private static final byte[] ROLES = ascii("roles/");
    private static final String TOKEN_SECRET = "tokenSecret";
    private static final int TOKEN_SECRET_BYTES = 32;
    /** The cluster version etcd 3.4 records, and Cairn's v3 API level. */
    public static final String CLUSTER_VERSION = "3.4.0";

    private EtcdSnapshots() {
    }

    /** What the server adds that the keyspace does not hold. */
    public record Cluster(LongUnaryOperator etcdMemberId, SortedMap<String, byte[]> members) {
    }

    /** What an etcd snapshot held, once read into a store. */
    public record Imported(long revision, long compactRevision, long consistentIndex, int keys, int leases,
        int leaseKeys, int authEntries, int alarmsLeftOut, boolean hashChecked) {
    }

    /**
     * Writes a keyspace as etcd 3.4's backend database.
     *
     * @param reader  a view of the keyspace (its state is what is written).
     * @param cluster the members and their etcd IDs.
     * @param target  the file to write (replaced).
     * @return the file's length (a whole number of 4 KiB pages).
     * @throws IOException if it cannot be written.
     */
    public static long write(final MvccReader reader, final Cluster cluster, final Path target) throws IOException {
        try (BoltWriter bolt = BoltWriter.create(target, BoltWriter.PAGE_SIZE)) {
            final Export export = new Export(bolt, cluster);
            reader.exportTo(export);
            export.finish();
            return bolt.finish(export.appliedIndex + 1);
        }
    }

    /**
     * Checks the SHA-256 etcd appends to a snapshot stream, if the file has one.
     *
     * @param file          a snapshot file.
     * @param skipHashCheck accept a file without the hash ({@code --skip-hash-check}).
     * @return the length of the database inside.
     * @throws CorruptSnapshotException if the hash is there and wrong, or missing and required.
     * @throws IOException              if the file cannot be read.
     */
    public static long checkHash(final Path file, final boolean skipHashCheck) throws IOException {
        final long bytes = Files.size(file);
        if (bytes % ETCD_BLOCK != SHA256_BYTES) {
            if (!skipHashCheck) {
                throw new CorruptSnapshotException(file, "snapshot missing hash but --skip-hash-check=false");
            }
            return bytes;
        }
        final MessageDigest sha = sha256();
        final byte[] expected = new byte[SHA256_BYTES];
        try (FileChannel in = FileChannel.open(file, StandardOpenOption.READ)) {
            final ByteBuffer chunk = ByteBuffer.allocate(1 << 16);
            long position = 0;
            while (position < bytes - SHA256_BYTES) {
                chunk.clear().limit((int)Math.min(chunk.capacity(), bytes - SHA256_BYTES - position));
                final int read = in.read(chunk, position);
                if (read < 0) {
                    throw new CorruptSnapshotException(file, "ends early");
                }
                position += read;
                chunk.flip();
                sha.update(chunk);
            }
            in.read(ByteBuffer.wrap(expected), bytes - SHA256_BYTES);
        }
        if (!MessageDigest.isEqual(sha.digest(), expected)) {
            throw new CorruptSnapshotException(file, "SHA-256 at the end does not match the contents");
        }
        return bytes - SHA256_BYTES;
    }

    /**
     * Reads an etcd 3.4 snapshot (a bbolt database, with or without etcd's SHA-256 after it) into a new store:
     * every record of its history with its revisions, versions and lease, its leases, users, roles and compacted
     * revision. The store is left as of Raft entry (the snapshot's consistent index, term 1). Nothing is written
     * until the whole file has been read and checked; a damaged file leaves the store empty.
     *
     * @param file          the snapshot.
     * @param skipHashCheck accept a file without etcd's hash.
     * @param store         a new, empty store.
     * @return what it held.
     * @throws CorruptSnapshotException if the file is damaged or not etcd's.
     * @throws IOException              if it cannot be read.
     */
    public static Imported read(final Path file, final boolean skipHashCheck, final MvccStore store)
        throws IOException {
        final long length = checkHash(file, skipHashCheck);
        try (BoltReader bolt = BoltReader.open(file, length)) {
            final List<String> buckets = bolt.buckets();
            if (!buckets.contains("key") || !buckets.contains("meta")) {
                throw new CorruptSnapshotException(file, "a bbolt database without etcd's key and meta buckets "
                    + buckets);
            }
            // First pass: check everything, so that a damaged file changes nothing.
            final long[] meta = readMeta(bolt, file);
            final long[] last = new long[2];
            final int[] counts = new int[1];
            bolt.forEach("key", (key, value, nested) -> {
                final Record record = Record.parse(key, value, file);
                if (record.main < last[0] || record.main == last[0] && record.sub <= last[1] && counts[0] > 0) {
                    throw new CorruptSnapshotException(file, "key bucket out of revision order");
                }
                last[0] = record.main;
                last[1] = record.sub;
                counts[0]++;
            });
            final Map<Long, Long> leases = new TreeMap<>();
            bolt.forEach("lease", (key, value, nested) -> {
                final long[] lease = Proto.varints(value, 3, file);
                if (key.length != Long.BYTES || lease[0] != ByteBuffer.wrap(key).getLong()) {
                    throw new CorruptSnapshotException(file, "lease bucket key and lease ID differ");
                }
                leases.put(lease[0], lease[1]);
            });
            final SortedMap<byte[], byte[]> auth = new TreeMap<>(java.util.Arrays::compareUnsigned);
            bolt.forEach("auth", (key, value, nested) -> auth.put(key, value));
            bolt.forEach("authUsers", (key, value, nested) -> auth.put(concat(USERS, key), value));
            bolt.forEach("authRoles", (key, value, nested) -> auth.put(concat(ROLES, key), value));
            if (auth.containsKey(ascii("authEnabled")) && auth.get(ascii("authEnabled")).length == 1
                && auth.get(ascii("authEnabled"))[0] == 1) {
                final byte[] secret = new byte[TOKEN_SECRET_BYTES];
                new SecureRandom().nextBytes(secret);
                auth.put(ascii(TOKEN_SECRET), secret);
            }
            final int[] alarms = new int[1];
            bolt.forEach("alarm", (key, value, nested) -> alarms[0]++);

            store.beginBatch();
            try {
                bolt.forEach("key", (key, value, nested) -> {
                    final Record record = Record.parse(key, value, file);
                    store.importRecord(record.main, record.sub, record.tombstone, record.key, record.value,
                        record.createRevision, record.version, record.lease);
                });
                for (final Map.Entry<Long, Long> lease : leases.entrySet()) {
                    store.importLease(lease.getKey(), lease.getValue());
                }
                for (final Map.Entry<byte[], byte[]> entry : auth.entrySet()) {
                    store.importAuth(entry.getKey(), entry.getValue());
                }
                final long compacted = Math.max(meta[1], meta[2]);
                final long index = Math.max(1, meta[0]);
                final int attached = store.finishImport(last[0], compacted, index, 1);
                return new Imported(store.revision(), store.compactRevision(), meta[0], counts[0], leases.size(),
                    attached, auth.size(), alarms[0], length != Files.size(file));
            } catch (final IOException | RuntimeException ex) {
                store.abortBatch();
                throw ex;
            }
        }
    }

    /** {consistent index, finished compaction, scheduled compaction}. */
    private static long[] readMeta(final BoltReader bolt, final Path file) throws IOException {
        final long[] meta = new long[3];
        bolt.forEach("meta", (key, value, nested) -> {
            final String name = new String(key, StandardCharsets.UTF_8);
            switch (name) {
                case "consistent_index" -> meta[0] = bigEndian(value, 8, name, file);
                case "finishedCompactRev" -> meta[1] = bigEndian(value, 17, name, file);
                case "scheduledCompactRev" -> meta[2] = bigEndian(value, 17, name, file);
                default -> {
                }
            }
        });
        return meta;
    }

    private static long bigEndian(final byte[] value, final int length, final String name, final Path file)
        throws CorruptSnapshotException {
        if (value.length != length) {
            throw new CorruptSnapshotException(file, "meta " + name + " is " + value.length + " bytes, not " + length);
        }
        return ByteBuffer.wrap(value).getLong();
    }

    private static byte[] concat(final byte[] a, final byte[] b) {
        final byte[] joined = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, joined, a.length, b.length);
        return joined;
    }

    private static byte[] ascii(final String text) {
        return text.getBytes(StandardCharsets.US_ASCII);
    }

    private static MessageDigest sha256() throws IOException {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (final NoSuchAlgorithmException ex) {
            throw new IOException("no SHA-256 in this JVM", ex);
        }
    }

    /** One record of etcd's key bucket, decoded and checked. */
    private record Record(long main, long sub, boolean tombstone, byte[] key, byte[] value, long createRevision,
        long version, long lease) {
        static Record parse(final byte[] bucketKey, final byte[] bytes, final Path file)
            throws CorruptSnapshotException {
            final boolean tombstone = bucketKey.length == 18 && bucketKey[17] == 't';
            if (bucketKey.length != 17 && !tombstone || bucketKey[8] != '_') {
                throw new CorruptSnapshotException(file, "key bucket key of " + bucketKey.length
                    + " bytes is not a revision");
            }
            final ByteBuffer revision = ByteBuffer.wrap(bucketKey);
            final long main = revision.getLong(0);
            final long sub = revision.getLong(9);
            final Proto.KeyValue kv = Proto.keyValue(bytes, file);
            if (main < 2 || sub < 0 || kv.key().length == 0 || !tombstone && kv.modRevision() != main) {
                throw new CorruptSnapshotException(file, "record at revision " + main + "." + sub
                    + " does not match its key (mod revision " + kv.modRevision() + ")");
            }
            return new Record(main, sub, tombstone, kv.key(), tombstone ? new byte[0] : kv.value(),
                tombstone ? 0 : kv.createRevision(), tombstone ? 0 : kv.version(), tombstone ? 0 : kv.lease());
        }
    }

    /** The bbolt side of an export: buckets opened in etcd's name order as the keyspace arrives. */
    private static final class Export implements KeyspaceExport {
        private static final String[] BUCKETS = {"alarm", "auth", "authRoles", "authUsers", "cluster", "key", "lease",
            "members", "members_removed", "meta"};
        private final BoltWriter bolt;
        private final Cluster cluster;
        private int next;
        private String current;
        private long appliedIndex;
        private long compactRevision;
        private final List<byte[][]> auth = new ArrayList<>();
        private final List<byte[][]> roles = new ArrayList<>();
        private final List<byte[][]> users = new ArrayList<>();
        private final SortedMap<byte[], byte[]> alarms = new TreeMap<>(java.util.Arrays::compareUnsigned);
        private final byte[] leaseKey = new byte[Long.BYTES];
        private final Proto.Writer proto = new Proto.Writer();

        Export(final BoltWriter bolt, final Cluster cluster) {
            this.bolt = bolt;
            this.cluster = cluster;
        }

        @Override
        public void state(final long appliedIndex, final long revision, final long compactRevision) {
            this.appliedIndex = appliedIndex;
            this.compactRevision = compactRevision;
        }

        @Override
        public void alarm(final long memberId, final int alarm) {
            proto.reset().varint(1, cluster.etcdMemberId().applyAsLong(memberId)).varint(2, alarm);
            alarms.put(proto.toBytes(), new byte[0]);
        }

        @Override
        public void auth(final byte[] key, final byte[] value) {
            if (startsWith(key, USERS)) {
                users.add(new byte[][] {java.util.Arrays.copyOfRange(key, USERS.length, key.length), value});
            } else if (startsWith(key, ROLES)) {
                roles.add(new byte[][] {java.util.Arrays.copyOfRange(key, ROLES.length, key.length), value});
            } else if (!new String(key, StandardCharsets.US_ASCII).equals(TOKEN_SECRET)) {
                auth.add(new byte[][] {key, value});
            }
        }

        @Override
        public void record(final byte[] bytes, final int keyLength, final int length) throws IOException {
            open("key");
            bolt.put(bytes, 0, keyLength, bytes, keyLength, length - keyLength);
        }

        @Override
        public void lease(final long leaseId, final long ttl) throws IOException {
            open("lease");
            ByteBuffer.wrap(leaseKey).putLong(0, leaseId);
            final byte[] value = proto.reset().varint(1, leaseId).varint(2, ttl).toBytes();
            bolt.put(leaseKey, 0, leaseKey.length, value, 0, value.length);
        }

        void finish() throws IOException {
            open("meta");
            final byte[] index = ByteBuffer.allocate(Long.BYTES).putLong(appliedIndex).array();
            bolt.put(ascii("consistent_index"), 0, 16, index, 0, index.length);
            if (compactRevision > 0) {
                final byte[] revision = ByteBuffer.allocate(17).putLong(compactRevision).put((byte)'_').array();
                bolt.put(ascii("finishedCompactRev"), 0, 18, revision, 0, revision.length);
                bolt.put(ascii("scheduledCompactRev"), 0, 19, revision, 0, revision.length);
            }
        }

        /** Opens the named bucket, writing every bucket before it in order (those the keyspace had nothing for). */
        private void open(final String bucket) throws IOException {
            if (bucket.equals(current)) {
                return;
            }
            while (next < BUCKETS.length) {
                final String name = BUCKETS[next++];
                bolt.bucket(ascii(name));
                current = name;
                fill(name);
                if (name.equals(bucket)) {
                    return;
                }
            }
            throw new IllegalStateException("bucket " + bucket + " out of etcd's order");
        }

        private void fill(final String name) throws IOException {
            switch (name) {
                case "alarm" -> putAll(alarms.entrySet().stream().map(e -> new byte[][] {e.getKey(), e.getValue()})
                    .toList());
                case "auth" -> putAll(auth);
                case "authRoles" -> putAll(roles);
                case "authUsers" -> putAll(users);
                case "cluster" -> putAll(List.<byte[][]>of(new byte[][] {ascii("clusterVersion"),
                    ascii(CLUSTER_VERSION)}));
                case "members" -> putAll(cluster.members().entrySet().stream()
                    .map(e -> new byte[][] {ascii(e.getKey()), e.getValue()}).toList());
                default -> {
                }
            }
        }

        private void putAll(final List<byte[][]> entries) throws IOException {
            for (final byte[][] entry : entries) {
                bolt.put(entry[0], 0, entry[0].length, entry[1], 0, entry[1].length);
            }
        }

        private static boolean startsWith(final byte[] key, final byte[] prefix) {
            return key.length > prefix.length
                && java.util.Arrays.equals(key, 0, prefix.length, prefix, 0, prefix.length);
        }
    }
}
