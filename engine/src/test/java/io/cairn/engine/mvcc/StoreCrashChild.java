package io.cairn.engine.mvcc;

import org.agrona.ExpandableDirectByteBuffer;

import java.io.PrintStream;
import java.nio.file.Path;

/**
 * The process {@link StoreCrashTest} kills: opens the keyspace, continues from its applied index, and applies batches
 * of puts as fast as it can (one LMDB write transaction per batch, the applied index inside it, as the event loop
 * does), printing "committed INDEX" after each commit returns. Every batch follows from its index
 * ({@link #batchSize}, {@link #key}, {@link #value}), so the parent can rebuild what the store must hold.
 */
public final class StoreCrashChild {
    /** Distinct keys: small enough that keys are overwritten often, large enough to spread over many pages. */
    static final int KEYS = 3000;

    private StoreCrashChild() {
    }

    public static void main(final String[] args) throws Exception {
        final PrintStream out = System.out;
        final CommandEncoder encoder = new CommandEncoder();
        final ExpandableDirectByteBuffer response = new ExpandableDirectByteBuffer(4096);
        // A quota far above what the rounds write: with the tests' 128 MiB a fast disk filled it by the third round
        // (about 16,500 batches) and the next child exited at once, refused (NOSPACE), before reporting progress.
        try (MvccStore store = MvccStore.open(MvccConfig.defaults(Path.of(args[0])).withSizes(4L << 30, 2L << 30))) {
            out.println("opened " + store.appliedIndex());
            out.flush();
            long index = store.appliedIndex();
            while (true) {
                index++;
                store.beginBatch();
                for (int put = 0; put < batchSize(index); put++) {
                    encoder.reset();
                    encoder.put(MvccTesting.bytes(key(index, put)), MvccTesting.bytes(value(index, put)), 0, 0);
                    store.apply(encoder.buffer(), 0, encoder.length(), response, 0);
                }
                store.commit(index, 1);
                out.println("committed " + index);
                out.flush();
            }
        }
    }

    static int batchSize(final long index) {
        return 1 + (int)(index * 31 % 64);
    }

    static String key(final long index, final int put) {
        return "key-" + Math.floorMod(index * 1_000_003L + put * 7919L, KEYS);
    }

    static String value(final long index, final int put) {
        return "value-" + index + "." + put + "-" + "x".repeat((int)((index + put) % 700));
    }
}
