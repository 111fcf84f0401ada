package io.cairn.transport.aeron;

import org.agrona.DirectBuffer;
import org.agrona.collections.Int2ObjectHashMap;
import org.agrona.concurrent.UnsafeBuffer;

import javax.net.ssl.SSLContext;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

/**
 * A member's sealed peer frames (ARCHITECTURE.md, "Security"): the keys it agreed with each peer over mutual TLS
 * ({@link PeerKeyExchange}), a {@link PeerSeal.Sender} and {@link PeerSeal.Receiver} per peer, and the counts of
 * frames refused by reason.
 *
 * <p>Two sides. The exchange's threads (its acceptor, and one initiator here that sleeps until an exchange is due)
 * agree keys and queue them; the loop thread installs them at its next {@link #installKeys} and is the only one that
 * seals, opens or counts. An exchange is due with a peer at start, when the peer is added or moves, an hour after the
 * last one either side began, and when the loop asks ({@link #request}: no key to send with, or frames under a key it
 * does not hold — a peer that restarted); failures retry with backoff. A new sending key replacing one in use waits
 * {@link #ACTIVATE_AFTER_NS} before frames use it, so the peer's loop has installed it (the peer keeps the key before
 * it too): a rotation loses no frame.
 */
final class PeerSecurity implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(PeerSecurity.class.getName());
    /** Keys are agreed again this often (and whenever the loop asks). */
    static final long ROTATE_NS = TimeUnit.HOURS.toNanos(1);
    /** A replacing sending key is used this long after it is agreed. */
    static final long ACTIVATE_AFTER_NS = TimeUnit.SECONDS.toNanos(1);
    /** The loop asks for a peer's exchange at most this often. */
    static final long REQUEST_INTERVAL_NS = TimeUnit.SECONDS.toNanos(2);
    private static final long RETRY_MIN_NS = TimeUnit.MILLISECONDS.toNanos(200);
    private static final long RETRY_MAX_NS = TimeUnit.SECONDS.toNanos(5);
    private static final long LOG_INTERVAL_NS = TimeUnit.SECONDS.toNanos(30);
    /** A frame from an ID that is not a peer (Receiver results are negative; this one is ours). */
    static final int UNKNOWN_SENDER = -9;
    private static final int REASONS = 10;

    private record Key(int peerId, boolean sending, int epoch, byte[] key, long agreedNs) {
    }

    private final int selfId;
    private final PeerKeyExchange exchange;
    private final Queue<Key> agreed = new ConcurrentLinkedQueue<>();
    // Initiator side: when each peer's next exchange is due, and its retry backoff.
    private final Map<Integer, Long> dueNs = new ConcurrentHashMap<>();
    private final Map<Integer, Long> backoffNs = new ConcurrentHashMap<>();
    private final Map<Integer, Long> loggedNs = new ConcurrentHashMap<>();
    private final Object wake = new Object();
    private final Thread initiator;
    private volatile boolean closed;
    // Loop side.
    private final Int2ObjectHashMap<PeerSeal.Sender> senders = new Int2ObjectHashMap<>();
    private final Int2ObjectHashMap<Key> pending = new Int2ObjectHashMap<>();
    private final Int2ObjectHashMap<PeerSeal.Receiver> receivers = new Int2ObjectHashMap<>();
    private final Int2ObjectHashMap<long[]> requestedNs = new Int2ObjectHashMap<>();
    private final long[] rejected = new long[REASONS];
    private final UnsafeBuffer opened = new UnsafeBuffer(new byte[4096]);

    /**
     * Starts listening for peers' exchanges (TCP on this member's peer {@code host:port}) and begins one with each
     * peer.
     *
     * @param selfId this member.
     * @param listen its peer endpoint.
     * @param peers  the others' endpoints by ID.
     * @param tls    its peer certificate and the CAs peers' must chain to.
     * @throws IOException if the TCP port cannot be bound.
     */
    PeerSecurity(final int selfId, final String listen, final Map<Integer, String> peers, final SSLContext tls)
        throws IOException {
        this.selfId = selfId;
        final Map<Integer, InetSocketAddress> addresses = new ConcurrentHashMap<>();
        peers.forEach((id, endpoint) -> addresses.put(id, address(endpoint)));
        this.exchange = new PeerKeyExchange(selfId, address(listen), addresses, tls, new PeerKeyExchange.Keys() {
            @Override
            public void sending(final int peerId, final int epoch, final byte[] key) {
                agreed(new Key(peerId, true, epoch, key, System.nanoTime()));
            }

            @Override
            public void receiving(final int peerId, final int epoch, final byte[] key) {
                agreed(new Key(peerId, false, epoch, key, System.nanoTime()));
            }
        });
        final long now = System.nanoTime();
        peers.keySet().forEach(id -> dueNs.put(id, now));
        this.initiator = new Thread(this::initiate, "cairn-peer-keys-out-" + selfId);
        initiator.setDaemon(true);
        initiator.start();
    }

    static InetSocketAddress address(final String endpoint) {
        final int colon = endpoint.lastIndexOf(':');
        String host = endpoint.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        return new InetSocketAddress(host, AeronTransportConfig.port(endpoint));
    }

    private void agreed(final Key key) {
        agreed.add(key);
        // Either side's exchange renews the pair: the next is an hour from now, whoever began this one.
        dueNs.put(key.peerId(), key.agreedNs() + ROTATE_NS);
        backoffNs.remove(key.peerId());
    }

    // ---- initiator thread

    private void initiate() {
        while (!closed) {
            long next = System.nanoTime() + ROTATE_NS;
            for (final Map.Entry<Integer, Long> entry : dueNs.entrySet()) {
                final int peerId = entry.getKey();
                final long now = System.nanoTime();
                if (entry.getValue() - now <= 0 && exchange.isPeer(peerId)) {
                    exchange(peerId, now);
                }
                final Long due = dueNs.get(peerId);
                if (due != null && due - next < 0) {
                    next = due;
                }
            }
            synchronized (wake) {
                final long waitNs = next - System.nanoTime();
                if (waitNs > 0 && !closed) {
                    try {
                        TimeUnit.NANOSECONDS.timedWait(wake, waitNs);
                    } catch (final InterruptedException ex) {
                        return;
                    }
                }
            }
        }
    }

    private void exchange(final int peerId, final long now) {
        try {
            exchange.exchangeWith(peerId); // success: agreed(...) moved the due time an hour on
            if (loggedNs.remove(peerId) != null) {
                LOG.log(System.Logger.Level.INFO, "node " + selfId + ": peer keys agreed with " + peerId);
            }
        } catch (final IOException | RuntimeException ex) {
            if (closed) {
                return;
            }
            final long backoff = Math.min(RETRY_MAX_NS, Math.max(RETRY_MIN_NS, 2 * backoffNs.getOrDefault(peerId, 0L)));
            backoffNs.put(peerId, backoff);
            dueNs.put(peerId, now + backoff);
            final Long logged = loggedNs.get(peerId);
            if (logged == null || now - logged > LOG_INTERVAL_NS) {
                loggedNs.put(peerId, now);
                LOG.log(System.Logger.Level.WARNING, "node " + selfId + ": cannot agree peer keys with " + peerId
                    + " (retrying): " + ex.getMessage());
            }
        }
    }

    private void wakeInitiator() {
        synchronized (wake) {
            wake.notifyAll();
        }
    }

    /**
     * Adds a peer or moves it; an exchange with it is due at once. Any thread.
     *
     * @param peerId   the peer.
     * @param endpoint its {@code host:port}.
     */
    void addPeer(final int peerId, final String endpoint) {
        exchange.setPeer(peerId, address(endpoint));
        dueNs.put(peerId, System.nanoTime());
        wakeInitiator();
    }

    /**
     * Agrees new keys with a peer now, as the hourly rotation does. Any thread.
     *
     * @param peerId the peer.
     */
    void renew(final int peerId) {
        dueNs.put(peerId, System.nanoTime());
        wakeInitiator();
    }

    /**
     * @param peerId a member no longer in the cluster: no exchanges with it, its keys dropped.
     */
    void removePeer(final int peerId) {
        exchange.removePeer(peerId);
        dueNs.remove(peerId);
        senders.remove(peerId);
        pending.remove(peerId);
        receivers.remove(peerId);
    }

    // ---- loop thread

    /**
     * Installs the keys agreed since the last call and switches senders whose new key is due. Loop thread.
     *
     * @param nowNs {@link System#nanoTime()}.
     * @return keys installed or switched (work done).
     */
    int installKeys(final long nowNs) {
        int work = 0;
        Key key;
        while ((key = agreed.poll()) != null) {
            work++;
            if (!exchange.isPeer(key.peerId())) {
                continue;
            }
            if (!key.sending()) {
                receivers.computeIfAbsent(key.peerId(), id -> new PeerSeal.Receiver(selfId, id))
                    .install(key.epoch(), key.key());
            } else if (senders.get(key.peerId()) == null) {
                senders.put(key.peerId(), new PeerSeal.Sender(selfId, key.peerId(), key.epoch(), key.key()));
            } else {
                pending.put(key.peerId(), key); // the peer may not hold it yet: use it a little later
            }
        }
        if (!pending.isEmpty()) {
            final Int2ObjectHashMap<Key>.EntryIterator entries = pending.entrySet().iterator();
            while (entries.hasNext()) {
                entries.next();
                final Key due = entries.getValue();
                if (nowNs - due.agreedNs() >= ACTIVATE_AFTER_NS) {
                    senders.put(due.peerId(), new PeerSeal.Sender(selfId, due.peerId(), due.epoch(), due.key()));
                    entries.remove();
                    work++;
                }
            }
        }
        return work;
    }

    /**
     * @param peerId a peer.
     * @return its sender, or null (no key yet: an exchange is asked for).
     */
    PeerSeal.Sender sender(final int peerId) {
        final PeerSeal.Sender sender = senders.get(peerId);
        if (sender == null) {
            request(peerId, System.nanoTime());
        }
        return sender;
    }

    /**
     * Opens a received frame. Loop thread.
     *
     * @param frame  the frame.
     * @param offset where it starts.
     * @param length its length.
     * @return the payload's length (the payload is in {@link #opened()}), or a negative reason, counted.
     */
    int open(final DirectBuffer frame, final int offset, final int length) {
        final int senderId = length >= PeerSeal.HEADER_LENGTH
            ? frame.getInt(offset + PeerSeal.SENDER_OFFSET, PeerSeal.ORDER) : 0;
        final PeerSeal.Receiver receiver = receivers.get(senderId);
        final int result;
        if (receiver == null) {
            final int shape = PeerSeal.check(frame, offset, length); // a plaintext or foreign frame says so
            result = shape != 0 ? shape : exchange.isPeer(senderId) ? PeerSeal.UNKNOWN_KEY : UNKNOWN_SENDER;
        } else {
            if (opened.capacity() < length) {
                opened.wrap(new byte[Integer.highestOneBit(length) << 1]);
            }
            result = receiver.open(frame, offset, length, opened, 0);
        }
        if (result < 0) {
            rejected[-result]++;
            if (result == PeerSeal.UNKNOWN_KEY) {
                request(senderId, System.nanoTime()); // the peer restarted with new keys, or ours were lost
            }
        }
        return result;
    }

    /**
     * @return where {@link #open} put the last payload.
     */
    DirectBuffer opened() {
        return opened;
    }

    private void request(final int peerId, final long nowNs) {
        if (!exchange.isPeer(peerId)) {
            return;
        }
        long[] last = requestedNs.get(peerId);
        if (last == null) {
            last = new long[] {nowNs - REQUEST_INTERVAL_NS};
            requestedNs.put(peerId, last);
        }
        if (nowNs - last[0] < REQUEST_INTERVAL_NS) {
            return;
        }
        last[0] = nowNs;
        final Long due = dueNs.get(peerId);
        if (due == null || due - nowNs > 0) {
            dueNs.put(peerId, nowNs);
            wakeInitiator();
        }
    }

    /**
     * @param reason a negative result of {@link #open}.
     * @return frames refused for it.
     */
    long rejected(final int reason) {
        return -reason < REASONS && reason < 0 ? rejected[-reason] : 0;
    }

    /**
     * @return frames refused, every reason.
     */
    long rejectedTotal() {
        long total = 0;
        for (final long count : rejected) {
            total += count;
        }
        return total;
    }

    /**
     * @param reason a negative result of {@link #open}.
     * @return its name, for counters and logs.
     */
    static String reason(final int reason) {
        return reason == UNKNOWN_SENDER ? "unknown_sender" : PeerSeal.reason(reason);
    }

    /**
     * @param peerId a peer.
     * @return true once frames to it can be sealed.
     */
    boolean canSend(final int peerId) {
        return senders.get(peerId) != null;
    }

    int sendingEpoch(final int peerId) {
        final PeerSeal.Sender sender = senders.get(peerId);
        return sender == null ? -1 : sender.epoch();
    }

    int receivingEpoch(final int peerId) {
        final PeerSeal.Receiver receiver = receivers.get(peerId);
        return receiver == null ? -1 : receiver.epoch();
    }

    /**
     * @return the TCP port keys are agreed on.
     */
    int port() {
        return exchange.port();
    }

    @Override
    public void close() {
        closed = true;
        wakeInitiator();
        exchange.close();
        try {
            initiator.join(2_000);
        } catch (final InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }
}
