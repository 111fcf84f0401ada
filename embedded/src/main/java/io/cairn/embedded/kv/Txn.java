package io.cairn.embedded.kv;

import java.util.List;

/**
 * A transaction (etcd's {@code TxnRequest}): if every compare holds, the "then" ops run, else the "else" ops, all at
 * one revision, atomically. A transaction may be an op of another (etcd 3.4 nests them).
 *
 * <pre>{@code
 * Txn.when(Compare.version(key, Compare.Result.EQUAL, 0))   // the key does not exist yet
 *    .then(Op.put(key, value))
 *    .orElse(Op.get(RangeQuery.key(key)));
 * }</pre>
 *
 * @param compares the conditions.
 * @param success  the ops when they all hold.
 * @param failure  the ops otherwise.
 */
public record Txn(List<Compare> compares, List<Op> success, List<Op> failure) implements Op {
    /**
     * Copies the lists.
     */
    public Txn {
        compares = List.copyOf(compares);
        success = List.copyOf(success);
        failure = List.copyOf(failure);
    }

    /**
     * @param compares the conditions (none: the "then" ops always run).
     * @return a transaction with no ops yet.
     */
    public static Txn when(final Compare... compares) {
        return new Txn(List.of(compares), List.of(), List.of());
    }

    /**
     * @param ops what runs when every compare holds.
     * @return this transaction with them.
     */
    public Txn then(final Op... ops) {
        return new Txn(compares, List.of(ops), failure);
    }

    /**
     * @param ops what runs when a compare fails.
     * @return this transaction with them.
     */
    public Txn orElse(final Op... ops) {
        return new Txn(compares, success, List.of(ops));
    }
}
