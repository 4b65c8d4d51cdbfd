/// Delivery bookkeeping for one channel, so that one `basic.ack` with `multiple` can settle a
/// run of deliveries. A `multiple` ack settles every unsettled tag up to its own, so it is only
/// sent for tags below the lowest delivery still in work; a tag above that one is acked by
/// itself, at once: an ack never waits for another delivery, and a delivery whose Job does not
/// exist yet is never acked by a later one's ack.
struct AckBatcher: Sendable {
    /// Delivered and not yet acked or rejected: at most the prefetch count.
    private var unsettled: Set<UInt64> = []

    /// One `basic.ack` to send.
    struct Ack: Equatable, Sendable {
        var tag: UInt64
        var multiple: Bool
    }

    mutating func delivered(_ tag: UInt64) {
        unsettled.insert(tag)
    }

    /// Records a reject, sent by itself before the next acks.
    mutating func rejected(_ tag: UInt64) {
        unsettled.remove(tag)
    }

    /// The acks that settle `tags` (acked since the last call): one `multiple` ack for those
    /// below every delivery still unsettled, one plain ack for each of the others.
    mutating func acks(for tags: [UInt64]) -> [Ack] {
        tags.forEach { unsettled.remove($0) }
        let lowestInWork = unsettled.min() ?? .max
        let covered = tags.filter { $0 < lowestInWork }
        var acks = tags.filter { $0 > lowestInWork }.map { Ack(tag: $0, multiple: false) }
        if let top = covered.max() { acks.insert(Ack(tag: top, multiple: covered.count > 1), at: 0) }
        return acks
    }

    /// Forgets the channel: tags start again from 1 on the next one.
    mutating func reset() {
        unsettled = []
    }
}
