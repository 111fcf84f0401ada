package io.cairn.consensus.loop;

import io.cairn.engine.check.Check;

/**
 * A fixed-capacity FIFO of records of {@code long} fields, kept in one array (a record's fields side by side): the
 * loop's queues of proposals awaiting their outcome, proposals forwarded to the leader and reads awaiting their
 * index. Adds at the tail, takes from the head, drops from the tail (a newer term reusing indexes), reads any record
 * by its position from the head. No allocation after construction; one thread.
 */
final class RecordRing {
    private final long[] records;
    private final int fields;
    private final int capacity;
    private int head;
    private int size;

    /**
     * @param capacity records it holds at most.
     * @param fields   {@code long}s per record.
     */
    RecordRing(final int capacity, final int fields) {
        Check.state(capacity > 0 && fields > 0, "a ring needs room", capacity, fields);
        this.records = new long[capacity * fields];
        this.fields = fields;
        this.capacity = capacity;
    }

    int size() {
        return size;
    }

    boolean isEmpty() {
        return size == 0;
    }

    boolean isFull() {
        return size == capacity;
    }

    /**
     * Appends a record; fill it with {@link #setLast}.
     */
    void add() {
        Check.state(size < capacity, "ring full", capacity);
        size++;
    }

    /**
     * @param field which field of the newest record.
     * @param value its value.
     */
    void setLast(final int field, final long value) {
        records[slot(size - 1) + field] = value;
    }

    /**
     * @param position 0 for the oldest record, {@link #size()} - 1 for the newest.
     * @param field    which field.
     * @return its value.
     */
    long get(final int position, final int field) {
        return records[slot(position) + field];
    }

    /**
     * @param field which field of the oldest record.
     * @return its value.
     */
    long first(final int field) {
        return records[slot(0) + field];
    }

    /**
     * @param field which field of the newest record.
     * @return its value.
     */
    long last(final int field) {
        return records[slot(size - 1) + field];
    }

    /** Drops the oldest record. */
    void removeFirst() {
        Check.state(size > 0, "ring empty");
        head = head + 1 == capacity ? 0 : head + 1;
        size--;
    }

    /** Drops the newest record. */
    void removeLast() {
        Check.state(size > 0, "ring empty");
        size--;
    }

    private int slot(final int position) {
        final int index = head + position;
        return (index < capacity ? index : index - capacity) * fields;
    }
}
