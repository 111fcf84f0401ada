/**
 * Files that must appear whole or not at all after a crash ({@link io.cairn.engine.files.DurableFiles}: fsync, rename,
 * fsync the directory). Used by the WAL, the keyspace and the snapshot files.
 */
package io.cairn.engine.files;
