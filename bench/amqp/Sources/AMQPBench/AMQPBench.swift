import Foundation
import Logging
import QueueConsumer

/// Publishes N persistent messages with publisher confirms (one at a time, then 100 in flight),
/// then consumes and acks them, and prints messages per second for each phase as JSON.
@main
struct AMQPBench {
    static func main() async throws {
        let arguments = CommandLine.arguments
        let count = arguments.count > 1 ? Int(arguments[1]) ?? 10_000 : 10_000
        let url = ProcessInfo.processInfo.environment["AMQP_URL"] ?? "amqp://guest:guest@127.0.0.1:5672/%2F"
        let queue = "bench-swift-\(UUID().uuidString.prefix(8))"
        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        let topology = AMQPTopology(requestExchange: "", requestQueue: queue, deadLetterQueue: "", replyQueue: "")
        let publisher = AMQPClient(
            configuration: AMQPConfiguration(url: try AMQPURL(parsing: url), topology: topology, consumes: false), logger: logger)
        try await publisher.start()
        let body = [UInt8](repeating: 120, count: 256)
        let message = AMQPMessage(body: body, properties: AMQPProperties(deliveryMode: 2))

        var start = Date()
        for _ in 0..<count / 10 { try await publisher.publish(message, routingKey: queue) }
        let sequential = Double(count / 10) / Date().timeIntervalSince(start)

        start = Date()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<count {
                if index >= 100 { try await group.next() }
                group.addTask { try await publisher.publish(message, routingKey: queue) }
            }
            try await group.waitForAll()
        }
        let pipelined = Double(count) / Date().timeIntervalSince(start)
        publisher.shutdown()

        let consumer = AMQPClient(
            configuration: AMQPConfiguration(url: try AMQPURL(parsing: url), prefetch: 200, topology: topology), logger: logger)
        start = Date()
        try await consumer.start()
        var received = 0
        let total = count + count / 10
        for await delivery in consumer.deliveries {
            try await consumer.ack(delivery)
            received += 1
            if received == total { break }
        }
        let consumed = Double(total) / Date().timeIntervalSince(start)
        consumer.shutdown()
        print(#"{"publish_confirmed_sequential": \#(Int(sequential)), "publish_confirmed_100_in_flight": \#(Int(pipelined)), "consume_ack": \#(Int(consumed))}"#)
    }
}
