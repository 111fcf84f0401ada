package io.cairn.engine.mvcc;

/**
 * Receives key-values as views (valid during the call; copy what must outlive it).
 */
@FunctionalInterface
public interface RangeVisitor {
    /**
     * @param kv a live key-value.
     * @return false to stop the scan.
     */
    boolean onKeyValue(KeyValueView kv);
}
