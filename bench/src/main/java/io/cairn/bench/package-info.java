/**
 * JMH harnesses, the physical-limit probes they are compared with, and the hardware profile that labels results.
 * Performance is measured here and never asserted in tests.
 */
package io.cairn.bench;
