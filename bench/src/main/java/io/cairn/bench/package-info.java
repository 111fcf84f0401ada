/**
 * JMH harnesses, the physical-limit probes they are compared with, the hardware profile that labels results, and
 * ({@code load}) the etcd v3 load generator. Performance is measured here and never asserted in tests.
 */
package io.cairn.bench;
