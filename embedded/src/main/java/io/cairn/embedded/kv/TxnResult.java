package io.cairn.embedded.kv;

import java.util.List;

/**
 * A transaction's answer.
 *
 * @param revision  the revision after it.
 * @param succeeded whether every compare held (the "then" ops ran) or not (the "else" ops ran).
 * @param results   the answers of the ops that ran, in order.
 */
public record TxnResult(long revision, boolean succeeded, List<OpResult> results) implements OpResult {
}
