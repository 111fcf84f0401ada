package io.cairn.transport.aeron;

import io.aeron.Aeron;
import io.aeron.CncFileDescriptor;
import io.aeron.CommonContext;
import io.aeron.ExclusivePublication;
import io.aeron.FragmentAssembler;
import io.aeron.Publication;
import io.aeron.Subscription;
import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import io.aeron.logbuffer.BufferClaim;
import io.aeron.logbuffer.Header;
import io.cairn.consensus.Transport;
import io.cairn.consensus.loop.IdleDefaults;
import io.cairn.engine.check.Check;
import org.agrona.CloseHelper;
import org.agrona.DirectBuffer;
import org.agrona.IoUtil;
import org.agrona.collections.Int2ObjectHashMap;
import org.agrona.concurrent.AgentInvoker;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;

import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;

/**
 * Peer messages over Aeron UDP: one subscription on this node's endpoint, one exclusive publication per peer, an
 * embedded media driver unless the operator runs one. The embedded driver and the Aeron client's conductor have no
 * threads: the event loop that owns this transport runs them ({@link #poll}, {@link #flush}) and sleeps on the
 * driver's sockets ({@link #idleStrategy()}), so a member is one polling thread that sleeps when idle. Every message
 * travels in a {@link PeerFrame}; what fails the frame checks is dropped and counted, never handed on and never thrown.
 *
 * <p>{@link #send} never blocks: it returns {@link #SENT} or why not ({@link #BACK_PRESSURED}, {@link #NOT_CONNECTED},
 * {@link #ADMIN_ACTION}, ...), and Raft decides what to retry. Small frames go through {@code tryClaim} (one copy into
 * the term buffer); larger ones through a two-part {@code offer} (header and payload gathered, still one copy), which
 * Aeron fragments and {@link #poll} reassembles. A peer that is down costs nothing but NOT_CONNECTED answers; one that
 * comes back is reconnected by Aeron on its own.
 *
 * <p>Single-threaded: the event loop owns it.
 */
public final class AeronTransport implements Transport, AutoCloseable {
    // SENT, BACK_PRESSURED and NOT_CONNECTED are consensus's Transport codes.
    /** Aeron was busy with housekeeping: try again at once. */
    public static final int ADMIN_ACTION = 3;
    /** No publication to that node. */
    public static final int UNKNOWN_PEER = 4;
    /** Larger than the largest message ({@link #maxMessageLength()}). */
    public static final int TOO_LARGE = 5;
    /** The publication is closed. */
    public static final int CLOSED = 6;
    /** A sealed frame refused because its sender is not a peer (the other reasons are {@link PeerSeal}'s). */
    public static final int REJECTED_UNKNOWN_SENDER = PeerSecurity.UNKNOWN_SENDER;

    private static final System.Logger LOG = System.getLogger(AeronTransport.class.getName());
    private static final long WARNING_INTERVAL_NS = TimeUnit.SECONDS.toNanos(5);
    /** A driver directory is stale only once untouched and without a live driver heartbeat for this long. */
    static final long STALE_AFTER_MS = 10_000;
    /**
     * Beside the embedded drivers' directories: locked while a member cleans stale ones and launches its own (an
     * empty file, never deleted: a lock file deleted while another process opens it would lock nothing).
     */
    static final String TURN_FILE = "cairn-aeron.lock";

    private final AeronTransportConfig config;
    /** The receive window (and socket buffer): 4 MiB, or what the OS allows (net.core.rmem_max), at least 128 KiB. */
    static final int RECEIVE_WINDOW_BYTES = receiveWindowBytes();

    /** A stall of the loop this long is survived (Aeron's liveness timeouts; its defaults are 10 s). */
    static final long LOOP_STALL_TOLERANCE_NS = TimeUnit.SECONDS.toNanos(60);

    private final MediaDriver driver;
    private final AgentInvoker driverInvoker;
    private final AgentInvoker conductorInvoker;
    private final IdleStrategy idleStrategy;
    private final Aeron aeron;
    private final Subscription subscription;
    private final Int2ObjectHashMap<ExclusivePublication> publications = new Int2ObjectHashMap<>();
    private final FragmentAssembler assembler;
    private final BufferClaim claim = new BufferClaim();
    private final UnsafeBuffer header = new UnsafeBuffer(ByteBuffer.allocateDirect(PeerFrame.HEADER_LENGTH));
    private final CRC32C sendCrc = new CRC32C();
    private final CRC32C receiveCrc = new CRC32C();
    private final long[] dropped = new long[PeerFrame.BAD_CHECKSUM + 1];
    private PeerMessageHandler handler;
    private Transport.MessageHandler consensusHandler;
    private final PeerMessageHandler toConsensus = this::deliverToConsensus;
    private static final int ADMIN_RETRIES_MAX = 3;
    /**
     * Most driver duty cycles one {@link #poll} or {@link #flush} runs: each reads at most one datagram per socket and
     * sends a bounded burst, so this bounds how much one loop cycle takes in (64 datagrams of up to an MTU per peer)
     * before the loop gets back to its requests and its WAL.
     */
    static final int ROUNDS_MAX = 64;
    private long framesSent;
    private long adminRetries;
    private boolean unflushed;
    private long framesReceived;
    private long backPressured;
    private long notConnected;
    private long partitionDropped;
    private final PartitionRules partition = PartitionRules.fromSystemProperty();
    /** Sealed frames (null: plaintext {@link PeerFrame}s). */
    private final PeerSecurity security;
    /** Where a frame too large to claim is sealed before it is offered. */
    private UnsafeBuffer sealed = new UnsafeBuffer(ByteBuffer.allocateDirect(0));
    private long lastWarningNs;
    private boolean closed;

    private AeronTransport(final AeronTransportConfig config) {
        this.config = config;
        final String directory = config.embeddedDirectory();
        MediaDriver launched = null;
        try {
            final Aeron.Context client = new Aeron.Context()
                .aeronDirectoryName(directory)
                .useConductorAgentInvoker(true)
                .driverTimeoutMs(TimeUnit.NANOSECONDS.toMillis(LOOP_STALL_TOLERANCE_NS));
            if (!config.externalDriver()) {
                launched = launchEmbeddedDriver(directory, config);
                client.driverAgentInvoker(launched.sharedAgentInvoker());
            }
            this.driver = launched;
            this.driverInvoker = launched == null ? null : launched.sharedAgentInvoker();
            this.aeron = Aeron.connect(client);
            this.conductorInvoker = aeron.conductorAgentInvoker();
            this.subscription = aeron.addSubscription(
                AeronTransportConfig.channel(config.listenEndpoint(), config.mtuBytes()), config.streamId());
            for (final Map.Entry<Integer, String> peer : config.peers().entrySet()) {
                addPeer(peer.getKey(), peer.getValue());
            }
        } catch (final RuntimeException ex) {
            CloseHelper.quietClose(launched);
            throw ex;
        }
        this.idleStrategy = launched == null ? null : socketWait(launched.context());
        this.assembler = new FragmentAssembler(this::onFragment);
        this.security = config.peerTls() == null ? null : startSecurity(config);
    }

    private PeerSecurity startSecurity(final AeronTransportConfig config) {
        try {
            return new PeerSecurity(config.nodeId(), config.listenEndpoint(), config.peers(), config.peerTls());
        } catch (final IOException ex) {
            close();
            throw new IllegalStateException("node " + config.nodeId() + ": cannot listen for peer keys on TCP "
                + config.listenEndpoint() + ": " + ex.getMessage(), ex);
        }
    }

    /**
     * The media driver of one member, run by the member's own event loop ({@code ThreadingMode.INVOKER}): its
     * conductor, sender and receiver are one duty cycle that {@link #poll} and {@link #flush} invoke, so a member has
     * no thread of its own polling sockets, and the loop sleeps on the driver's sockets ({@link SocketIdleStrategy}).
     * Directories of dead drivers are deleted first.
     */
    private static MediaDriver launchEmbeddedDriver(final String directory, final AeronTransportConfig config) {
        final File own = new File(directory);
        // Members on one machine take turns to clean and launch: one never deletes a directory another is making.
        synchronized (AeronTransport.class) { // a file lock is the process's: threads of one JVM queue here
            try (FileChannel turn = FileChannel.open(new File(own.getParentFile(), TURN_FILE).toPath(),
                StandardOpenOption.CREATE, StandardOpenOption.WRITE); FileLock held = turn.lock()) {
                cleanStaleDirectories(own.getParentFile(), own);
                return launchDriver(directory, config);
            } catch (final IOException ex) {
                // Not ours to lock (another user's file, a read-only directory): leave other directories alone.
                LOG.log(System.Logger.Level.DEBUG, "no turn file in {0} ({1}): stale directories kept",
                    own.getParent(), ex);
                return launchDriver(directory, config);
            }
        }
    }

    private static MediaDriver launchDriver(final String directory, final AeronTransportConfig config) {
        return MediaDriver.launch(new MediaDriver.Context()
            .aeronDirectoryName(directory)
            .threadingMode(ThreadingMode.INVOKER)
            .asyncExecutorEnabled(false) // its own polling thread otherwise: name lookups run on the duty cycle
            // The driver runs only when the loop does: a loop busy for seconds (a large snapshot installed, a long
            // GC) must not make the driver declare its own client dead and close the member's streams.
            .clientLivenessTimeoutNs(LOOP_STALL_TOLERANCE_NS)
            .publicationUnblockTimeoutNs(LOOP_STALL_TOLERANCE_NS + TimeUnit.SECONDS.toNanos(15))
            // Raft's own window (64 appends, 16 MiB per follower) is far wider than Aeron's default 128 KiB, and a
            // receiver's window only opens when its member's loop runs the driver (not while it syncs or applies).
            .socketRcvbufLength(RECEIVE_WINDOW_BYTES)
            .initialWindowLength(RECEIVE_WINDOW_BYTES)
            .dirDeleteOnStart(true)
            .dirDeleteOnShutdown(true)
            .termBufferSparseFile(true)
            .publicationTermBufferLength(config.termBytes())
            .ipcTermBufferLength(64 * 1024)
            .mtuLength(config.mtuBytes())
            .warnIfDirectoryExists(false));
    }

    private static int receiveWindowBytes() {
        final int wanted = 4 << 20;
        try (java.nio.channels.DatagramChannel probe = java.nio.channels.DatagramChannel.open()) {
            probe.setOption(java.net.StandardSocketOptions.SO_RCVBUF, wanted);
            // Linux reports twice what it grants (its bookkeeping overhead): half of it is the usable window.
            final int granted = probe.getOption(java.net.StandardSocketOptions.SO_RCVBUF) / 2;
            return Math.max(128 << 10, Math.min(wanted, Integer.highestOneBit(Math.max(granted, 1))));
        } catch (final IOException ex) {
            return 128 << 10; // Aeron's default
        }
    }

    private static IdleStrategy socketWait(final MediaDriver.Context context) {
        try {
            return SocketIdleStrategy.of(context, IdleDefaults.WAIT_MAX_NS);
        } catch (final ReflectiveOperationException | IOException | RuntimeException ex) {
            LOG.log(System.Logger.Level.WARNING, "cannot wait on the Aeron driver''s sockets ({0}); the loop parks "
                + "instead (up to {1} µs per message)", ex, IdleDefaults.PARK_MAX_NS / 1000);
            return null;
        }
    }

    /**
     * Starts the transport (and its embedded media driver, unless configured to use an external one).
     *
     * @param config where to listen and who the peers are.
     * @return the transport.
     */
    public static AeronTransport launch(final AeronTransportConfig config) {
        return new AeronTransport(config);
    }

    /**
     * Deletes embedded-driver directories of ours (prefix {@link AeronTransportConfig#DIRECTORY_PREFIX}) whose
     * driver is no longer alive: a SIGKILLed node leaves tens of MB of /dev/shm behind otherwise. A directory touched
     * in the last {@link #STALE_AFTER_MS} is left alone whatever its state (another process may be launching it).
     *
     * @param parent where embedded directories live.
     * @param own    this node's directory (replaced at start anyway; skipped).
     * @return directories deleted.
     */
    static int cleanStaleDirectories(final File parent, final File own) {
        return cleanStaleDirectories(parent, own, STALE_AFTER_MS);
    }

    /**
     * {@link #cleanStaleDirectories(File, File)} with another idea of stale (tests).
     *
     * @param parent      where embedded directories live.
     * @param own         this node's directory (skipped).
     * @param staleAfterMs how old a directory and a driver's heartbeat must be.
     * @return directories deleted.
     */
    static int cleanStaleDirectories(final File parent, final File own, final long staleAfterMs) {
        final File[] candidates = parent == null ? null : parent.listFiles(
            file -> file.isDirectory() && file.getName().startsWith(AeronTransportConfig.DIRECTORY_PREFIX));
        int deleted = 0;
        if (candidates == null) {
            return 0;
        }
        for (final File candidate : candidates) {
            if (candidate.equals(own) || recentlyTouched(candidate, staleAfterMs) || mayBeAlive(candidate,
                staleAfterMs)) {
                continue;
            }
            final File[] files = candidate.listFiles();
            boolean whole = true;
            if (files != null) {
                for (final File file : files) {
                    whole &= deleteTree(file);
                }
            }
            if (whole && candidate.delete()) {
                deleted++;
                LOG.log(System.Logger.Level.INFO, "deleted stale Aeron directory {0}", candidate);
            }
        }
        return deleted;
    }

    /**
     * Whether a directory's driver may still run: the process its {@code cnc.dat} names exists (a reused id keeps a
     * dead one's directory, never the reverse), or its heartbeat is fresh. The heartbeat alone is not enough: an
     * embedded driver beats only when its member's loop runs it, and an idle loop sleeps (found when a member starting
     * in one test deleted the directory of a live, idle member of another).
     */
    private static boolean mayBeAlive(final File candidate, final long staleAfterMs) {
        final File cnc = new File(candidate, CncFileDescriptor.CNC_FILE);
        try {
            if (cnc.length() >= CncFileDescriptor.META_DATA_LENGTH) {
                final java.nio.MappedByteBuffer mapped = IoUtil.mapExistingFile(cnc, "CnC file");
                final long pid;
                try {
                    pid = new UnsafeBuffer(mapped).getLong(CncFileDescriptor.pidOffset(0));
                } finally {
                    IoUtil.unmap(mapped);
                }
                if (pid > 0 && ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
                    return true;
                }
            }
            return CommonContext.isDriverActive(candidate, staleAfterMs, message -> { });
        } catch (final RuntimeException ex) {
            return true; // unreadable or half made: not ours to judge
        }
    }

    // A driver another process is launching right now has no (or a not yet valid) cnc.dat: not stale.
    private static boolean recentlyTouched(final File candidate, final long staleAfterMs) {
        final long newest = Math.max(candidate.lastModified(), new File(candidate, "cnc.dat").lastModified());
        return System.currentTimeMillis() - newest < staleAfterMs;
    }

    private static boolean deleteTree(final File file) {
        final File[] children = file.listFiles();
        boolean whole = true;
        if (children != null) {
            for (final File child : children) {
                whole &= deleteTree(child);
            }
        }
        return file.delete() && whole;
    }

    /**
     * Adds (or replaces) the publication to a peer: membership changes.
     *
     * @param nodeId   the peer.
     * @param endpoint its {@code host:port}.
     */
    public void addPeer(final int nodeId, final String endpoint) {
        Check.state(nodeId != config.nodeId(), "a node does not publish to itself", nodeId);
        removePeer(nodeId);
        AeronTransportConfig.port(endpoint);
        final String channel = AeronTransportConfig.channel(endpoint, config.mtuBytes());
        publications.put(nodeId, aeron.addExclusivePublication(channel, config.streamId()));
        if (security != null) {
            security.addPeer(nodeId, endpoint);
        }
    }

    /**
     * @param nodeId a peer no longer in the cluster.
     */
    public void removePeer(final int nodeId) {
        CloseHelper.quietClose(publications.remove(nodeId));
        if (security != null) {
            security.removePeer(nodeId);
        }
    }

    /**
     * @param nodeId a peer.
     * @return true while a receiver of that peer's is connected.
     */
    public boolean isConnected(final int nodeId) {
        final Publication publication = publications.get(nodeId);
        return publication != null && publication.isConnected();
    }

    /**
     * @return the largest message {@link #send} accepts.
     */
    public int maxMessageLength() {
        return subscriptionMaxMessageLength() - overhead();
    }

    /** What framing adds to a message: the plaintext header, or the sealed header and tag. */
    private int overhead() {
        return security == null ? PeerFrame.HEADER_LENGTH : PeerSeal.frameLength(0);
    }

    private int subscriptionMaxMessageLength() {
        for (final ExclusivePublication publication : publications.values()) {
            return publication.maxMessageLength();
        }
        return Math.min(config.termBytes() / 8, 16 << 20);
    }

    /**
     * Sends one message to one peer, framed; never blocks.
     *
     * @param nodeId the peer.
     * @param buffer the message (consensus's encoding).
     * @param offset where it starts.
     * @param length its length.
     * @return {@link #SENT} or why not.
     */
    @Override
    public int send(final int nodeId, final DirectBuffer buffer, final int offset, final int length) {
        final ExclusivePublication publication = publications.get(nodeId);
        if (publication == null) {
            return UNKNOWN_PEER;
        }
        if (partition != null && partition.blocks(nodeId)) {
            partitionDropped++;
            return SENT; // a cut network takes the message and loses it
        }
        final int frameLength = overhead() + length;
        if (frameLength > publication.maxMessageLength()) {
            return TOO_LARGE;
        }
        final PeerSeal.Sender sender = security == null ? null : security.sender(nodeId);
        if (security != null && sender == null) {
            notConnected++;
            return NOT_CONNECTED; // no key agreed with that peer yet (one is being asked for)
        }
        long result = sender == null ? offer(publication, frameLength, buffer, offset, length)
            : offerSealed(publication, sender, frameLength, buffer, offset, length);
        // ADMIN_ACTION (the term rotated under this offer, every term's worth of bytes) means "try again at once":
        // dropping it lost a forwarded proposal or read every few seconds under load, an error to its client.
        for (int retry = 0; retry < ADMIN_RETRIES_MAX && result == Publication.ADMIN_ACTION; retry++) {
            adminRetries++;
            result = sender == null ? offer(publication, frameLength, buffer, offset, length)
                : offerSealed(publication, sender, frameLength, buffer, offset, length);
        }
        return outcome(result);
    }

    /** A sealed frame: into the claimed term buffer when it fits one, else sealed aside and offered (fragmented). */
    private long offerSealed(final ExclusivePublication publication, final PeerSeal.Sender sender,
        final int frameLength, final DirectBuffer buffer, final int offset, final int length) {
        if (frameLength <= publication.maxPayloadLength()) {
            final long result = publication.tryClaim(frameLength, claim);
            if (result > 0) {
                try {
                    sender.seal(buffer, offset, length, claim.buffer(), claim.offset());
                } catch (final RuntimeException ex) {
                    claim.abort();
                    throw ex;
                }
                claim.commit();
            }
            return result;
        }
        if (sealed.capacity() < frameLength) {
            sealed = new UnsafeBuffer(ByteBuffer.allocateDirect(Integer.highestOneBit(frameLength) << 1));
        }
        sender.seal(buffer, offset, length, sealed, 0);
        return publication.offer(sealed, 0, frameLength);
    }

    private long offer(final ExclusivePublication publication, final int frameLength, final DirectBuffer buffer,
        final int offset, final int length) {
        if (frameLength <= publication.maxPayloadLength()) {
            final long result = publication.tryClaim(frameLength, claim);
            if (result > 0) {
                final int at = claim.offset();
                PeerFrame.writeHeader(sendCrc, claim.buffer(), at, config.nodeId(), buffer, offset, length);
                claim.buffer().putBytes(at + PeerFrame.HEADER_LENGTH, buffer, offset, length);
                claim.commit();
            }
            return result;
        }
        PeerFrame.writeHeader(sendCrc, header, 0, config.nodeId(), buffer, offset, length);
        return publication.offer(header, 0, PeerFrame.HEADER_LENGTH, buffer, offset, length);
    }

    private int outcome(final long result) {
        if (result > 0) {
            framesSent++;
            unflushed = true;
            return SENT;
        }
        if (result == Publication.BACK_PRESSURED) {
            backPressured++;
            return BACK_PRESSURED;
        }
        if (result == Publication.NOT_CONNECTED) {
            notConnected++;
            return NOT_CONNECTED;
        }
        if (result == Publication.ADMIN_ACTION) {
            return ADMIN_ACTION;
        }
        return CLOSED;
    }

    /**
     * Hands every message that arrived (up to {@code fragmentLimit} fragments) to {@code handler}.
     *
     * @param handler       receives valid messages.
     * @param fragmentLimit most fragments read.
     * @return fragments read (work done, for the idle strategy).
     */
    public int poll(final PeerMessageHandler handler, final int fragmentLimit) {
        this.handler = handler;
        try {
            // One driver duty cycle reads at most one datagram per socket: a single invocation per loop cycle held
            // a follower to one append message per WAL sync (4 entries a sync at 512 in flight, the rest queued in
            // Aeron's window). So: invoke and read until the sockets are drained, the limit is met, or ROUNDS_MAX.
            int work = security == null ? 0 : security.installKeys(System.nanoTime());
            int fragments = 0;
            for (int round = 0; round < ROUNDS_MAX; round++) {
                final int driven = invoke();
                final int read = subscription.poll(assembler, fragmentLimit - fragments);
                work += driven;
                fragments += read;
                if (driven + read == 0 || fragments >= fragmentLimit) {
                    break;
                }
            }
            return work + fragments;
        } finally {
            this.handler = null;
        }
    }

    /**
     * Hands every message that arrived to consensus (the sender is inside consensus's own message).
     *
     * @param handler       the core's message intake.
     * @param fragmentLimit most fragments read.
     * @return fragments read.
     */
    @Override
    public int poll(final Transport.MessageHandler handler, final int fragmentLimit) {
        consensusHandler = handler;
        try {
            return poll(toConsensus, fragmentLimit);
        } finally {
            consensusHandler = null;
        }
    }

    /**
     * Runs the embedded driver's duty cycle (its sender puts what {@link #send} queued on the wire) and the client
     * conductor's, if anything was sent since the last flush.
     *
     * @return work done.
     */
    @Override
    public int flush() {
        if (!unflushed) {
            return 0; // nothing queued: the driver's housekeeping waits for the next poll (timers tolerate that)
        }
        unflushed = false;
        // The sender puts a bounded burst on the wire per duty cycle: run it until it has nothing left to send.
        int work = 0;
        for (int round = 0; round < ROUNDS_MAX; round++) {
            final int driven = invoke();
            work += driven;
            if (driven == 0) {
                break;
            }
        }
        return work;
    }

    /**
     * Runs the driver's and the client conductor's duty cycles whatever was sent: for tests that drive several
     * transports from one thread without reading their messages.
     *
     * @return work done.
     */
    int invokeDriver() {
        return invoke();
    }

    private int invoke() {
        return (driverInvoker == null ? 0 : driverInvoker.invoke()) + conductorInvoker.invoke();
    }

    /**
     * @return the loop's sleep on the embedded driver's sockets ({@link SocketIdleStrategy}), or null with an external
     *     driver (whose sockets live in another process: the loop parks).
     */
    @Override
    public IdleStrategy idleStrategy() {
        return idleStrategy;
    }

    private void deliverToConsensus(final int senderId, final DirectBuffer buffer, final int offset, final int length) {
        consensusHandler.onMessage(buffer, offset, length);
    }

    private void onFragment(final DirectBuffer buffer, final int offset, final int length, final Header frameHeader) {
        if (security != null) {
            onSealedFragment(buffer, offset, length);
            return;
        }
        final int status = PeerFrame.check(receiveCrc, buffer, offset, length);
        if (status != PeerFrame.VALID) {
            dropped[status]++;
            final long now = System.nanoTime();
            if (now - lastWarningNs > WARNING_INTERVAL_NS) {
                lastWarningNs = now;
                LOG.log(System.Logger.Level.WARNING, "node {0}: dropped a malformed peer frame ({1}, {2} bytes); "
                    + "dropped so far: {3}", config.nodeId(), reason(status), length, droppedFrames());
            }
            return;
        }
        if (partition != null && partition.blocks(PeerFrame.senderId(buffer, offset))) {
            partitionDropped++;
            return;
        }
        framesReceived++;
        handler.onMessage(PeerFrame.senderId(buffer, offset), buffer, offset + PeerFrame.HEADER_LENGTH,
            length - PeerFrame.HEADER_LENGTH);
    }

    private void onSealedFragment(final DirectBuffer buffer, final int offset, final int length) {
        final int opened = security.open(buffer, offset, length);
        if (opened < 0) {
            final long now = System.nanoTime();
            if (now - lastWarningNs > WARNING_INTERVAL_NS) {
                lastWarningNs = now;
                LOG.log(System.Logger.Level.WARNING, "node {0}: refused a peer frame ({1}, {2} bytes, claiming to be "
                    + "from {3}); refused so far: {4}", config.nodeId(), PeerSecurity.reason(opened), length,
                    Integer.toUnsignedString(length >= PeerSeal.HEADER_LENGTH
                        ? buffer.getInt(offset + PeerSeal.SENDER_OFFSET, PeerSeal.ORDER) : 0),
                    security.rejectedTotal());
            }
            return;
        }
        final int senderId = buffer.getInt(offset + PeerSeal.SENDER_OFFSET, PeerSeal.ORDER);
        if (partition != null && partition.blocks(senderId)) {
            partitionDropped++;
            return;
        }
        framesReceived++;
        handler.onMessage(senderId, security.opened(), 0, opened);
    }

    private static String reason(final int status) {
        switch (status) {
            case PeerFrame.TRUNCATED:
                return "shorter than a header";
            case PeerFrame.FOREIGN:
                return "not a Cairn frame";
            case PeerFrame.UNKNOWN_VERSION:
                return "unknown frame version";
            case PeerFrame.BAD_LENGTH:
                return "length field disagrees";
            default:
                return "checksum mismatch";
        }
    }

    /**
     * @return frames handed to Aeron.
     */
    public long framesSent() {
        return framesSent;
    }

    /**
     * @return valid frames received.
     */
    public long framesReceived() {
        return framesReceived;
    }

    /**
     * @return malformed frames dropped: plaintext frames that failed their checks, or sealed ones refused (every
     *     reason of {@link #rejectedFrames(int)}).
     */
    public long droppedFrames() {
        long total = security == null ? 0 : security.rejectedTotal();
        for (final long count : dropped) {
            total += count;
        }
        return total;
    }

    /**
     * @return true when every frame is sealed ({@link AeronTransportConfig#peerTls()}).
     */
    public boolean sealed() {
        return security != null;
    }

    /**
     * @param reason a negative result of {@link PeerSeal.Receiver#open} ({@link PeerSeal#BAD_TAG} and the rest), or
     *               {@link #REJECTED_UNKNOWN_SENDER}.
     * @return sealed frames refused for that reason (0 in plaintext mode).
     */
    public long rejectedFrames(final int reason) {
        return security == null ? 0 : security.rejected(reason);
    }

    /**
     * @param reason as {@link #rejectedFrames(int)}.
     * @return its name ({@code bad_tag}, {@code replayed}, ...).
     */
    public static String rejectionReason(final int reason) {
        return PeerSecurity.reason(reason);
    }

    /**
     * @param nodeId a peer.
     * @return true once a key to seal frames to it has been agreed (always true in plaintext mode).
     */
    public boolean hasKeyFor(final int nodeId) {
        return security == null || security.canSend(nodeId);
    }

    /**
     * @return sends retried at once because Aeron was rotating the term (ADMIN_ACTION).
     */
    public long adminRetries() {
        return adminRetries;
    }

    /**
     * @return sends refused for back-pressure.
     */
    public long backPressured() {
        return backPressured;
    }

    /**
     * @return sends refused for want of a connected receiver.
     */
    public long notConnected() {
        return notConnected;
    }

    /** Agrees new keys with a peer now (the hourly rotation, early): for tests. */
    void renewKeys(final int nodeId) {
        security.renew(nodeId);
    }

    /** The epoch of the key frames to a peer are sealed with now (-1: none): for tests. */
    int sendingEpoch(final int nodeId) {
        return security.sendingEpoch(nodeId);
    }

    /** The epoch of the newest key a peer gave this member (-1: none): for tests. */
    int receivingEpoch(final int nodeId) {
        return security.receivingEpoch(nodeId);
    }

    Aeron aeron() {
        return aeron;
    }

    /**
     * @return the media driver directory in use.
     */
    public String aeronDirectory() {
        return aeron.context().aeronDirectoryName();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        CloseHelper.quietClose(security);
        for (final ExclusivePublication publication : publications.values()) {
            CloseHelper.quietClose(publication);
        }
        publications.clear();
        CloseHelper.quietClose(subscription);
        CloseHelper.quietClose(aeron);
        CloseHelper.quietClose(driver);
        if (idleStrategy instanceof SocketIdleStrategy socketWait) {
            socketWait.close();
        }
        CloseHelper.quietClose(partition);
    }

    /**
     * @return frames dropped by the test partition rules ({@code -Dcairn.transport.partitionFile}).
     */
    public long partitionDropped() {
        return partitionDropped;
    }
}
