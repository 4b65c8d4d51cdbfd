import Logging
import QueueConsumer

/// Publishes replies with publisher confirms: to the request's `reply_to`, else to the
/// configured reply queue, which also takes replies whose `reply_to` queue is gone.
struct ReplyPublisher: Sendable {
    let amqp: AMQPClient
    let defaultQueue: String

    var isConnected: Bool { amqp.isConnected }

    func publish(_ reply: Reply, replyTo: String?, correlationID: String?, logger: Logger) async throws {
        let message = AMQPMessage(
            body: reply.json,
            properties: AMQPProperties(
                contentType: "application/json", messageID: nil, correlationID: correlationID, type: "reply",
                deliveryMode: 2))
        let destination = replyTo.flatMap { $0.isEmpty ? nil : $0 } ?? defaultQueue
        // Without a connection a publish would wait for the next one, however long the broker
        // stays away: the caller's delivery is void by then, or its claim stale.
        guard isConnected else { throw AMQPError(.connectionLost, "no connection to the broker") }
        do {
            try await amqp.publish(message, routingKey: destination)
        } catch let error as AMQPError where error.code == .unroutable && destination != defaultQueue {
            logger.warning("reply queue is gone, replying to the default queue", metadata: ["replyTo": "\(destination)"])
            try await amqp.publish(message, routingKey: defaultQueue)
        }
        logger.info("reply published", metadata: ["status": "\(reply.status)", "replyTo": "\(destination)"])
    }
}
