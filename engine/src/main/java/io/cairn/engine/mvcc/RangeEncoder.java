package io.cairn.engine.mvcc;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * Writes a range's key-values into a RANGE response ({@link MvccResponse} layout) as the scan hands them over, then
 * the counts: the one encoding of a range response, for a range applied in a batch ({@link MvccStore}) and one read
 * from a view ({@link MvccReader}). Reused: no allocation per range.
 */
final class RangeEncoder implements RangeVisitor {
    private MutableDirectBuffer out;
    private int position;
    private int count;
    private boolean keysOnly;

    /**
     * @param response where the response is written (an expandable buffer).
     * @param at       where the response starts in it.
     * @param command  the RANGE command (its keys-only flag).
     * @param offset   where the command starts.
     * @return this, to hand to the scan.
     */
    RangeEncoder begin(final MutableDirectBuffer response, final int at, final DirectBuffer command,
        final int offset) {
        out = response;
        position = at + MvccResponse.RANGE_KVS_OFFSET;
        count = 0;
        keysOnly = (command.getByte(offset + MvccCommand.RANGE_FLAGS_OFFSET) & MvccCommand.FLAG_KEYS_ONLY) != 0;
        return this;
    }

    @Override
    public boolean onKeyValue(final KeyValueView kv) {
        position = kv.encodeInto(out, position, keysOnly);
        count++;
        return true;
    }

    /**
     * Writes the counts after the key-values (the header's status, type and revision are the caller's).
     *
     * @param at         where the response starts.
     * @param rangeCount the keys in range before limit and filters, as etcd counts.
     * @param more       whether the limit cut the range short.
     * @return where the response ends.
     */
    int finish(final int at, final long rangeCount, final boolean more) {
        out.putLong(at + MvccResponse.RANGE_COUNT_OFFSET, rangeCount, MvccResponse.ORDER);
        out.putInt(at + MvccResponse.RANGE_MORE_OFFSET, more ? 1 : 0, MvccResponse.ORDER);
        out.putInt(at + MvccResponse.RANGE_KV_COUNT_OFFSET, count, MvccResponse.ORDER);
        out = null;
        return position;
    }

    /** The range was refused: nothing more is written. */
    void abandon() {
        out = null;
    }
}
