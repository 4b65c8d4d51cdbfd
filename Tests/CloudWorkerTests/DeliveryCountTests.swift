import Testing

@testable import CloudWorker

@Suite struct DeliveryCountTests {
    static let header = DeliveryCount.header

    @Test func firstDeliveryIsHandled() {
        #expect(DeliveryCount.decide(redelivered: false, headers: [:], limit: 3) == .handle)
    }

    @Test func redeliveriesAreCountedThenDeadLettered() {
        // Delivered once, lost (crash); back with redelivered: counted and put back.
        #expect(DeliveryCount.decide(redelivered: true, headers: [:], limit: 3) == .republish(count: 2))
        // The republished copy is a fresh delivery carrying its count.
        #expect(DeliveryCount.decide(redelivered: false, headers: [Self.header: "2"], limit: 3) == .handle)
        #expect(DeliveryCount.decide(redelivered: true, headers: [Self.header: "2"], limit: 3) == .republish(count: 3))
        #expect(DeliveryCount.decide(redelivered: true, headers: [Self.header: "3"], limit: 3) == .deadLetter(count: 4))
    }

    @Test func aQuorumQueuesCountIsHonoured() {
        #expect(DeliveryCount.decide(redelivered: true, headers: ["x-delivery-count": "1"], limit: 3) == .republish(count: 2))
        #expect(DeliveryCount.decide(redelivered: true, headers: ["x-delivery-count": "5"], limit: 3) == .deadLetter(count: 6))
    }

    @Test func forgedHeadersCanOnlyRaiseTheCount() {
        #expect(
            DeliveryCount.decide(redelivered: true, headers: [Self.header: "-9", "x-delivery-count": "-9"], limit: 3)
                == .republish(count: 2))
        #expect(DeliveryCount.decide(redelivered: false, headers: [Self.header: "99"], limit: 3) == .deadLetter(count: 99))
        #expect(DeliveryCount.decide(redelivered: true, headers: [Self.header: "\(Int.max)"], limit: 3) == .deadLetter(count: 1_000_001))
        #expect(DeliveryCount.decide(redelivered: true, headers: [Self.header: "x"], limit: 3) == .republish(count: 2))
    }

    @Test func aMessageCountedBeforeIsARepeat() {
        #expect(!DeliveryCount.isRepeat(headers: [:]))
        #expect(DeliveryCount.isRepeat(headers: [Self.header: "2"]))
        #expect(DeliveryCount.isRepeat(headers: ["x-delivery-count": "1"]))
        #expect(!DeliveryCount.isRepeat(headers: ["x-delivery-count": "0"]))
    }
}
