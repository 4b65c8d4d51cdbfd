import Testing

@testable import QueueConsumer

@Suite struct AckBatcherTests {
    private func batcher(delivered tags: ClosedRange<UInt64>) -> AckBatcher {
        var batcher = AckBatcher()
        tags.forEach { batcher.delivered($0) }
        return batcher
    }

    @Test func consecutiveAcksBecomeOneMultipleAck() {
        var batcher = batcher(delivered: 1...5)
        #expect(batcher.acks(for: [1, 2, 3]) == [.init(tag: 3, multiple: true)])
        #expect(batcher.acks(for: [5, 4]) == [.init(tag: 5, multiple: true)])
    }

    @Test func aSingleAckIsPlain() {
        var batcher = batcher(delivered: 1...2)
        #expect(batcher.acks(for: [1]) == [.init(tag: 1, multiple: false)])
    }

    @Test func tagsAboveADeliveryInWorkAreAckedOneByOne() {
        var batcher = batcher(delivered: 1...5)
        // 2 is still in work: acking 3 or 4 with `multiple` would settle it too.
        #expect(
            batcher.acks(for: [1, 3, 4]) == [
                .init(tag: 1, multiple: false), .init(tag: 3, multiple: false), .init(tag: 4, multiple: false),
            ])
        #expect(batcher.acks(for: [2, 5]) == [.init(tag: 5, multiple: true)])
    }

    @Test func rejectedTagsDoNotHoldBackTheRun() {
        var batcher = batcher(delivered: 1...3)
        batcher.rejected(2)
        #expect(batcher.acks(for: [1, 3]) == [.init(tag: 3, multiple: true)])
    }

    @Test func aNewChannelStartsOver() {
        var batcher = batcher(delivered: 1...3)
        batcher.reset()
        batcher.delivered(1)
        batcher.delivered(2)
        #expect(batcher.acks(for: [2]) == [.init(tag: 2, multiple: false)])
    }
}
