package io.cairn.transport.aeron;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import java.nio.ByteOrder;
import java.security.GeneralSecurityException;

/**
 * Sealed peer frames — version 2 of {@link PeerFrame}, for members that authenticate each other (ARCHITECTURE.md,
 * "Security"): the payload is encrypted and the whole frame authenticated with AES-256-GCM under a key the sender
 * chose and gave only to this receiver (over mutual TLS), so a frame nobody holding that key made is dropped before
 * a byte of it is decoded. {@link PeerSecurity} holds a member's senders and receivers.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-------------------------------+---------------+---------------+
 * |         magic 0xCA1E          |  version (2)  |   reserved    |
 * +-------------------------------+---------------+---------------+
 * |                      sender node ID                           |
 * +---------------------------------------------------------------+
 * |                      receiver node ID                         |
 * +---------------------------------------------------------------+
 * |                      key epoch                                |
 * +---------------------------------------------------------------+
 * |                      counter (64 bits)                        |
 * +                                                               +
 * |                                                               |
 * +---------------------------------------------------------------+
 * |                      payload length                           |
 * +---------------------------------------------------------------+
 * |          encrypted payload ...  |  GCM tag (16 bytes)         |
 * </pre>
 *
 * <p>Little-endian. The 28 header bytes are the GCM's additional data, so a changed sender, receiver, epoch, counter
 * or length fails the tag as a changed payload does. The nonce is the epoch and the counter (12 bytes): a sender's
 * counter only grows under one key, and a new key gets a new epoch, so no nonce repeats under a key. A receiver
 * accepts a counter only above the highest it has opened under that key: one Aeron publication delivers in order,
 * so a replayed or reordered frame is an attack, not the network. The tag is checked before the mark moves, so a
 * forged frame cannot push it. Each side is used by one thread (the member's loop); nothing is shared.
 */
public final class PeerSeal {
    /** The frame layout's version. */
    public static final byte VERSION = 2;
    /** Header length (the authenticated, unencrypted part). */
    public static final int HEADER_LENGTH = 28;
    /** GCM tag length. */
    public static final int TAG_LENGTH = 16;
    /** AES-256. */
    public static final int KEY_LENGTH = 32;

    /** Opened: the payload is authentic and new. Non-negative results of {@link Receiver#open} are lengths. */
    public static final int TRUNCATED = -1;
    /** Not a Cairn frame. */
    public static final int FOREIGN = -2;
    /** Not version 2 (a plaintext frame where frames must be sealed, or an unknown version). */
    public static final int NOT_SEALED = -3;
    /** Sent by another member than this receiver's peer, or to another member than this one. */
    public static final int WRONG_ENDPOINTS = -4;
    /** The length field disagrees with the bytes received. */
    public static final int BAD_LENGTH = -5;
    /** No key of that epoch from this peer. */
    public static final int UNKNOWN_KEY = -6;
    /** A counter at or below the highest already opened under the key. */
    public static final int REPLAYED = -7;
    /** The tag does not match: changed, or made without the key. */
    public static final int BAD_TAG = -8;

    static final ByteOrder ORDER = ByteOrder.LITTLE_ENDIAN;
    static final int SENDER_OFFSET = 4;
    static final int RECEIVER_OFFSET = 8;
    static final int EPOCH_OFFSET = 12;
    static final int COUNTER_OFFSET = 16;
    static final int LENGTH_OFFSET = 24;
    private static final int NONCE_LENGTH = 12;

    private PeerSeal() {
    }

    /**
     * @param payloadLength a payload's length.
     * @return the sealed frame's length.
     */
    public static int frameLength(final int payloadLength) {
        return HEADER_LENGTH + payloadLength + TAG_LENGTH;
    }

    /**
     * @param reason a negative result of {@link Receiver#open}.
     * @return its name, for counters and logs.
     */
    public static String reason(final int reason) {
        return switch (reason) {
            case TRUNCATED -> "truncated";
            case FOREIGN -> "foreign";
            case NOT_SEALED -> "not_sealed";
            case WRONG_ENDPOINTS -> "wrong_endpoints";
            case BAD_LENGTH -> "bad_length";
            case UNKNOWN_KEY -> "unknown_key";
            case REPLAYED -> "replayed";
            case BAD_TAG -> "bad_tag";
            default -> "unknown";
        };
    }

    /**
     * The checks that need no key: long enough, a Cairn frame, version 2, a length field that agrees.
     *
     * @param frame       a received frame.
     * @param frameOffset where it starts.
     * @param frameLength its length.
     * @return 0 when well-formed, or {@link #TRUNCATED}, {@link #FOREIGN}, {@link #NOT_SEALED}, {@link #BAD_LENGTH}.
     */
    public static int check(final DirectBuffer frame, final int frameOffset, final int frameLength) {
        if (frameLength < HEADER_LENGTH + TAG_LENGTH) {
            return frameLength >= 2 && frame.getShort(frameOffset, ORDER) != PeerFrame.MAGIC ? FOREIGN : TRUNCATED;
        }
        if (frame.getShort(frameOffset, ORDER) != PeerFrame.MAGIC) {
            return FOREIGN;
        }
        if (frame.getByte(frameOffset + 2) != VERSION) {
            return NOT_SEALED;
        }
        if (frame.getInt(frameOffset + LENGTH_OFFSET, ORDER) != frameLength - HEADER_LENGTH - TAG_LENGTH) {
            return BAD_LENGTH;
        }
        return 0;
    }

    private static Cipher aesGcm() {
        try {
            return Cipher.getInstance("AES/GCM/NoPadding");
        } catch (final GeneralSecurityException ex) {
            throw new IllegalStateException("this JDK has no AES/GCM", ex);
        }
    }

    private static byte[] nonce(final byte[] nonce, final int epoch, final long counter) {
        for (int i = 0; i < 4; i++) {
            nonce[i] = (byte)(epoch >>> (8 * i));
        }
        for (int i = 0; i < 8; i++) {
            nonce[4 + i] = (byte)(counter >>> (8 * i));
        }
        return nonce;
    }

    private static void checkKey(final byte[] key) {
        if (key == null || key.length != KEY_LENGTH) {
            throw new IllegalArgumentException("a peer key is " + KEY_LENGTH + " bytes");
        }
    }

    /** Seals what one member sends to one peer, under the key it gave that peer. */
    public static final class Sender {
        private final int selfId;
        private final int peerId;
        private final int epoch;
        private final SecretKeySpec key;
        private final Cipher cipher = aesGcm();
        private final byte[] nonce = new byte[NONCE_LENGTH];
        private byte[] scratch = new byte[4096];
        private long counter;

        /**
         * @param selfId this member.
         * @param peerId the peer.
         * @param epoch  the key's number (a new one for every new key).
         * @param key    32 random bytes, given to the peer over mutual TLS.
         */
        public Sender(final int selfId, final int peerId, final int epoch, final byte[] key) {
            checkKey(key);
            this.selfId = selfId;
            this.peerId = peerId;
            this.epoch = epoch;
            this.key = new SecretKeySpec(key, "AES");
        }

        /**
         * @return the key's number.
         */
        public int epoch() {
            return epoch;
        }

        /**
         * @param payload       the message.
         * @param payloadOffset where it starts.
         * @param payloadLength its length.
         * @param frame         where the frame goes ({@link #frameLength} bytes).
         * @param frameOffset   where in it.
         * @return the frame's length.
         */
        public int seal(final DirectBuffer payload, final int payloadOffset, final int payloadLength,
            final MutableDirectBuffer frame, final int frameOffset) {
            counter++;
            frame.putShort(frameOffset, PeerFrame.MAGIC, ORDER);
            frame.putByte(frameOffset + 2, VERSION);
            frame.putByte(frameOffset + 3, (byte)0);
            frame.putInt(frameOffset + SENDER_OFFSET, selfId, ORDER);
            frame.putInt(frameOffset + RECEIVER_OFFSET, peerId, ORDER);
            frame.putInt(frameOffset + EPOCH_OFFSET, epoch, ORDER);
            frame.putLong(frameOffset + COUNTER_OFFSET, counter, ORDER);
            frame.putInt(frameOffset + LENGTH_OFFSET, payloadLength, ORDER);
            final int sealedLength = HEADER_LENGTH + payloadLength + TAG_LENGTH;
            if (scratch.length < sealedLength) {
                scratch = new byte[Integer.highestOneBit(sealedLength) << 1];
            }
            frame.getBytes(frameOffset, scratch, 0, HEADER_LENGTH);
            payload.getBytes(payloadOffset, scratch, HEADER_LENGTH, payloadLength);
            try {
                cipher.init(Cipher.ENCRYPT_MODE, key,
                    new GCMParameterSpec(TAG_LENGTH * 8, nonce(nonce, epoch, counter)));
                cipher.updateAAD(scratch, 0, HEADER_LENGTH);
                final int sealed = cipher.doFinal(scratch, HEADER_LENGTH, payloadLength, scratch, HEADER_LENGTH);
                frame.putBytes(frameOffset + HEADER_LENGTH, scratch, HEADER_LENGTH, sealed);
                return HEADER_LENGTH + sealed;
            } catch (final GeneralSecurityException ex) {
                throw new IllegalStateException("AES/GCM failed to seal", ex);
            }
        }
    }

    /** Opens what one peer sends this member, under the keys that peer gave it. */
    public static final class Receiver {
        private final int selfId;
        private final int peerId;
        private final Cipher cipher = aesGcm();
        private final byte[] nonce = new byte[NONCE_LENGTH];
        private byte[] scratch = new byte[4096];
        /**
         * Keys in the order they were installed, oldest first, with each one's replay mark. A key goes only once the
         * peer has sealed a frame under a key two installs newer (a sender never goes back; the one between stays
         * for frames still in flight), or when more than {@link #KEYS_MAX} are held. Not "the current key and the
         * one before it": exchanges can overlap (both sides start one at start, and a renewal follows), so a sender
         * may still seal under a key two installs old while its newer one waits out its activation delay.
         */
        private static final int KEYS_MAX = 4;
        private final int[] epochs = new int[KEYS_MAX];
        private final SecretKeySpec[] keys = new SecretKeySpec[KEYS_MAX];
        private final long[] highest = new long[KEYS_MAX];
        private int held;

        /**
         * @param selfId this member.
         * @param peerId the peer whose frames it opens.
         */
        public Receiver(final int selfId, final int peerId) {
            this.selfId = selfId;
            this.peerId = peerId;
        }

        /**
         * @return the number of the newest key installed (-1: none).
         */
        public int epoch() {
            return held == 0 ? -1 : epochs[held - 1];
        }

        /**
         * Takes a key the peer gave over mutual TLS; the keys before it stay usable until the peer seals under this
         * one (or a newer one).
         *
         * @param newEpoch its number.
         * @param newKey   32 bytes.
         */
        public void install(final int newEpoch, final byte[] newKey) {
            checkKey(newKey);
            final int same = slot(newEpoch);
            if (same >= 0) {
                if (java.util.Arrays.equals(keys[same].getEncoded(), newKey)) {
                    return; // the same key told twice (a retried exchange): keep its replay mark
                }
                drop(same); // a restarted peer reusing a number: the newer key wins
            }
            if (held == KEYS_MAX) {
                drop(0);
            }
            epochs[held] = newEpoch;
            keys[held] = new SecretKeySpec(newKey, "AES");
            highest[held] = 0;
            held++;
        }

        private int slot(final int frameEpoch) {
            for (int i = held - 1; i >= 0; i--) {
                if (epochs[i] == frameEpoch) {
                    return i;
                }
            }
            return -1;
        }

        /** Forgets the keys installed before slot {@code first}. */
        private void dropBefore(final int first) {
            if (first <= 0) {
                return;
            }
            System.arraycopy(epochs, first, epochs, 0, held - first);
            System.arraycopy(keys, first, keys, 0, held - first);
            System.arraycopy(highest, first, highest, 0, held - first);
            for (int i = held - first; i < held; i++) {
                keys[i] = null;
            }
            held -= first;
        }

        private void drop(final int slot) {
            System.arraycopy(epochs, slot + 1, epochs, slot, held - slot - 1);
            System.arraycopy(keys, slot + 1, keys, slot, held - slot - 1);
            System.arraycopy(highest, slot + 1, highest, slot, held - slot - 1);
            keys[--held] = null;
        }

        /**
         * @param frame       a received frame.
         * @param frameOffset where it starts.
         * @param frameLength its length.
         * @param payload     where the opened payload goes (up to {@code frameLength - HEADER_LENGTH - TAG_LENGTH}).
         * @param offset      where in it.
         * @return the payload's length, or a negative reason ({@link #BAD_TAG} and the rest).
         */
        public int open(final DirectBuffer frame, final int frameOffset, final int frameLength,
            final MutableDirectBuffer payload, final int offset) {
            final int shape = check(frame, frameOffset, frameLength);
            if (shape != 0) {
                return shape;
            }
            if (frame.getInt(frameOffset + SENDER_OFFSET, ORDER) != peerId
                || frame.getInt(frameOffset + RECEIVER_OFFSET, ORDER) != selfId) {
                return WRONG_ENDPOINTS;
            }
            final int payloadLength = frame.getInt(frameOffset + LENGTH_OFFSET, ORDER);
            final int frameEpoch = frame.getInt(frameOffset + EPOCH_OFFSET, ORDER);
            final int slot = slot(frameEpoch);
            if (slot < 0) {
                return UNKNOWN_KEY;
            }
            final long counter = frame.getLong(frameOffset + COUNTER_OFFSET, ORDER);
            if (counter <= highest[slot]) {
                return REPLAYED;
            }
            if (scratch.length < frameLength) {
                scratch = new byte[Integer.highestOneBit(frameLength) << 1];
            }
            frame.getBytes(frameOffset, scratch, 0, frameLength);
            try {
                cipher.init(Cipher.DECRYPT_MODE, keys[slot],
                    new GCMParameterSpec(TAG_LENGTH * 8, nonce(nonce, frameEpoch, counter)));
                cipher.updateAAD(scratch, 0, HEADER_LENGTH);
                final int opened = cipher.doFinal(scratch, HEADER_LENGTH, payloadLength + TAG_LENGTH, scratch,
                    HEADER_LENGTH);
                payload.putBytes(offset, scratch, HEADER_LENGTH, opened);
                highest[slot] = counter;
                dropBefore(slot - 1); // only an authentic frame moves the window; one older key stays for
                // frames still in flight on another stream
                return opened;
            } catch (final AEADBadTagException ex) {
                return BAD_TAG;
            } catch (final GeneralSecurityException ex) {
                throw new IllegalStateException("AES/GCM failed to open", ex);
            }
        }
    }
}
