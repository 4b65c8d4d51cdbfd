/// Publisher-confirm bookkeeping for one channel: sequence numbers count from 1 after
/// `confirm.select`, and one ack or nack may cover every earlier number (`multiple`).
struct ConfirmTracker: Sendable {
    private(set) var nextSequence: UInt64 = 1
    /// Publish ids waiting for their confirm, in sequence order.
    private var pending: [(sequence: UInt64, id: Int)] = []

    var isEmpty: Bool { pending.isEmpty }

    /// Records a publish and returns its sequence number.
    mutating func published(id: Int) -> UInt64 {
        defer { nextSequence += 1 }
        pending.append((nextSequence, id))
        return nextSequence
    }

    /// The publish ids an ack or nack with `tag` settles, in order.
    mutating func settle(tag: UInt64, multiple: Bool) -> [Int] {
        let settled = pending.filter { multiple ? $0.sequence <= tag : $0.sequence == tag }
        pending.removeAll { multiple ? $0.sequence <= tag : $0.sequence == tag }
        return settled.map(\.id)
    }

    /// Forgets the channel (it is gone) and returns the unconfirmed ids, to publish again.
    mutating func reset() -> [Int] {
        defer {
            pending = []
            nextSequence = 1
        }
        return pending.map(\.id)
    }
}
