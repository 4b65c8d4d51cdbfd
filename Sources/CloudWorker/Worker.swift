import Foundation
import HTTPTransport
import JobRunner
import Logging
import Metrics
import ObjectStore
import Prometheus
import QueueConsumer

/// Wires the parts together and runs them until SIGTERM or SIGINT, then shuts down in order:
/// stop taking requests, let finishing Jobs reply, close the broker connection.
struct Worker {
    let configuration: WorkerConfiguration
    let logger: Logger

    func run() async throws {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let board = JobBoard()
        let amqp = AMQPClient(configuration: configuration.amqp, logger: logger)
        let kubernetes = KubernetesClient(configuration: configuration.kubernetes, logger: logger)
        let store = S3Client(
            configuration: configuration.s3, http: HTTPClient(tls: configuration.s3TLS, concurrentRequests: 4), logger: logger)
        let replies = ReplyPublisher(amqp: amqp, defaultQueue: configuration.amqp.topology.replyQueue)
        let reconciler = JobReconciler(
            kubernetes: kubernetes,
            archiver: LogArchiver(kubernetes: kubernetes, store: store, keyTemplate: configuration.logKeyTemplate),
            replies: replies, board: board,
            settings: LifecycleSettings(
                workerID: configuration.workerID, claimTimeout: configuration.claimTimeoutSeconds,
                stuckGrace: configuration.stuckPodGraceSeconds),
            archivePatience: configuration.archivePatienceSeconds, logger: logger)
        let pipeline = RequestPipeline(
            configuration: configuration, amqp: amqp, kubernetes: kubernetes, replies: replies, board: board, logger: logger)
        let selector = JobSpecBuilder(configuration: configuration).selector
        let jobWatcher = ResourceWatcher<Job>(client: kubernetes, labelSelector: selector, logger: logger)
        let podWatcher = ResourceWatcher<Pod>(client: kubernetes, labelSelector: selector, logger: logger)
        let routes = StatusRoutes(amqp: amqp, watcher: jobWatcher, board: board, registry: registry, token: configuration.statusToken)
        let server = try configuration.httpPort.map { port in
            try StatusServer(host: configuration.httpHost, port: port) { routes.respond(to: $0) }
        }
        if let server { logger.info("status server listening", metadata: ["port": "\(server.port)"]) }

        let signals = ShutdownSignal()
        try await amqp.start()
        logger.info(
            "consuming",
            metadata: [
                "queue": "\(configuration.amqp.topology.requestQueue)", "namespace": "\(configuration.kubernetes.namespace)",
                "apiServer": "\(configuration.kubernetes.server)",
            ])

        let lifecycle = [
            Task { await podWatcher.run { await reconciler.handle($0) } },
            Task { await jobWatcher.run { await reconciler.handle($0) } },
            Task { await reconciler.run() },
        ]
        let intake = Task { await pipeline.run() }
        await signals.wait()
        logger.info("shutting down: no new requests; finishing jobs in progress")
        intake.cancel()
        await reconciler.drain(timeout: configuration.shutdownGraceSeconds)
        lifecycle.forEach { $0.cancel() }
        amqp.shutdown()
        server?.stop()
        logger.info("stopped")
    }
}

/// Resolves once SIGTERM or SIGINT arrives.
final class ShutdownSignal {
    private let sources: [any DispatchSourceSignal]
    private let stream: AsyncStream<Void>

    init() {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self)
        self.stream = stream
        sources = [SIGTERM, SIGINT].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number)
            source.setEventHandler { continuation.yield() }
            source.resume()
            return source
        }
    }

    func wait() async {
        for await _ in stream { return }
    }
}
