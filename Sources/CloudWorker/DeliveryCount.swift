/// How many times a message has been delivered, so that one that keeps coming back (because
/// handling it crashed or stalled the worker each time) ends in the dead-letter queue instead
/// of crash-looping every replica in turn.
///
/// A classic queue says only `redelivered`, so the worker keeps the count itself: a redelivered
/// message is republished with the count in a header, and the original acked. A quorum queue's
/// own `x-delivery-count` is honoured too. Headers can only raise the count, so a producer that
/// forges them can only get its own message dead-lettered sooner.
enum DeliveryCount {
    static let header = "x-cloud-worker-deliveries"
    static let brokerHeader = "x-delivery-count"

    enum Decision: Equatable {
        case handle
        /// Put it back with this count in `header`, then ack this delivery.
        case republish(count: Int)
        case deadLetter(count: Int)
    }

    static func decide(redelivered: Bool, headers: [String: String], limit: Int) -> Decision {
        // Clamped so that no header value can overflow the arithmetic.
        func number(_ name: String) -> Int? { headers[name].flatMap { Int($0) }.map { min(max($0, 0), 1_000_000) } }
        let counted = max(1, number(header) ?? 1)
        var count = redelivered ? counted + 1 : counted
        if redelivered, let previous = number(brokerHeader) {
            count = max(count, previous + 1)
        }
        if count > limit { return .deadLetter(count: count) }
        return redelivered ? .republish(count: count) : .handle
    }

    /// Whether this message was delivered before: republished with a count, or counted by a
    /// quorum queue.
    static func isRepeat(headers: [String: String]) -> Bool {
        headers[header] != nil || (headers[brokerHeader].flatMap { Int($0) } ?? 0) > 0
    }
}
