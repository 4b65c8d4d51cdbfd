import Foundation
import Logging
import Synchronization
import Testing

@testable import QueueConsumer

/// Recovery against the real broker: prefetch, dropped connections, heartbeats, and a broker
/// restarted (by `scripts/services.sh`) in the middle of a stream of messages.
@Suite(.serialized) struct AMQPRecoveryTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Runs `scripts/services.sh` with `system`/`popen`: plain fork and wait, which unlike
    /// Foundation's Process needs no dispatch queue to notice the exit.
    static func services(_ arguments: String) throws {
        let status = system("bash '\(repository.path)/scripts/services.sh' \(arguments) >/dev/null 2>&1")
        #expect(status == 0, "services.sh \(arguments)")
    }

    /// What `rabbitmqctl ARGUMENTS` prints for the local broker.
    static func rabbitmqctl(_ arguments: String) -> String {
        guard let pipe = popen("bash '\(repository.path)/scripts/services.sh' rabbitmqctl \(arguments)", "r") else { return "" }
        var text = ""
        var buffer = [CChar](repeating: 0, count: 4096)
        while fgets(&buffer, Int32(buffer.count), pipe) != nil { text += String(cString: buffer) }
        pclose(pipe)
        return text
    }

    /// `messages` and `messages_unacknowledged` of a queue, as the broker reports them.
    static func queueDepth(_ queue: String) throws -> String {
        let command =
            "bash '\(repository.path)/scripts/services.sh' rabbitmqctl list_queues -q --no-table-headers name messages messages_unacknowledged"
        guard let pipe = popen(command, "r") else { return "popen failed" }
        var text = ""
        var buffer = [CChar](repeating: 0, count: 4096)
        while fgets(&buffer, Int32(buffer.count), pipe) != nil { text += String(cString: buffer) }
        pclose(pipe)
        let line = text.split(separator: "\n").first { $0.hasPrefix("\(queue)\t") || $0.hasPrefix("\(queue) ") }
        return line.map { $0.split(whereSeparator: { $0 == "\t" || $0 == " " }).dropFirst().joined(separator: "\t") } ?? "missing"
    }

    @Test func deadLetterAndReplyQueuesTakeArguments() async throws {
        let queue = AMQPIntegrationTests.uniqueQueue()
        let topology = AMQPTopology(
            requestExchange: "", requestQueue: queue, deadLetterQueue: "\(queue).dlq", replyQueue: "\(queue).replies",
            deadLetterQueueArguments: ["x-max-length": .integer(1000), "x-queue-type": .string("classic")],
            replyQueueArguments: ["x-message-ttl": .integer(60_000)])
        let client = AMQPClient(
            configuration: AMQPConfiguration(url: try AMQPURL(parsing: AMQPIntegrationTests.url), topology: topology),
            logger: Logger(label: "test"))
        try await client.start()
        client.shutdown()
        let listing = Self.rabbitmqctl("list_queues -q --no-table-headers name arguments")
        let dlq = listing.split(separator: "\n").first { $0.hasPrefix("\(queue).dlq\t") }.map(String.init) ?? ""
        let replies = listing.split(separator: "\n").first { $0.hasPrefix("\(queue).replies\t") }.map(String.init) ?? ""
        #expect(dlq.contains("x-max-length") && dlq.contains("1000") && dlq.contains("classic"), "\(dlq)")
        #expect(replies.contains("x-message-ttl") && replies.contains("60000"), "\(replies)")
    }

    @Test func prefetchHoldsExactlyThatManyUnackedDeliveries() async throws {
        let queue = AMQPIntegrationTests.uniqueQueue()
        let publisher = try AMQPIntegrationTests.client(queue: queue, consumes: false)
        try await publisher.start()
        defer { publisher.shutdown() }
        for index in 0..<20 {
            try await publisher.publish(AMQPMessage(body: Array("\(index)".utf8)), routingKey: queue)
        }
        let consumer = try AMQPIntegrationTests.client(queue: queue, prefetch: 5)
        try await consumer.start()
        defer { consumer.shutdown() }
        let received = Mutex<[AMQPDelivery]>([])
        let reader = Task {
            for await delivery in consumer.deliveries { received.withLock { $0.append(delivery) } }
        }
        try await Task.sleep(nanoseconds: 700_000_000)
        #expect(received.withLock { $0.count } == 5)
        let first = received.withLock { $0[0] }
        try await consumer.ack(first)
        try await Task.sleep(nanoseconds: 500_000_000)
        #expect(received.withLock { $0.count } == 6)
        reader.cancel()
    }

    @Test func idleConnectionWithShortHeartbeatStaysOpen() async throws {
        let queue = AMQPIntegrationTests.uniqueQueue()
        let client = try AMQPIntegrationTests.client(queue: queue, heartbeat: 2)
        try await client.start()
        defer { client.shutdown() }
        try await Task.sleep(nanoseconds: 10_000_000_000)
        #expect(client.isConnected)
        #expect(client.connectionCount == 1)
        try await client.publish(AMQPMessage(body: [1]), routingKey: queue)
        #expect(client.connectionCount == 1)
    }

    @Test func brokerRestartLosesNothing() async throws {
        let queue = AMQPIntegrationTests.uniqueQueue()
        let total = 1000
        let consumer = try AMQPIntegrationTests.client(queue: queue, prefetch: 50)
        let publisher = try AMQPIntegrationTests.client(queue: queue, consumes: false)
        try await consumer.start()
        try await publisher.start()
        defer {
            consumer.shutdown()
            publisher.shutdown()
        }
        let processed = Mutex<[Int: Int]>([:])
        // Acks per message that the broker kept. An ack written just as the broker stops may
        // never be read by it; the broker then redelivers the message, which shows that the
        // earlier ack did not count. So a redelivery cancels the ack that came before it.
        let acked = Mutex<[Int: Int]>([:])
        let reader = Task {
            for await delivery in consumer.deliveries {
                let id = Int(String(decoding: delivery.message.body, as: UTF8.self))!
                processed.withLock { $0[id, default: 0] += 1 }
                if delivery.redelivered { acked.withLock { $0[id] = max(0, ($0[id] ?? 0) - 1) } }
                do {
                    try await consumer.ack(delivery)
                    acked.withLock { $0[id, default: 0] += 1 }
                } catch let error as AMQPError where error.code == .deliveryVoid {
                    continue  // its connection died: the broker delivers it again
                }
            }
        }
        let persistent = AMQPProperties(deliveryMode: 2)
        func publish(_ ids: Range<Int>) async throws {
            for id in ids {
                try await publisher.publish(AMQPMessage(body: Array("\(id)".utf8), properties: persistent), routingKey: queue)
            }
        }
        // Half before the restart; the other half is published while the broker is down and
        // only confirmed once both clients have reconnected by themselves.
        try await publish(0..<total / 2)
        while processed.withLock({ $0.count }) < total / 4 { try await Task.sleep(nanoseconds: 20_000_000) }
        try Self.services("rabbitmq-stop")
        let second = Task { try await publish(total / 2..<total) }
        try await Task.sleep(nanoseconds: 500_000_000)
        try Self.services("rabbitmq-start")
        try await second.value
        let deadline = Date().addingTimeInterval(60)
        while acked.withLock({ $0.count }) < total && Date() < deadline { try await Task.sleep(nanoseconds: 100_000_000) }
        reader.cancel()
        #expect(processed.withLock { $0.count } == total, "every message processed at least once")
        #expect(acked.withLock { $0.count } == total)
        #expect(acked.withLock { $0.values.allSatisfy { $0 == 1 } }, "every message acked exactly once")
        #expect(try Self.queueDepth(queue) == "0\t0", "the broker holds no message, ready or unacked")
        #expect(consumer.connectionCount >= 2 && publisher.connectionCount >= 2, "both reconnected by themselves")
    }
}
