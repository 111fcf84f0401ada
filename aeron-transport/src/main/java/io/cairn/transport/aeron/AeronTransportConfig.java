package io.cairn.transport.aeron;

import io.cairn.engine.check.Check;

import javax.net.ssl.SSLContext;
import java.io.File;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Validated, immutable settings of one node's transport.
 *
 * @param nodeId             this node's ID (positive).
 * @param listenEndpoint     {@code host:port} the node receives on (UDP).
 * @param peers              peer node ID → {@code host:port}.
 * @param aeronDirectory     the media driver's directory; null for an embedded driver in a directory of our own
 *                           ({@link #embeddedDirectory()}).
 * @param externalDriver     true: use a media driver the operator runs at {@code aeronDirectory}; false: embed one.
 * @param streamId           Aeron stream ID of peer traffic.
 * @param termBytes          term buffer length of each publication; Aeron's largest message is an eighth of it.
 * @param mtuBytes           UDP payload per datagram.
 * @param peerTls            this member's peer certificate and the CAs its peers' must chain to: every frame is sealed
 *                           ({@link PeerSeal}) under keys agreed over mutual TLS; null: plaintext frames
 *                           ({@link PeerFrame}), which anyone who can reach the port can send.
 */
public record AeronTransportConfig(
    int nodeId, String listenEndpoint, Map<Integer, String> peers, String aeronDirectory, boolean externalDriver,
    int streamId, int termBytes, int mtuBytes, SSLContext peerTls) {
    /** Default stream ID. */
    public static final int STREAM_ID_DEFAULT = 0xCA1;
    /** Default term length: 16 MiB, so the largest message (2 MiB) holds an append carrying etcd's largest request. */
    public static final int TERM_BYTES_DEFAULT = 16 << 20;
    /** Aeron's default MTU. */
    public static final int MTU_BYTES_DEFAULT = 1408;
    /** Prefix of embedded driver directories (stale ones with it are cleaned on start). */
    public static final String DIRECTORY_PREFIX = "cairn-aeron-";

    /**
     * Checks the settings.
     */
    public AeronTransportConfig {
        Check.state(nodeId > 0, "node ID must be positive", nodeId);
        port(listenEndpoint);
        Check.state(peers != null && !peers.containsKey(nodeId), "peers must not include this node", nodeId);
        peers = Map.copyOf(new TreeMap<>(peers));
        for (final String endpoint : peers.values()) {
            port(endpoint);
        }
        Check.state(!externalDriver || aeronDirectory != null, "an external driver needs its directory");
        Check.state(Integer.bitCount(termBytes) == 1 && termBytes >= 64 * 1024, "termBytes", termBytes);
        Check.state(mtuBytes >= 1024 && mtuBytes % 32 == 0, "mtuBytes", mtuBytes);
    }

    /**
     * @param nodeId         this node.
     * @param listenEndpoint where it listens.
     * @param peers          the others.
     * @return defaults: embedded driver, 4 MiB terms.
     */
    public static AeronTransportConfig of(final int nodeId, final String listenEndpoint,
        final Map<Integer, String> peers) {
        return new AeronTransportConfig(nodeId, listenEndpoint, peers, null, false, STREAM_ID_DEFAULT,
            TERM_BYTES_DEFAULT, MTU_BYTES_DEFAULT, null);
    }

    /**
     * @param nodeId    this node.
     * @param endpoints every member's endpoint, this node's included (where it listens).
     * @return defaults, as {@link #of}, with the others as peers.
     */
    public static AeronTransportConfig ofMember(final int nodeId, final Map<Integer, String> endpoints) {
        final Map<Integer, String> peers = new HashMap<>(endpoints);
        final String own = peers.remove(nodeId);
        Check.state(own != null, "no endpoint for this node", nodeId);
        return of(nodeId, own, peers);
    }

    /**
     * @return where the media driver's files are: the configured directory, or one of our own under /dev/shm (or the
     *         temporary directory where there is no /dev/shm) named after the node and its port.
     */
    public String embeddedDirectory() {
        if (aeronDirectory != null) {
            return aeronDirectory;
        }
        final File shm = new File("/dev/shm");
        final String parent =
            shm.isDirectory() && shm.canWrite() ? shm.getPath() : System.getProperty("java.io.tmpdir");
        return new File(parent, DIRECTORY_PREFIX + nodeId + "-" + port(listenEndpoint)).getPath();
    }

    /**
     * @param directory a media driver the operator runs (its own process, its own threads).
     * @return a copy that uses that driver instead of embedding one.
     */
    public AeronTransportConfig withExternalDriver(final String directory) {
        return new AeronTransportConfig(nodeId, listenEndpoint, peers, directory, true, streamId, termBytes,
            mtuBytes, peerTls);
    }

    /**
     * @param messageBytes the largest message to send.
     * @return a copy whose terms are long enough for it (Aeron's largest message is an eighth of a term), at least
     *     the default.
     */
    public AeronTransportConfig withLargestMessage(final int messageBytes) {
        final int needed = Integer.highestOneBit(Math.max(1, messageBytes - 1)) << 4; // 8 x, rounded up to 2^n
        return new AeronTransportConfig(nodeId, listenEndpoint, peers, aeronDirectory, externalDriver, streamId,
            Math.max(termBytes, needed), mtuBytes, peerTls);
    }

    /**
     * @param tls this member's peer certificate and trusted CAs (null: plaintext).
     * @return a copy that seals every frame under keys agreed over mutual TLS with {@code tls}.
     */
    public AeronTransportConfig withPeerTls(final SSLContext tls) {
        return new AeronTransportConfig(nodeId, listenEndpoint, peers, aeronDirectory, externalDriver, streamId,
            termBytes, mtuBytes, tls);
    }

    static int port(final String endpoint) {
        Check.state(endpoint != null, "endpoint required");
        final int colon = endpoint.lastIndexOf(':');
        int port = -1;
        if (colon > 0) {
            try {
                port = Integer.parseInt(endpoint.substring(colon + 1));
            } catch (final NumberFormatException ex) {
                port = -1;
            }
        }
        if (port <= 0 || port > 65535) {
            throw new IllegalArgumentException("not a host:port endpoint: " + endpoint);
        }
        return port;
    }

    static String channel(final String endpoint, final int mtuBytes) {
        return "aeron:udp?endpoint=" + endpoint + "|mtu=" + mtuBytes;
    }
}
