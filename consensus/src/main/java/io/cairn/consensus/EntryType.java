package io.cairn.consensus;

/**
 * Types of log entries, stored as the WAL entry type byte. Types from {@link #NORMAL} up to {@link #APPLICATION_MAX}
 * carry application payloads that the core never looks into; the others belong to Raft.
 */
public final class EntryType {
    /** The entry a new leader appends at the start of its term, so that it can commit earlier-term entries (§5.4.2,
     * thesis §6.4). Empty payload. */
    public static final byte NOOP = 1;
    /** A membership change: the payload is the whole new {@link Membership}, in effect once appended (thesis §4.1). */
    public static final byte CONFIG = 2;
    /** An application command: the first application type. */
    public static final byte NORMAL = 3;
    /** The last application type. */
    public static final byte APPLICATION_MAX = 127;

    private EntryType() {
    }

    /**
     * @param type an entry type.
     * @return true for application types (given to the state machine's command handling).
     */
    public static boolean isApplication(final byte type) {
        return type >= NORMAL;
    }

    /**
     * @param type an entry type.
     * @return true when the type is one this version knows.
     */
    public static boolean isKnown(final byte type) {
        return type >= NOOP;
    }
}
