package io.cairn.engine.wal;

import org.agrona.concurrent.UnsafeBuffer;

import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * The process {@link WalCrashTest} kills: opens the WAL, continues the log from where recovery left it, and appends
 * random-sized batches as fast as it can, printing "synced INDEX" after each sync returns. Every payload is derived
 * from its index, so the parent can check each byte after the kill.
 */
public final class WalCrashChild {
    private WalCrashChild() {
    }

    public static void main(final String[] args) throws Exception {
        final Path directory = Path.of(args[0]);
        final long seed = Long.parseLong(args[1]);
        final SplittableRandom random = new SplittableRandom(seed);
        final PrintStream out = System.out;
        final UnsafeBuffer payload = new UnsafeBuffer(ByteBuffer.allocateDirect(64 * 1024));
        final WalBatch batch = new WalBatch(1 << 20);
        try (ChronicleWal wal = ChronicleWal.open(WalConfig.durable(directory))) {
            out.println("opened " + wal.lastIndex());
            out.flush();
            long next = wal.lastIndex() + 1;
            while (true) {
                batch.reset();
                final int entries = 1 + random.nextInt(64);
                for (int i = 0; i < entries; i++) {
                    final int length = fill(payload, next);
                    batch.add(next, 1, (byte)1, payload, 0, length);
                    next++;
                }
                wal.append(batch);
                wal.sync();
                out.println("synced " + (next - 1));
                out.flush();
            }
        }
    }

    /**
     * Writes the payload of entry {@code index}: its length and bytes both follow from the index.
     */
    static int fill(final UnsafeBuffer buffer, final long index) {
        final int length = 8 + (int)(index * 7919 % 4000);
        buffer.putLong(0, index);
        for (int i = 8; i < length; i++) {
            buffer.putByte(i, (byte)(index + i));
        }
        return length;
    }
}
