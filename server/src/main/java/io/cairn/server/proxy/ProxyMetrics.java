package io.cairn.server.proxy;

import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

import java.util.function.DoubleSupplier;

/**
 * The proxy's {@code /metrics}, with the Prometheus Java client: etcd's grpc-proxy names (cache keys, hits and misses;
 * watchers and events coalescing), Cairn's figures of what coalescing saves the cluster (upstream watches, keep-alives
 * received and sent), and the JVM's and the process's.
 */
final class ProxyMetrics {
    private final PrometheusRegistry registry = new PrometheusRegistry();

    /**
     * @param cache  the range cache.
     * @param watch  the watch proxy.
     * @param leases the lease proxy.
     */
    ProxyMetrics(final RangeCache cache, final WatchProxy watch, final LeaseProxy leases) {
        gauge("etcd_grpc_proxy_cache_keys_total", "Total number of keys/ranges cached", cache::size);
        counter("etcd_grpc_proxy_cache_hits", "Total number of cache hits", cache::hits);
        counter("etcd_grpc_proxy_cache_misses", "Total number of cache misses", cache::misses);
        gauge("etcd_grpc_proxy_watchers_coalescing_total", "Total number of current watchers coalescing",
            () -> Math.max(0, watch.watchers() - watch.upstreamWatches()));
        counter("etcd_grpc_proxy_events_coalescing", "Total number of events coalescing", watch::eventsCoalesced);
        gauge("cairn_grpc_proxy_watchers", "Clients' watchers served by this proxy now", watch::watchers);
        gauge("cairn_grpc_proxy_upstream_watches", "Watches this proxy holds on the cluster for them",
            watch::upstreamWatches);
        counter("cairn_grpc_proxy_keepalives_received", "Lease keep-alive requests from clients", leases::received);
        counter("cairn_grpc_proxy_keepalives_sent", "Lease keep-alive requests sent to the cluster for them",
            leases::sent);
        JvmMetrics.builder().register(registry);
    }

    private void gauge(final String name, final String help, final DoubleSupplier value) {
        GaugeWithCallback.builder().name(name).help(help).callback(callback -> callback.call(value.getAsDouble()))
            .register(registry);
    }

    private void counter(final String name, final String help, final DoubleSupplier value) {
        CounterWithCallback.builder().name(name).help(help).callback(callback -> callback.call(value.getAsDouble()))
            .register(registry);
    }

    /**
     * @return the text format.
     */
    String scrape() {
        return io.cairn.server.http.MemberMetrics.text(registry);
    }
}
