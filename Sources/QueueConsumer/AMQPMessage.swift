/// A message body with the properties the worker reads and writes.
public struct AMQPMessage: Sendable {
    public var body: [UInt8]
    public var properties: AMQPProperties

    public init(body: [UInt8], properties: AMQPProperties = AMQPProperties()) {
        self.body = body
        self.properties = properties
    }
}

public struct AMQPProperties: Sendable, Equatable {
    public var contentType: String?
    public var messageID: String?
    public var correlationID: String?
    public var replyTo: String?
    public var type: String?
    /// The user the producer connected as: RabbitMQ refuses a publish whose `user_id` is not
    /// the connection's own user, so a consumer can trust it to say who published.
    public var userID: String?
    /// 2 = persistent.
    public var deliveryMode: UInt8?
    /// Seconds since 1970, as the producer set it.
    public var timestamp: UInt64?
    /// Header values as strings (numbers and booleans are converted).
    public var headers: [String: String]

    public init(
        contentType: String? = nil,
        messageID: String? = nil,
        correlationID: String? = nil,
        replyTo: String? = nil,
        type: String? = nil,
        userID: String? = nil,
        deliveryMode: UInt8? = nil,
        timestamp: UInt64? = nil,
        headers: [String: String] = [:]
    ) {
        self.timestamp = timestamp
        self.contentType = contentType
        self.messageID = messageID
        self.correlationID = correlationID
        self.replyTo = replyTo
        self.type = type
        self.userID = userID
        self.deliveryMode = deliveryMode
        self.headers = headers
    }
}

/// A message as delivered to the consumer, to be acked or rejected.
public struct AMQPDelivery: Sendable {
    public var message: AMQPMessage
    public var deliveryTag: UInt64
    public var redelivered: Bool
    /// Set, with `message.body` left empty, when the body was larger than the configuration's
    /// `maxBodyBytes`: it was dropped as it arrived, never held in memory.
    public var discardedBodyBytes: UInt64?
    public var exchange: String
    public var routingKey: String
    /// Which connection delivered it: tags are void once that connection is gone.
    public var connectionGeneration: Int
}
