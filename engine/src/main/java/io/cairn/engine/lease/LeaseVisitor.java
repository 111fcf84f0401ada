package io.cairn.engine.lease;

/**
 * Receives granted leases.
 */
@FunctionalInterface
public interface LeaseVisitor {
    /**
     * @param leaseId    the lease.
     * @param ttlSeconds the TTL it was granted with.
     */
    void onLease(long leaseId, long ttlSeconds);
}
