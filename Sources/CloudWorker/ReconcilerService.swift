import Logging
import ServiceLifecycle

/// The reconciler as a service. On shutdown it lets Jobs being reported finish for up to
/// `grace` seconds; what is left stays held for the next worker.
struct ReconcilerService: Service {
    let reconciler: JobReconciler
    let grace: Double
    let logger: Logger

    func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await reconciler.run() }
            try? await gracefulShutdown()
            logger.info("shutting down: no new requests; finishing jobs in progress")
            await reconciler.drain(timeout: grace)
            group.cancelAll()
        }
    }
}
