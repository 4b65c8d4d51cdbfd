import Foundation
import HTTPTransport
import JobRunner
import Logging
import Metrics
import ObjectStore
import Prometheus
import QueueConsumer
import ServiceLifecycle

/// Wires the parts together and runs them as one service group until SIGTERM or SIGINT, in any
/// phase, connecting included. The group shuts them down in reverse order of `services`: stop
/// taking requests, let finishing Jobs reply, end the watches, close the broker connection, and
/// last the status server, so that the probes answer to the end. Whatever still runs after the
/// shutdown grace is cancelled.
struct Worker {
    let configuration: WorkerConfiguration
    let logger: Logger

    func run() async throws {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let rejections = RejectedRequests()
        let amqp = AMQPClient(configuration: configuration.amqp, logger: logger)
        let kubernetes = KubernetesClient(configuration: configuration.kubernetes, logger: logger)
        let store = S3Client(
            configuration: configuration.s3, http: HTTPClient(tls: configuration.s3TLS), logger: logger)
        let replies = ReplyPublisher(amqp: amqp, defaultQueue: configuration.amqp.topology.replyQueue)
        let archiver = LogArchiver(kubernetes: kubernetes, store: store, keyTemplate: configuration.logKeyTemplate)
        let reconciler = JobReconciler(
            kubernetes: kubernetes, archiver: archiver,
            replies: replies,
            settings: LifecycleSettings(
                workerID: configuration.workerID, claimTimeout: configuration.claimTimeoutSeconds,
                stuckGrace: configuration.stuckPodGraceSeconds, finishedJobRetention: configuration.finishedJobRetentionSeconds),
            archivePatience: configuration.archivePatienceSeconds, logger: logger)
        let jobSpecs = JobSpecBuilder(configuration: configuration)
        let pipeline = RequestPipeline(
            configuration: configuration, jobSpecs: jobSpecs, amqp: amqp, kubernetes: kubernetes, replies: replies,
            reconciler: reconciler, rejections: rejections, logger: logger)
        let selector = jobSpecs.selector
        let jobWatcher = ResourceWatcher<Job>(client: kubernetes, labelSelector: selector, logger: logger)
        let podWatcher = ResourceWatcher<Pod>(client: kubernetes, labelSelector: selector, logger: logger)
        let routes = StatusRoutes(
            amqp: amqp, watcher: jobWatcher,
            directory: JobDirectory(reconciler: reconciler, rejections: rejections, store: store, archiver: archiver),
            registry: registry, heap: HeapGauge(registry: registry), token: configuration.statusToken)

        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let port = configuration.httpPort {
            let server = try StatusServer.service(host: configuration.httpHost, port: port, logger: logger) {
                await routes.respond(to: $0)
            }
            services.append(.init(service: server, serviceName: "status server"))
        }
        let consuming: Logger.Metadata = [
            "queue": "\(configuration.amqp.topology.requestQueue)", "namespace": "\(configuration.kubernetes.namespace)",
            "apiServer": "\(configuration.kubernetes.server)",
        ]
        services += [
            .init(service: BrokerService(amqp: amqp, logger: logger, consuming: consuming), serviceName: "broker"),
            .init(
                service: ClosureService { await cancelWhenGracefulShutdown { await podWatcher.run { await reconciler.handle($0) } } },
                serviceName: "pod watch"),
            .init(
                service: ClosureService { await cancelWhenGracefulShutdown { await jobWatcher.run { await reconciler.handle($0) } } },
                serviceName: "job watch"),
            .init(
                service: ReconcilerService(reconciler: reconciler, grace: configuration.shutdownGraceSeconds, logger: logger),
                serviceName: "reconciler"),
            .init(service: ClosureService { await cancelWhenGracefulShutdown { await pipeline.run() } }, serviceName: "intake"),
        ]
        var group = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        group.maximumGracefulShutdownDuration = .seconds(configuration.shutdownGraceSeconds)
        try await withTaskExecutorPreference(HTTPClient.transferExecutor) {
            try await ServiceGroup(configuration: group).run()
        }
        logger.info("stopped")
    }
}
