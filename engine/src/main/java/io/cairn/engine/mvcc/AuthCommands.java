package io.cairn.engine.mvcc;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.util.ArrayList;
import java.util.List;

/**
 * Writes the two authentication commands ({@link MvccCommand#AUTH}, {@link MvccCommand#AUTHED}). An AUTH command is
 * rare (an operator's user or role change): built on the heap, one op list at a time.
 */
public final class AuthCommands {
    private final List<byte[]> keys = new ArrayList<>();
    private final List<byte[]> values = new ArrayList<>(); // null: delete

    /**
     * @param key   a key of the auth table.
     * @param value its new value.
     * @return this.
     */
    public AuthCommands put(final byte[] key, final byte[] value) {
        keys.add(key.clone());
        values.add(value.clone());
        return this;
    }

    /**
     * @param key a key of the auth table to delete.
     * @return this.
     */
    public AuthCommands delete(final byte[] key) {
        keys.add(key.clone());
        values.add(null);
        return this;
    }

    /**
     * @return true when no op was added.
     */
    public boolean isEmpty() {
        return keys.isEmpty();
    }

    /**
     * @param expectedRevision the auth revision the change was prepared at ({@link MvccCommand#AUTH_REVISION_ANY}:
     *                         any).
     * @param flags            {@link MvccCommand#FLAG_KEEP_AUTH_REVISION} or 0.
     * @return the AUTH command.
     */
    public byte[] encode(final long expectedRevision, final int flags) {
        int length = MvccCommand.AUTH_HEADER;
        for (int i = 0; i < keys.size(); i++) {
            final byte[] value = values.get(i);
            length += MvccCommand.AUTH_OP_HEADER + keys.get(i).length + (value == null ? 0 : value.length);
        }
        final byte[] bytes = new byte[length];
        final UnsafeBuffer out = new UnsafeBuffer(bytes);
        out.putByte(MvccCommand.TYPE_OFFSET, MvccCommand.AUTH);
        out.putByte(MvccCommand.FLAGS_OFFSET, (byte)flags);
        out.putLong(MvccCommand.LONG_ARGUMENT_OFFSET, expectedRevision, MvccCommand.ORDER);
        out.putInt(MvccCommand.AUTH_COUNT_OFFSET, keys.size(), MvccCommand.ORDER);
        int position = MvccCommand.AUTH_HEADER;
        for (int i = 0; i < keys.size(); i++) {
            final byte[] key = keys.get(i);
            final byte[] value = values.get(i);
            out.putByte(position, (byte)(value == null ? MvccCommand.AUTH_DELETE : MvccCommand.AUTH_PUT));
            out.putInt(position + 1, key.length, MvccCommand.ORDER);
            out.putInt(position + 5, value == null ? 0 : value.length, MvccCommand.ORDER);
            out.putBytes(position + MvccCommand.AUTH_OP_HEADER, key);
            if (value != null) {
                out.putBytes(position + MvccCommand.AUTH_OP_HEADER + key.length, value);
            }
            position += MvccCommand.AUTH_OP_HEADER + key.length + (value == null ? 0 : value.length);
        }
        return bytes;
    }

    /**
     * Wraps a write in an AUTHED envelope: it applies only while the auth revision is still {@code authRevision}.
     *
     * @param into         where the envelope goes (at 0; {@code length + }{@link #AUTHED_OVERHEAD} bytes).
     * @param authRevision the auth revision its permissions were checked at.
     * @param command      the write.
     * @param offset       where it starts.
     * @param length       its length.
     * @return the envelope's length.
     */
    public static int authed(final MutableDirectBuffer into, final long authRevision, final DirectBuffer command,
        final int offset, final int length) {
        into.putByte(MvccCommand.TYPE_OFFSET, MvccCommand.AUTHED);
        into.setMemory(1, 7, (byte)0);
        into.putLong(MvccCommand.LONG_ARGUMENT_OFFSET, authRevision, MvccCommand.ORDER);
        into.putBytes(MvccCommand.AUTHED_HEADER, command, offset, length);
        return MvccCommand.AUTHED_HEADER + length;
    }

    /** What {@link #authed} adds. */
    public static final int AUTHED_OVERHEAD = MvccCommand.AUTHED_HEADER;
}
