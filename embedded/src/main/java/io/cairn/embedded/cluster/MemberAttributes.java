package io.cairn.embedded.cluster;

import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * What etcd's MemberList shows of a member besides its ID and learner flag, kept as the member's attribute blob in
 * the Raft configuration ({@code Membership.setAttributes}), so names and URLs change atomically with the
 * configuration and travel in snapshots. The cluster ID rides along, so a member that joins a running cluster
 * answers with the cluster's ID rather than one of its own flags' making.
 *
 * <pre>
 *   version int8 (2) | clusterId int64 | memberId int64 | name | peer URL count int8 | peer URLs
 *     | client URL count int8 | client URLs
 *   each string: int16 length, UTF-8; little-endian (version 1, without memberId, is read too: memberId 0)
 * </pre>
 *
 * @param clusterId  etcd's cluster ID.
 * @param memberId   etcd's member ID ({@link EtcdIds}): what clients know the member by; 0 where the configuration was
 *                   written before it was kept (the Raft ID stands in).
 * @param name       the member's name; empty until a member added by MemberAdd has started and published it.
 * @param peerUrls   where peers reach it (the first one's host:port is its Aeron endpoint).
 * @param clientUrls where clients reach it; empty until published.
 */
public record MemberAttributes(long clusterId, long memberId, String name, List<String> peerUrls,
    List<String> clientUrls) {
    private static final byte VERSION_1 = 1;
    private static final byte VERSION = 2;

    /**
     * Copies the lists.
     */
    public MemberAttributes {
        peerUrls = List.copyOf(peerUrls);
        clientUrls = List.copyOf(clientUrls);
    }

    /**
     * @return the encoded form.
     */
    public byte[] encode() {
        final List<byte[]> strings = new ArrayList<>();
        strings.add(name.getBytes(StandardCharsets.UTF_8));
        peerUrls.forEach(url -> strings.add(url.getBytes(StandardCharsets.UTF_8)));
        clientUrls.forEach(url -> strings.add(url.getBytes(StandardCharsets.UTF_8)));
        int length = 1 + 2 * Long.BYTES + 2;
        for (final byte[] string : strings) {
            length += Short.BYTES + string.length;
        }
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[length]);
        buffer.putByte(0, VERSION);
        buffer.putLong(1, clusterId, ByteOrder.LITTLE_ENDIAN);
        buffer.putLong(1 + Long.BYTES, memberId, ByteOrder.LITTLE_ENDIAN);
        int position = 1 + 2 * Long.BYTES;
        position = putString(buffer, position, strings.get(0));
        buffer.putByte(position++, (byte)peerUrls.size());
        for (int i = 0; i < peerUrls.size(); i++) {
            position = putString(buffer, position, strings.get(1 + i));
        }
        buffer.putByte(position++, (byte)clientUrls.size());
        for (int i = 0; i < clientUrls.size(); i++) {
            position = putString(buffer, position, strings.get(1 + peerUrls.size() + i));
        }
        return buffer.byteArray();
    }

    /**
     * @param buffer where to read.
     * @param offset where the encoding starts.
     * @param length its length.
     * @return the attributes, or null if the bytes are not attributes of this version.
     */
    public static MemberAttributes decode(final DirectBuffer buffer, final int offset, final int length) {
        final int end = offset + length;
        final byte version = length > 0 ? buffer.getByte(offset) : 0;
        final int fixed = version == VERSION ? 1 + 2 * Long.BYTES : 1 + Long.BYTES;
        if (length < fixed + 2 || version != VERSION && version != VERSION_1) {
            return null;
        }
        final long clusterId = buffer.getLong(offset + 1, ByteOrder.LITTLE_ENDIAN);
        final long memberId = version == VERSION ? buffer.getLong(offset + 1 + Long.BYTES, ByteOrder.LITTLE_ENDIAN) : 0;
        final int[] position = {offset + fixed};
        final String name = getString(buffer, position, end);
        final List<String> peers = getStrings(buffer, position, end);
        final List<String> clients = getStrings(buffer, position, end);
        if (name == null || peers == null || clients == null || position[0] != end) {
            return null;
        }
        return new MemberAttributes(clusterId, memberId, name, peers, clients);
    }

    private static int putString(final UnsafeBuffer buffer, final int position, final byte[] string) {
        buffer.putShort(position, (short)string.length, ByteOrder.LITTLE_ENDIAN);
        buffer.putBytes(position + Short.BYTES, string);
        return position + Short.BYTES + string.length;
    }

    private static List<String> getStrings(final DirectBuffer buffer, final int[] position, final int end) {
        if (position[0] >= end) {
            return null;
        }
        final int count = buffer.getByte(position[0]++) & 0xFF;
        final List<String> strings = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            final String string = getString(buffer, position, end);
            if (string == null) {
                return null;
            }
            strings.add(string);
        }
        return strings;
    }

    private static String getString(final DirectBuffer buffer, final int[] position, final int end) {
        if (position[0] + Short.BYTES > end) {
            return null;
        }
        final int length = buffer.getShort(position[0], ByteOrder.LITTLE_ENDIAN) & 0xFFFF;
        if (position[0] + Short.BYTES + length > end) {
            return null;
        }
        final byte[] bytes = new byte[length];
        buffer.getBytes(position[0] + Short.BYTES, bytes);
        position[0] += Short.BYTES + length;
        return new String(bytes, StandardCharsets.UTF_8);
    }
}
