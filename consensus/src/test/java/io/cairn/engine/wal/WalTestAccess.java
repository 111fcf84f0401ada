package io.cairn.engine.wal;

import org.agrona.DirectBuffer;

/**
 * Goal: let the consensus tests implement the engine's {@link Wal} interface in memory (the simulator's SimWal).
 * Method: this class sits in the engine's package in the consensus test tree, so it can reach the two
 * package-private members an alternative {@code Wal} needs: the staged bytes of a {@link WalBatch} and the setter of
 * {@link HardState}. The engine could make both public (a {@code WalBatch.forEach(WalEntryHandler)} and a public
 * {@code HardState.set}); until then this bridge keeps engine/ untouched.
 */
public final class WalTestAccess {
    private WalTestAccess() {
    }

    /**
     * @param batch a staged batch.
     * @return its framed records ({@link WalRecord} layout), {@code batch.length()} bytes.
     */
    public static DirectBuffer bytes(final WalBatch batch) {
        return batch.buffer();
    }

    /**
     * @param state  the holder to fill.
     * @param term   current term.
     * @param vote   vote cast.
     * @param commit commit index.
     */
    public static void set(final HardState state, final long term, final long vote, final long commit) {
        state.set(term, vote, commit);
    }
}
