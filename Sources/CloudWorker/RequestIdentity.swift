import ObjectStore
import QueueConsumer

/// Who a request is: its AMQP `message_id`, else its `correlation_id`, else a hash of its body.
/// The same identity always maps to the same Job.
struct RequestIdentity: Sendable, Equatable {
    var value: String
    /// Hex SHA-256 of `value`: label-safe, and the source of the Job name's suffix.
    var hash: String

    init(message: AMQPMessage) {
        let properties = message.properties
        if let id = properties.messageID, !id.isEmpty {
            value = id
        } else if let id = properties.correlationID, !id.isEmpty {
            value = id
        } else {
            value = "sha256:" + Digest.hex(Digest.sha256(message.body))
        }
        hash = Digest.hex(Digest.sha256(Array(value.utf8)))
    }

    /// The label value (label values are limited to 63 characters).
    var label: String { String(hash.prefix(40)) }
}
