import Logging
import QueueConsumer
import ServiceLifecycle

/// The broker connection as a service: connects (retrying while the broker is away), then keeps
/// the connection until shutdown. Shutdown cuts a connection attempt short, so that SIGTERM is
/// honoured during a broker outage too.
struct BrokerService: Service {
    let amqp: AMQPClient
    let logger: Logger
    /// Logged once the first connection is up: what the worker consumes from.
    let consuming: Logger.Metadata

    func run() async throws {
        try await withTaskCancellationOrGracefulShutdownHandler {
            do {
                try await amqp.start()
            } catch let error as AMQPError where error.code == .shutdown {
                return
            }
            logger.info("consuming", metadata: consuming)
            StartupPages.release()
            try? await gracefulShutdown()
        } onCancelOrGracefulShutdown: {
            amqp.shutdown()
        }
        amqp.shutdown()
    }
}
