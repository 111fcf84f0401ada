package io.cairn.server;

import io.aeron.Aeron;
import io.aeron.ExclusivePublication;
import io.aeron.driver.MediaDriver;
import io.cairn.consensus.EntryType;
import io.cairn.consensus.RaftMessageEncoder;
import io.cairn.transport.aeron.AeronTransportConfig;
import io.cairn.transport.aeron.PeerFrame;
import io.cairn.transport.aeron.PeerSeal;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;

/**
 * A hostile process on the members' network that knows Cairn's frame formats and member IDs, and nothing else: it
 * sends a member well-formed Raft messages as if from another member (a heartbeat and an append claiming leadership
 * at a far higher term, a vote request at that term, a TimeoutNow), each framed as plaintext (version 1, a valid
 * CRC32C) and sealed (version 2) under keys of its own at every epoch it can guess. Prints {@code sent N} at the end.
 *
 * <p>Arguments: the target's peer {@code host:port}, the ID to claim, the target's ID, the term to claim, seconds to
 * keep sending.
 */
public final class HostilePeer {
    private HostilePeer() {
    }

    /**
     * @param args target endpoint, claimed sender ID, target ID, term, seconds.
     */
    public static void main(final String[] args) {
        final String target = args[0];
        final int from = Integer.parseInt(args[1]);
        final int to = Integer.parseInt(args[2]);
        final long term = Long.parseLong(args[3]);
        final long seconds = Long.parseLong(args[4]);
        final MediaDriver.Context driverContext = new MediaDriver.Context()
            .aeronDirectoryName(System.getProperty("java.io.tmpdir") + "/hostile-peer-" + ProcessHandle.current().pid())
            .dirDeleteOnStart(true).dirDeleteOnShutdown(true).termBufferSparseFile(true)
            .publicationTermBufferLength(1 << 20);
        long sent = 0;
        try (MediaDriver driver = MediaDriver.launch(driverContext);
            Aeron aeron = Aeron.connect(new Aeron.Context().aeronDirectoryName(driver.aeronDirectoryName()));
            ExclusivePublication publication = aeron.addExclusivePublication(
                "aeron:udp?endpoint=" + target + "|mtu=" + AeronTransportConfig.MTU_BYTES_DEFAULT,
                AeronTransportConfig.STREAM_ID_DEFAULT)) {
            final long connectDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!publication.isConnected() && System.nanoTime() < connectDeadline) {
                Thread.sleep(10);
            }
            final UnsafeBuffer message = new UnsafeBuffer(ByteBuffer.allocateDirect(1024));
            final UnsafeBuffer frame = new UnsafeBuffer(ByteBuffer.allocateDirect(2048));
            final RaftMessageEncoder encoder = new RaftMessageEncoder().wrap(message, 0);
            final CRC32C crc = new CRC32C();
            final SecureRandom random = new SecureRandom();
            final long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            long counter = 1L << 40;
            while (System.nanoTime() < end) {
                for (int kind = 0; kind < 4; kind++) {
                    final int length = switch (kind) {
                        case 0 -> encoder.encodeHeartbeat(from, to, term, Long.MAX_VALUE / 2, 0);
                        case 1 -> encoder.encodeVoteRequest(false, true, from, to, term, Long.MAX_VALUE / 2, term);
                        case 2 -> encoder.encodeTimeoutNow(from, to, term);
                        default -> forgedAppend(encoder, from, to, term);
                    };
                    // Plaintext, as a member in plaintext mode sends it.
                    PeerFrame.writeHeader(crc, frame, 0, from, message, 0, length);
                    frame.putBytes(PeerFrame.HEADER_LENGTH, message, 0, length);
                    sent += offer(publication, frame, PeerFrame.HEADER_LENGTH + length);
                    // Sealed under a key of its own, at an epoch it guesses.
                    final byte[] key = new byte[PeerSeal.KEY_LENGTH];
                    random.nextBytes(key);
                    final PeerSeal.Sender forger = new PeerSeal.Sender(from, to, random.nextInt(16), key);
                    for (long skip = 0; skip < (counter++ & 7); skip++) {
                        forger.seal(message, 0, length, frame, 0); // counters a sniffer might have seen pass
                    }
                    sent += offer(publication, frame, forger.seal(message, 0, length, frame, 0));
                }
                Thread.sleep(5);
            }
        } catch (final InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
        System.out.println("sent " + sent);
    }

    private static int forgedAppend(final RaftMessageEncoder encoder, final int from, final int to, final long term) {
        int position = encoder.encodeAppendHeader(from, to, term, 0, 0, Long.MAX_VALUE / 2);
        for (int i = 0; i < 3; i++) {
            position = encoder.appendEntry(position, term, EntryType.NOOP, null, 0, 0);
        }
        encoder.finishAppend(3);
        return position;
    }

    private static int offer(final ExclusivePublication publication, final UnsafeBuffer frame, final int length) {
        return publication.offer(frame, 0, length) > 0 ? 1 : 0;
    }
}
