package io.cairn.embedded.cluster;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * etcd 3.4's member and cluster IDs, computed as etcd computes them ({@code membership.NewMember} and
 * {@code RaftCluster.genID}), so that a cluster started with the same {@code --initial-cluster} and
 * {@code --initial-cluster-token} lists the same IDs as etcd would. These are the IDs clients see (member list,
 * response headers, alarms, move-leader); inside, Raft keeps its own 32-bit IDs ({@link Topology#idOf}: a hash of the
 * peer host:port, which a joining member can compute before it has heard the configuration), and the configuration
 * maps one to the other ({@link MemberAttributes#memberId}).
 */
public final class EtcdIds {
    /** etcd's default {@code --initial-cluster-token}. */
    public static final String TOKEN_DEFAULT = "etcd-cluster";

    private EtcdIds() {
    }

    /**
     * etcd's member ID: the first 8 bytes (big-endian) of the SHA-1 of the sorted peer URLs, the cluster token and,
     * for a member added to a running cluster, the Unix time in seconds (etcd's MemberAdd passes an empty token and
     * the time).
     *
     * @param peerUrls    the member's peer URLs, as given.
     * @param token       {@code --initial-cluster-token} for initial members, "" for added ones.
     * @param unixSeconds the time of the MemberAdd, or null for an initial member.
     * @return the ID (as etcd's uint64).
     */
    public static long member(final Collection<String> peerUrls, final String token, final Long unixSeconds) {
        final List<String> sorted = new ArrayList<>(peerUrls);
        sorted.sort(null); // Go's sort.Strings: byte order, which UTF-16 order matches for URLs
        final StringBuilder text = new StringBuilder();
        sorted.forEach(text::append);
        text.append(token);
        if (unixSeconds != null) {
            text.append(unixSeconds.longValue());
        }
        return ByteBuffer.wrap(sha1(text.toString().getBytes(StandardCharsets.UTF_8))).getLong();
    }

    /**
     * etcd's cluster ID: the first 8 bytes of the SHA-1 of the member IDs, sorted as unsigned numbers, each 8 bytes
     * big-endian.
     *
     * @param memberIds the initial members' IDs.
     * @return the cluster ID.
     */
    public static long cluster(final Collection<Long> memberIds) {
        final List<Long> sorted = new ArrayList<>(memberIds);
        sorted.sort(Long::compareUnsigned);
        final ByteBuffer bytes = ByteBuffer.allocate(Long.BYTES * sorted.size());
        sorted.forEach(bytes::putLong);
        return ByteBuffer.wrap(sha1(bytes.array())).getLong();
    }

    private static byte[] sha1(final byte[] input) {
        try {
            return MessageDigest.getInstance("SHA-1").digest(input);
        } catch (final NoSuchAlgorithmException ex) {
            throw new IllegalStateException("the JDK has no SHA-1", ex);
        }
    }
}
