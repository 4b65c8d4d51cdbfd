import Foundation
import Logging
import Testing

@testable import QueueConsumer

/// Against the real RabbitMQ started by `scripts/services.sh` (AMQP_URL, default the local one).
@Suite(.serialized) struct AMQPIntegrationTests {
    static let url = ProcessInfo.processInfo.environment["AMQP_URL"] ?? "amqp://guest:guest@127.0.0.1:5672/%2F"

    /// The broker's URL with one part changed: the same broker, wherever its port was moved.
    static func url(changing change: (inout URLComponents) -> Void) throws -> String {
        var components = try #require(URLComponents(string: url))
        change(&components)
        return try #require(components.string)
    }

    static func client(
        queue: String, url: String = url, prefetch: Int = 10, heartbeat: Int = 30, consumes: Bool = true, maxBodyBytes: Int = .max
    ) throws -> AMQPClient {
        let topology = AMQPTopology(
            requestExchange: "\(queue).x", requestQueue: queue, deadLetterQueue: "\(queue).dlq", replyQueue: "\(queue).replies")
        return AMQPClient(
            configuration: AMQPConfiguration(
                url: try AMQPURL(parsing: url), heartbeat: heartbeat, prefetch: prefetch, topology: topology, consumes: consumes,
                maxBodyBytes: maxBodyBytes),
            logger: Logger(label: "test"))
    }

    static func uniqueQueue() -> String { "cw-it-\(UUID().uuidString.prefix(8).lowercased())" }

    @Test func roundTripKeepsEveryProperty() async throws {
        let queue = Self.uniqueQueue()
        let client = try Self.client(queue: queue)
        try await client.start()
        defer { client.shutdown() }
        let sent = AMQPMessage(
            body: Array(#"{"hello":"world"}"#.utf8),
            properties: AMQPProperties(
                contentType: "application/json", messageID: "m-1", correlationID: "c-1", replyTo: "r-q", type: "request",
                userID: "guest", deliveryMode: 2, timestamp: 1_795_315_000, headers: ["x-reason": "because", "x-n": "7"]))
        try await client.publish(sent, exchange: "\(queue).x", routingKey: queue)
        var iterator = client.deliveries.makeAsyncIterator()
        let delivery = try #require(await iterator.next())
        #expect(delivery.message.body == sent.body)
        #expect(delivery.message.properties == sent.properties)
        #expect(!delivery.redelivered)
        try await client.ack(delivery)
    }

    /// The connection's thread is named for the OS (top, perf), not after the thread that
    /// started it.
    @Test func theConnectionThreadIsNamed() async throws {
        let client = try Self.client(queue: Self.uniqueQueue())
        try await client.start()
        defer { client.shutdown() }
        #expect(Self.threadNames().contains("amqp"), "threads: \(Self.threadNames())")
    }

    static func threadNames() -> [String] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.compactMap { task in
            FileManager.default.contents(atPath: "/proc/self/task/\(task)/comm").map {
                String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .newlines)
            }
        }
    }

    /// Bodies of many frames arrive whole up to the limit; one byte more and the body is
    /// dropped as it arrives, the delivery carrying its size and its properties.
    @Test func bodyOverTheLimitIsDeliveredEmptyWithItsSize() async throws {
        let queue = Self.uniqueQueue()
        let limit = 300_000
        let client = try Self.client(queue: queue, maxBodyBytes: limit)
        try await client.start()
        defer { client.shutdown() }
        let fits = (0..<limit).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try await client.publish(AMQPMessage(body: fits, properties: .init(messageID: "fits")), routingKey: queue)
        try await client.publish(AMQPMessage(body: fits + [0], properties: .init(messageID: "over")), routingKey: queue)
        var iterator = client.deliveries.makeAsyncIterator()
        let whole = try #require(await iterator.next())
        #expect(whole.message.body == fits)
        #expect(whole.discardedBodyBytes == nil)
        let dropped = try #require(await iterator.next())
        #expect(dropped.message.properties.messageID == "over")
        #expect(dropped.message.body.isEmpty)
        #expect(dropped.discardedBodyBytes == UInt64(limit + 1))
        try await client.ack(whole)
        try await client.ack(dropped)
    }

    @Test func unroutableMandatoryPublishFails() async throws {
        let client = try Self.client(queue: Self.uniqueQueue())
        try await client.start()
        defer { client.shutdown() }
        do {
            try await client.publish(AMQPMessage(body: [1]), routingKey: "no-such-queue-\(UUID().uuidString)")
            Issue.record("publish to nowhere was confirmed")
        } catch let error as AMQPError {
            #expect(error.code == .unroutable)
        }
        // The channel still works afterwards.
        try await client.publish(AMQPMessage(body: [2]), routingKey: "\(Self.uniqueQueue())", mandatory: false)
    }

    @Test func rejectWithoutRequeueDropsTheMessage() async throws {
        let queue = Self.uniqueQueue()
        let client = try Self.client(queue: queue)
        try await client.start()
        try await client.publish(AMQPMessage(body: Array("drop me".utf8)), routingKey: queue)
        try await client.publish(AMQPMessage(body: Array("keep me".utf8)), routingKey: queue)
        var iterator = client.deliveries.makeAsyncIterator()
        let first = try #require(await iterator.next())
        try await client.reject(first, requeue: false)
        let second = try #require(await iterator.next())
        #expect(second.message.body == Array("keep me".utf8))
        client.shutdown()
        // A new consumer sees only the unacked second message, redelivered.
        let again = try Self.client(queue: queue)
        try await again.start()
        defer { again.shutdown() }
        var againIterator = again.deliveries.makeAsyncIterator()
        let redelivered = try #require(await againIterator.next())
        #expect(redelivered.message.body == Array("keep me".utf8))
        #expect(redelivered.redelivered)
        try await again.ack(redelivered)
    }

    @Test func wrongPasswordIsNamed() async throws {
        let client = try Self.client(queue: Self.uniqueQueue(), url: Self.url(changing: { $0.password = "wrong" }))
        let error = await #expect(throws: AMQPError.self) { try await client.start(retryingUnavailableBroker: false) }
        #expect(error?.code == .authenticationFailed)
        #expect(error?.description.contains("wrong") == false)
    }

    @Test func unknownVirtualHostIsNamed() async throws {
        let client = try Self.client(queue: Self.uniqueQueue(), url: Self.url(changing: { $0.percentEncodedPath = "/no-such-vhost" }))
        let error = await #expect(throws: AMQPError.self) { try await client.start(retryingUnavailableBroker: false) }
        #expect(error?.code == .virtualHostNotFound || error?.description.contains("no-such-vhost") == true)
    }

    @Test func refusedPortIsNamed() async throws {
        let client = try Self.client(queue: Self.uniqueQueue(), url: "amqp://guest:guest@127.0.0.1:1/%2F")
        let error = await #expect(throws: AMQPError.self) { try await client.start(retryingUnavailableBroker: false) }
        #expect(error?.code == .connectionRefused)
        #expect(error?.description.contains("127.0.0.1:1") == true)
    }
}
