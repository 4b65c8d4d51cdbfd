import Backoff
import Foundation
import Glibc
import Logging

/// A RabbitMQ consumer and publisher over rabbitmq-c. One thread owns the connection; the async
/// methods hand it commands and await their outcome. Lost connections are re-established with
/// capped backoff, the topology declared again and consuming resumed; publishes not yet
/// confirmed are sent again.
public final class AMQPClient: Sendable {
    /// Every delivery, across reconnections. Ends when the client stops.
    public let deliveries: AsyncStream<AMQPDelivery>
    private let loop: ConnectionLoop

    public init(configuration: AMQPConfiguration, logger: Logger) {
        let (stream, continuation) = AsyncStream.makeStream(of: AMQPDelivery.self)
        deliveries = stream
        loop = ConnectionLoop(configuration: configuration, logger: logger, deliveries: continuation)
    }

    /// Connects and starts consuming. Returns once the first connection is up.
    /// - Parameter retryingUnavailableBroker: keep trying while the broker cannot be reached
    ///   (it may be starting); other failures (credentials, vhost, TLS) throw at once.
    public func start(retryingUnavailableBroker: Bool = true) async throws {
        try await withCheckedThrowingContinuation { continuation in
            loop.start(retrying: retryingUnavailableBroker, started: continuation)
        }
    }

    /// Acknowledges a delivery. Returns once the ack is queued for the connection thread, which
    /// sends the acks queued together in as few frames as it may (`AckBatcher`). Throws
    /// `deliveryVoid` if its connection is gone; if the connection is lost before the ack is
    /// sent, the broker delivers the message again, as it does for an ack lost on the wire.
    public func ack(_ delivery: AMQPDelivery) async throws {
        try loop.enqueueAck(delivery.deliveryTag, generation: delivery.connectionGeneration)
    }

    /// Rejects a delivery; without requeue the broker drops it (or dead-letters it by queue policy).
    public func reject(_ delivery: AMQPDelivery, requeue: Bool) async throws {
        try await loop.perform { .reject(delivery.deliveryTag, generation: delivery.connectionGeneration, requeue: requeue, $0) }
    }

    /// Publishes and returns once the broker has confirmed the message. With `mandatory`, a
    /// message no queue takes throws `unroutable`.
    public func publish(_ message: AMQPMessage, exchange: String = "", routingKey: String, mandatory: Bool = true) async throws {
        try await loop.perform {
            .publish(PendingPublish(exchange: exchange, routingKey: routingKey, mandatory: mandatory, message: message, completion: $0))
        }
    }

    /// Whether a connection is currently up.
    public var isConnected: Bool { loop.isConnected }

    /// How many connections have been established so far (1 + reconnections).
    public var connectionCount: Int { loop.connectionCount }

    /// Closes the connection; unacked deliveries go back to the queue.
    public func shutdown() {
        loop.stop()
    }
}

/// A publish waiting to be sent or confirmed.
struct PendingPublish: @unchecked Sendable {
    var exchange: String
    var routingKey: String
    var mandatory: Bool
    var message: AMQPMessage
    var completion: CheckedContinuation<Void, any Error>
}

enum Command: @unchecked Sendable {
    case ack(UInt64, generation: Int)
    case reject(UInt64, generation: Int, requeue: Bool, CheckedContinuation<Void, any Error>)
    case publish(PendingPublish)

    func fail(_ error: AMQPError) {
        switch self {
        case .ack: break  // nobody waits: the broker delivers the message again
        case .reject(_, _, _, let continuation): continuation.resume(throwing: error)
        case .publish(let publish): publish.completion.resume(throwing: error)
        }
    }
}

// MARK: - The connection thread

/// The state behind `AMQPClient`. Fields under "thread" are touched only by the connection
/// thread; the inbox is shared under its lock and wakes the thread through a pipe.
final class ConnectionLoop: @unchecked Sendable {
    private let configuration: AMQPConfiguration
    private let logger: Logger
    private let deliveries: AsyncStream<AMQPDelivery>.Continuation

    // Shared, under `lock`.
    private let lock = NSLock()
    private var inbox: [Command] = []
    private var stopping = false
    private var connected = false
    private var connections = 0
    /// The generation of the connection that is up, 0 while none is.
    private var liveGeneration = 0
    private let wakeRead: Int32
    private let wakeWrite: Int32

    // Thread.
    private var generation = 0
    private var tracker = ConfirmTracker()
    private var publishes: [Int: PendingPublish] = [:]
    private var unsent: [Int] = []
    private var nextPublishID = 0
    private var batcher = AckBatcher()
    /// Tags acked by the commands being run, sent together once they have all run.
    private var pendingAcks: [UInt64] = []

    init(configuration: AMQPConfiguration, logger: Logger, deliveries: AsyncStream<AMQPDelivery>.Continuation) {
        self.configuration = configuration
        self.logger = logger
        self.deliveries = deliveries
        var fds: [Int32] = [0, 0]
        precondition(pipe(&fds) == 0, "pipe() failed")
        _ = fcntl(fds[0], F_SETFL, O_NONBLOCK)
        _ = fcntl(fds[1], F_SETFL, O_NONBLOCK)
        wakeRead = fds[0]
        wakeWrite = fds[1]
    }

    deinit {
        close(wakeRead)
        close(wakeWrite)
    }

    var isConnected: Bool { lock.withLock { connected } }
    var connectionCount: Int { lock.withLock { connections } }

    func start(retrying: Bool, started: CheckedContinuation<Void, any Error>) {
        Thread { [self] in
            // Named from within, which names it for the OS too (top, perf): a thread otherwise
            // takes the name of the thread that started it.
            Thread.current.name = "amqp"
            run(retrying: retrying, started: started)
        }.start()
    }

    func perform(_ make: (CheckedContinuation<Void, any Error>) -> Command) async throws {
        try await withCheckedThrowingContinuation { continuation in
            let command = make(continuation)
            if !submit(command) { command.fail(Self.stopped) }
        }
    }

    func enqueueAck(_ tag: UInt64, generation: Int) throws(AMQPError) {
        guard generation == lock.withLock({ liveGeneration }) else {
            throw AMQPError(.deliveryVoid, "delivery \(tag) belonged to a lost connection; the broker redelivers it")
        }
        guard submit(.ack(tag, generation: generation)) else { throw Self.stopped }
    }

    private static let stopped = AMQPError(.shutdown, "the AMQP client has stopped")

    /// Queues a command, unless the client has stopped. Only the first command queued since
    /// the thread last looked wakes it (it takes the whole inbox at once): a burst of acks
    /// costs one wake-up.
    private func submit(_ command: Command) -> Bool {
        let first = lock.withLock { () -> Bool? in
            guard !stopping else { return nil }
            inbox.append(command)
            return inbox.count == 1
        }
        guard let first else { return false }
        if first { wake() }
        return true
    }

    func stop() {
        lock.withLock { stopping = true }
        wake()
    }

    private func wake() {
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
    }

    private var isStopping: Bool { lock.withLock { stopping } }

    // MARK: Thread body

    private func run(retrying: Bool, started: CheckedContinuation<Void, any Error>) {
        var started: CheckedContinuation<Void, any Error>? = started
        let policy = RetryPolicy.forever(baseDelay: 0.2, maxDelay: configuration.maxReconnectDelay)
        var retry = policy.start()
        while !isStopping {
            let connection: AMQPConnection
            do {
                connection = try AMQPConnection(configuration)
            } catch {
                let retryable = error.isRetryable && (retrying || started == nil)
                if !retryable, let first = started {
                    first.resume(throwing: error)
                    started = nil
                    break
                }
                let delay = retry.nextDelay() ?? configuration.maxReconnectDelay
                logger.warning("AMQP connection failed, retrying", metadata: ["error": "\(error)", "retryIn": "\(delay)s"])
                sleepUnlessStopping(seconds: delay)
                continue
            }
            retry = policy.start()
            generation += 1
            batcher.reset()
            pendingAcks = []
            lock.withLock {
                connected = true
                connections += 1
                liveGeneration = generation
            }
            logger.info("AMQP connected", metadata: ["url": "\(configuration.url)", "queue": "\(configuration.topology.requestQueue)"])
            started?.resume()
            started = nil
            // Publishes the old channel never confirmed go out again on the new one. The broker
            // may have stored one whose confirm was lost: its consumers then see it twice.
            let unconfirmed = tracker.reset()
            for id in unconfirmed {
                logger.warning(
                    "publish not confirmed before the connection was lost; sending it again",
                    metadata: ["correlationId": "\(publishes[id]?.message.properties.correlationID ?? "")"])
            }
            unsent = unconfirmed + unsent
            do {
                try serve(connection)
            } catch {
                logger.warning("AMQP connection lost", metadata: ["error": "\(error)"])
            }
            lock.withLock {
                connected = false
                liveGeneration = 0
            }
        }
        started?.resume(throwing: AMQPError(.shutdown, "stopped before connecting"))
        let remaining = lock.withLock {
            defer { inbox = [] }
            return inbox
        }
        remaining.forEach { $0.fail(Self.stopped) }
        for id in tracker.reset() + unsent {
            publishes.removeValue(forKey: id)?.completion.resume(
                throwing: AMQPError(.shutdown, "stopped before the broker confirmed the publish"))
        }
        deliveries.finish()
    }

    /// Handles commands and frames until the connection fails or the client stops.
    private func serve(_ connection: AMQPConnection) throws(AMQPError) {
        // Woken by frames and commands; otherwise only to send a heartbeat, a quarter of the
        // agreed interval at the latest, so that an idle worker sleeps.
        let heartbeatPoll = connection.heartbeat > 0 ? Int32(connection.heartbeat * 250) : -1
        while true {
            let commands: [Command] = lock.withLock {
                defer { inbox = [] }
                return inbox
            }
            for (index, command) in commands.enumerated() {
                do {
                    try execute(command, on: connection)
                } catch {
                    // The connection broke: the commands not yet run wait for the next one.
                    let rest = commands[(index + 1)...]
                    lock.withLock { inbox.insert(contentsOf: rest, at: 0) }
                    throw error
                }
            }
            try sendPendingAcks(on: connection)
            try sendUnsent(on: connection)
            if isStopping { return }

            if !connection.hasBufferedInput {
                var fds = [
                    pollfd(fd: connection.socketDescriptor, events: Int16(POLLIN), revents: 0),
                    pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0),
                ]
                _ = poll(&fds, 2, heartbeatPoll)
                if fds[1].revents != 0 { drainWakePipe() }
            }
            // Reading with a zero timeout also sends a heartbeat when one is due.
            while let event = try connection.nextEvent(maxBodyBytes: configuration.maxBodyBytes) {
                handle(event)
            }
        }
    }

    private func execute(_ command: Command, on connection: AMQPConnection) throws(AMQPError) {
        switch command {
        case .ack(let tag, let generation):
            if generation == self.generation { pendingAcks.append(tag) }
        case .reject(let tag, let generation, let requeue, let continuation):
            guard generation == self.generation else {
                continuation.resume(
                    throwing: AMQPError(.deliveryVoid, "delivery \(tag) belonged to a lost connection; the broker redelivers it"))
                return
            }
            do {
                try connection.reject(tag, requeue: requeue)
                batcher.rejected(tag)
                continuation.resume()
            } catch {
                continuation.resume(throwing: AMQPError(.deliveryVoid, "delivery \(tag) could not be settled: \(error.message)"))
                throw error
            }
        case .publish(let publish):
            nextPublishID += 1
            publishes[nextPublishID] = publish
            unsent.append(nextPublishID)
        }
    }

    private func sendPendingAcks(on connection: AMQPConnection) throws(AMQPError) {
        guard !pendingAcks.isEmpty else { return }
        defer { pendingAcks = [] }
        for ack in batcher.acks(for: pendingAcks) {
            try connection.ack(ack.tag, multiple: ack.multiple)
        }
    }

    private func sendUnsent(on connection: AMQPConnection) throws(AMQPError) {
        while let id = unsent.first {
            guard let publish = publishes[id] else {
                unsent.removeFirst()  // settled already (returned by the broker)
                continue
            }
            try connection.publish(
                exchange: publish.exchange, routingKey: publish.routingKey, mandatory: publish.mandatory, message: publish.message)
            unsent.removeFirst()
            _ = tracker.published(id: id)
        }
    }

    private func handle(_ event: AMQPConnection.Event) {
        switch event {
        case .delivery(let message, let tag, let redelivered, let exchange, let routingKey, let discarded):
            batcher.delivered(tag)
            deliveries.yield(
                AMQPDelivery(
                    message: message, deliveryTag: tag, redelivered: redelivered, discardedBodyBytes: discarded, exchange: exchange,
                    routingKey: routingKey, connectionGeneration: generation))
        case .confirm(let tag, let multiple, let acked):
            for id in tracker.settle(tag: tag, multiple: multiple) {
                guard let publish = publishes.removeValue(forKey: id) else { continue }  // already failed by a return
                if acked {
                    publish.completion.resume()
                } else {
                    publish.completion.resume(
                        throwing: AMQPError(.publishNacked, "the broker refused the message for '\(publish.routingKey)'"))
                }
            }
        case .returned(let message, let exchange, let routingKey, let reason):
            // A return precedes the confirm of the same message: match it by destination and ids.
            let id = publishes.keys.sorted().first { id in
                let publish = publishes[id]!
                return publish.exchange == exchange && publish.routingKey == routingKey
                    && publish.message.properties.correlationID == message.properties.correlationID
                    && publish.message.properties.messageID == message.properties.messageID
            }
            if let id, let publish = publishes.removeValue(forKey: id) {
                publish.completion.resume(throwing: AMQPError(.unroutable, "no queue took the message for '\(routingKey)': \(reason)"))
            }
        }
    }

    private func drainWakePipe() {
        var buffer = [UInt8](repeating: 0, count: 64)
        while read(wakeRead, &buffer, buffer.count) > 0 {}
    }

    /// Waits out a reconnection delay; only stopping cuts it short (new commands just queue).
    private func sleepUnlessStopping(seconds: Double) {
        let deadline = Date().addingTimeInterval(seconds)
        while !isStopping, case let remaining = deadline.timeIntervalSinceNow, remaining > 0 {
            var fds = [pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
            _ = poll(&fds, 1, Int32(remaining * 1000) + 1)
            drainWakePipe()
        }
    }
}
