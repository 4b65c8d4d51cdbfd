import CMalloc
import Prometheus

/// The bytes the worker's heap holds in live allocations, from glibc's `mallinfo2`, read at each
/// scrape. RSS also counts the free memory the allocator keeps in its per-thread arenas, which
/// varies with how threads happened to interleave; this figure grows only with what is kept.
struct HeapGauge: Sendable {
    private let gauge: Gauge

    init(registry: PrometheusCollectorRegistry) {
        gauge = registry.makeGauge(
            descriptor: MetricNameDescriptor(
                namespace: "cloud_worker", metricName: "heap_allocated", unitName: "bytes",
                helpText: "Bytes in live heap allocations (glibc mallinfo2: in-use chunks plus mmapped ones)"))
    }

    func update() {
        let info = mallinfo2()
        gauge.set(Int64(info.uordblks + info.hblkhd))
    }
}
