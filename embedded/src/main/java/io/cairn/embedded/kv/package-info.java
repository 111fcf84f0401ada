/**
 * The values of the KV calls: requests ({@link io.cairn.embedded.kv.RangeQuery}, {@link io.cairn.embedded.kv.Op},
 * {@link io.cairn.embedded.kv.Compare}, {@link io.cairn.embedded.kv.Txn}) and answers
 * ({@link io.cairn.embedded.kv.OpResult}, {@link io.cairn.embedded.kv.KeyValue}). Plain immutable values.
 */
package io.cairn.embedded.kv;
