/**
 * Probes of the physical limits results are compared with (the disk's raw fdatasync), measured in the same run as
 * the component they bound.
 */
package io.cairn.bench.limits;
