import Prometheus
import Testing

@testable import CloudWorker

/// The heap gauge follows live allocations: what is allocated shows in it, what is freed leaves it.
@Suite struct HeapGaugeTests {
    static let name = "cloud_worker_heap_allocated_bytes"

    static func reading(_ registry: PrometheusCollectorRegistry, _ gauge: HeapGauge) -> Double {
        gauge.update()
        let text = String(decoding: registry.emitToBuffer(), as: UTF8.self)
        let line = text.split(separator: "\n").first { $0.hasPrefix(name + " ") }
        return line.flatMap { Double($0.dropFirst(name.count + 1)) } ?? -1
    }

    @Test func aLiveAllocationShowsAndAFreedOneLeaves() {
        let registry = PrometheusCollectorRegistry()
        let gauge = HeapGauge(registry: registry)
        // Tests running alongside allocate and free too: a block far larger than their churn
        // between two readings, and half of it as the margin.
        let size = 256 << 20
        let before = Self.reading(registry, gauge)
        let block = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        let holding = Self.reading(registry, gauge)
        block.deallocate()
        let after = Self.reading(registry, gauge)
        #expect(before > 0)
        #expect(holding - before > Double(size / 2))
        #expect(holding - after > Double(size / 2))
    }
}
