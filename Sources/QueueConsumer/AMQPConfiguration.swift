/// How to reach the broker and which names to use. Every field but the URL has a default.
public struct AMQPConfiguration: Sendable {
    public var url: AMQPURL
    /// Seconds between heartbeats; 0 turns them off.
    public var heartbeat: Int
    /// Deliveries the broker may send before we ack (= requests in flight at once).
    public var prefetch: Int
    /// Shown in the broker's management UI.
    public var connectionName: String
    public var topology: AMQPTopology
    /// Files for TLS (`amqps`): the CA to verify the broker against (system store otherwise)
    /// and an optional client certificate and key.
    public var caFile: String?
    public var clientCertificateFile: String?
    public var clientKeyFile: String?
    /// Longest wait between reconnection attempts, in seconds.
    public var maxReconnectDelay: Double
    /// Whether to consume the request queue; a publish-only client declares but does not consume.
    public var consumes: Bool
    /// Largest message body delivered: a larger one is dropped frame by frame as it arrives and
    /// delivered empty with its size, so that one huge message cannot exhaust memory.
    public var maxBodyBytes: Int

    public init(
        url: AMQPURL,
        heartbeat: Int = 30,
        prefetch: Int = 32,
        connectionName: String = "cloud-worker",
        topology: AMQPTopology = AMQPTopology(),
        caFile: String? = nil,
        clientCertificateFile: String? = nil,
        clientKeyFile: String? = nil,
        maxReconnectDelay: Double = 10,
        consumes: Bool = true,
        maxBodyBytes: Int = .max
    ) {
        self.consumes = consumes
        self.maxBodyBytes = maxBodyBytes
        self.url = url
        self.heartbeat = heartbeat
        self.prefetch = prefetch
        self.connectionName = connectionName
        self.topology = topology
        self.caFile = caFile
        self.clientCertificateFile = clientCertificateFile
        self.clientKeyFile = clientKeyFile
        self.maxReconnectDelay = maxReconnectDelay
    }
}

/// The exchange and queues declared on every (re)connect.
public struct AMQPTopology: Sendable {
    /// A durable direct exchange the request queue is bound to; empty uses the default exchange.
    public var requestExchange: String
    /// The durable queue consumed, declared without arguments so that producers declaring it
    /// themselves (with none) keep working.
    public var requestQueue: String
    public var requestRoutingKey: String
    public var deadLetterQueue: String
    public var replyQueue: String
    /// Arguments for declaring the dead-letter and reply queues (`x-queue-type`,
    /// `x-message-ttl`, `x-max-length`, ...). The request queue takes none: producers that
    /// declare it themselves declare it without arguments, and RabbitMQ refuses a mismatch.
    public var deadLetterQueueArguments: [String: AMQPArgument]
    public var replyQueueArguments: [String: AMQPArgument]

    public init(
        requestExchange: String = "cloud-worker",
        requestQueue: String = "cloud-worker.requests",
        requestRoutingKey: String? = nil,
        deadLetterQueue: String = "cloud-worker.dead-letter",
        replyQueue: String = "cloud-worker.replies",
        deadLetterQueueArguments: [String: AMQPArgument] = [:],
        replyQueueArguments: [String: AMQPArgument] = [:]
    ) {
        self.deadLetterQueueArguments = deadLetterQueueArguments
        self.replyQueueArguments = replyQueueArguments
        self.requestExchange = requestExchange
        self.requestQueue = requestQueue
        self.requestRoutingKey = requestRoutingKey ?? requestQueue
        self.deadLetterQueue = deadLetterQueue
        self.replyQueue = replyQueue
    }
}

/// A queue-argument value.
public enum AMQPArgument: Sendable, Equatable {
    case string(String)
    case integer(Int64)
}
