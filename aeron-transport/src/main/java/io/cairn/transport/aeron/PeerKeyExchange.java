package io.cairn.transport.aeron;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.security.SecureRandom;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Agrees the keys of sealed peer frames ({@link PeerSeal}) over mutual TLS: each member listens for TCP on its peer
 * {@code host:port} (the same numbers as its Aeron UDP endpoint: TCP and UDP ports are separate spaces); a member
 * connects to a peer with its peer certificate, each side checks that the other's certificate names the host of
 * that member's peer URL (the member ID is derived from it, so the certificate binds the ID), and each sends the key
 * it will seal its frames to the other with: 32 fresh random bytes and a new epoch. Keys never touch the disk. The
 * exchange runs on a thread of its own with blocking sockets: at start, when a link is redone, and hourly — never
 * per frame ({@link PeerSecurity} decides when). Identity is the host, as etcd's peer certificates are
 * checked against peer URLs: members that share a host (and so a certificate's names) are not told apart.
 *
 * <p>The message, both ways: {@code "CAIRNKEY"}, version (1 byte), sender ID, receiver ID, epoch (4 bytes each, big
 * endian), the key (32 bytes). Anything else closes the connection and installs nothing.
 */
public final class PeerKeyExchange implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(PeerKeyExchange.class.getName());
    private static final byte[] MAGIC = {'C', 'A', 'I', 'R', 'N', 'K', 'E', 'Y'};
    private static final byte VERSION = 1;
    private static final int TIMEOUT_MS = 5_000;
    private static final int SAN_DNS = 2;
    private static final int SAN_IP = 7;

    /** Where agreed keys go (the transport's senders and receivers). Called on the exchange's threads. */
    public interface Keys {
        /**
         * @param peerId the peer.
         * @param epoch  the key's number.
         * @param key    the key this member now seals its frames to that peer with (the peer has it).
         */
        void sending(int peerId, int epoch, byte[] key);

        /**
         * @param peerId the peer.
         * @param epoch  the key's number.
         * @param key    the key that peer seals its frames to this member with.
         */
        void receiving(int peerId, int epoch, byte[] key);
    }

    private final int selfId;
    private final Map<Integer, InetSocketAddress> peers = new ConcurrentHashMap<>();
    private final SSLContext tls;
    private final Keys keys;
    private final SecureRandom random = new SecureRandom();
    private final AtomicInteger epochs;
    private final SSLServerSocket server;
    private final Thread acceptor;
    private volatile boolean closed;
    private static final long REFUSAL_LOG_INTERVAL_NS = java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
    private long refusals; // acceptor thread
    private long refusalLoggedNs;

    /**
     * @param selfId this member.
     * @param listen its peer {@code host:port} (TCP).
     * @param peers  every other member's peer address, by ID.
     * @param tls    this member's peer certificate and the CAs other members' must chain to.
     * @param keys   where keys go.
     * @throws IOException if the port cannot be bound.
     */
    public PeerKeyExchange(final int selfId, final InetSocketAddress listen,
        final Map<Integer, InetSocketAddress> peers, final SSLContext tls, final Keys keys) throws IOException {
        this.selfId = selfId;
        this.peers.putAll(peers);
        this.tls = tls;
        this.keys = keys;
        this.epochs = new AtomicInteger(random.nextInt() & 0x3FFF_FFFF);
        this.server = (SSLServerSocket)tls.getServerSocketFactory().createServerSocket();
        server.setNeedClientAuth(true);
        server.bind(listen);
        this.acceptor = new Thread(this::acceptLoop, "cairn-peer-keys-" + selfId);
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /**
     * Adds a peer, or moves one to a new address (membership changes); its next exchange uses the address.
     *
     * @param peerId  the peer.
     * @param address its peer {@code host:port}.
     */
    public void setPeer(final int peerId, final InetSocketAddress address) {
        peers.put(peerId, address);
    }

    /**
     * @param peerId a member no longer in the cluster: keys from it are refused from now on.
     */
    public void removePeer(final int peerId) {
        peers.remove(peerId);
    }

    /**
     * @param peerId a member.
     * @return true while it is a peer.
     */
    public boolean isPeer(final int peerId) {
        return peers.containsKey(peerId);
    }

    /**
     * @return the bound TCP port.
     */
    public int port() {
        return server.getLocalPort();
    }

    /**
     * Connects to a peer, proves who this member is, checks who the peer is, and trades keys: afterwards this member
     * seals to the peer with the key it sent and opens the peer's frames with the key it received.
     *
     * @param peerId the peer.
     * @throws IOException if the peer cannot be reached, its certificate is refused or it answers wrongly.
     */
    public void exchangeWith(final int peerId) throws IOException {
        final InetSocketAddress address = peers.get(peerId);
        if (address == null) {
            throw new IOException("no peer " + peerId);
        }
        try (SSLSocket socket = (SSLSocket)tls.getSocketFactory().createSocket()) {
            socket.connect(address, TIMEOUT_MS);
            socket.setSoTimeout(TIMEOUT_MS);
            final SSLParameters parameters = socket.getSSLParameters();
            parameters.setEndpointIdentificationAlgorithm(null); // checked below, against the peer URL's host
            socket.setSSLParameters(parameters);
            socket.startHandshake();
            checkNames(socket, peerId);
            final int epoch = nextEpoch();
            final byte[] key = newKey();
            write(socket, peerId, epoch, key);
            final Message answer = read(socket);
            if (answer.sender() != peerId || answer.receiver() != selfId) {
                throw new IOException("peer " + peerId + " answered as " + answer.sender() + " to "
                    + answer.receiver());
            }
            keys.sending(peerId, epoch, key);
            keys.receiving(peerId, answer.epoch(), answer.key());
        }
    }

    private void acceptLoop() {
        while (!closed) {
            try (SSLSocket socket = (SSLSocket)server.accept()) {
                socket.setSoTimeout(TIMEOUT_MS);
                try {
                    serve(socket);
                } catch (final IOException | RuntimeException ex) {
                    refusals++;
                    final long now = System.nanoTime();
                    if (now - refusalLoggedNs > REFUSAL_LOG_INTERVAL_NS || refusals == 1) {
                        refusalLoggedNs = now;
                        LOG.log(System.Logger.Level.WARNING, "peer keys: refused " + socket.getRemoteSocketAddress()
                            + ": " + ex.getMessage() + " (refused so far: " + refusals + ")");
                    }
                }
            } catch (final SocketException ex) {
                if (!closed) {
                    LOG.log(System.Logger.Level.WARNING, "peer keys: " + ex.getMessage());
                }
            } catch (final IOException ex) {
                LOG.log(System.Logger.Level.WARNING, "peer keys: " + ex.getMessage());
            }
        }
    }

    private void serve(final SSLSocket socket) throws IOException {
        socket.startHandshake();
        final Message hello = read(socket);
        if (hello.receiver() != selfId || !isPeer(hello.sender())) {
            throw new IOException("a key from " + hello.sender() + " to " + hello.receiver() + ", not from a peer to "
                + selfId);
        }
        checkNames(socket, hello.sender());
        final int epoch = nextEpoch();
        final byte[] key = newKey();
        write(socket, hello.sender(), epoch, key);
        keys.receiving(hello.sender(), hello.epoch(), hello.key());
        keys.sending(hello.sender(), epoch, key);
    }

    /** The other side's certificate must name the host of that member's peer URL (an IP or DNS subject name). */
    private void checkNames(final SSLSocket socket, final int peerId) throws IOException {
        final InetSocketAddress address = peers.get(peerId);
        if (address == null) {
            throw new IOException(peerId + " is no longer a peer");
        }
        final String host = address.getHostString();
        final X509Certificate certificate = (X509Certificate)socket.getSession().getPeerCertificates()[0];
        try {
            if (certificate.getSubjectAlternativeNames() != null) {
                for (final List<?> name : certificate.getSubjectAlternativeNames()) {
                    final int type = (Integer)name.get(0);
                    if ((type == SAN_IP || type == SAN_DNS) && host.equalsIgnoreCase(String.valueOf(name.get(1)))) {
                        return;
                    }
                }
            }
        } catch (final CertificateParsingException ex) {
            throw new IOException("peer " + peerId + "'s certificate: " + ex.getMessage(), ex);
        }
        throw new IOException("the certificate of " + certificate.getSubjectX500Principal() + " does not name " + host
            + ", the host of peer " + peerId);
    }

    private int nextEpoch() {
        return epochs.incrementAndGet() & 0x7FFF_FFFF;
    }

    private byte[] newKey() {
        final byte[] key = new byte[PeerSeal.KEY_LENGTH];
        random.nextBytes(key);
        return key;
    }

    private record Message(int sender, int receiver, int epoch, byte[] key) {
    }

    private void write(final SSLSocket socket, final int receiver, final int epoch, final byte[] key)
        throws IOException {
        final DataOutputStream out = new DataOutputStream(socket.getOutputStream());
        out.write(MAGIC);
        out.writeByte(VERSION);
        out.writeInt(selfId);
        out.writeInt(receiver);
        out.writeInt(epoch);
        out.write(key);
        out.flush();
    }

    private static Message read(final SSLSocket socket) throws IOException {
        final DataInputStream in = new DataInputStream(socket.getInputStream());
        final byte[] magic = new byte[MAGIC.length];
        in.readFully(magic);
        if (!java.util.Arrays.equals(magic, MAGIC) || in.readByte() != VERSION) {
            throw new IOException("not a Cairn key message");
        }
        final int sender = in.readInt();
        final int receiver = in.readInt();
        final int epoch = in.readInt();
        final byte[] key = new byte[PeerSeal.KEY_LENGTH];
        in.readFully(key);
        return new Message(sender, receiver, epoch, key);
    }

    @Override
    public void close() {
        closed = true;
        try {
            server.close();
        } catch (final IOException ex) {
            // closing
        }
        try {
            acceptor.join(2_000);
        } catch (final InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }
}
