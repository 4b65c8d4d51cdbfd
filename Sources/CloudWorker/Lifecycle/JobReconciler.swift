import Backoff
import Foundation
import JobRunner
import Logging
import Metrics
import ObjectStore

/// Drives every Job of this deployment through its lifecycle, level-triggered in the manner of
/// client-go and controller-runtime: watch events only update the cache and queue the Job's
/// key; each reconcile asks `JobLifecycle` what to do from the cache as it now is, does it,
/// and asks again; timers (`requeue(after:)`) bring a key back without any event, so a stale
/// claim is taken over on time. Reconciles, log archives and timers all run as child tasks of
/// `run()`: nothing outlives it.
actor JobReconciler {
    private let kubernetes: KubernetesClient
    private let archiver: LogArchiver
    private let replies: ReplyPublisher
    private let settings: LifecycleSettings
    private let archiveRetry: RetryPolicy
    private let logger: Logger
    private let maxConcurrentReconciles = 8

    private var cache = JobCache()
    private var queue = WorkQueue<String>()
    /// What this worker has done for each Job it holds; dropped when the lifecycle forgets it.
    private var records: [String: JobRecord] = [:]
    /// Jobs this process is creating, or created and has held ever since: no other worker can
    /// have begun archiving their logs. Dropped when the create fails, on a takeover, and once
    /// the Job is seen gone. Not when the lifecycle forgets a key: a pod's event can bring its
    /// Job's key before the Job itself is cached, and that key is forgotten at once.
    private var heldSinceCreation: Set<String> = []
    private var archiveOrders: [ArchiveOrder] = []
    private var reconciling = 0
    private let wakeup = Wakeup()
    /// Signalled whenever a reconcile ends, for `drain`.
    private let idle = Wakeup()
    private let epoch = ContinuousClock.now
    private let inFlight = Gauge(label: "cloud_worker_jobs_in_flight")
    /// What this worker keeps, as gauges: it must follow the Jobs that exist, not grow.
    private let kept = (
        jobs: Gauge(label: "cloud_worker_cached_jobs"), pods: Gauge(label: "cloud_worker_cached_pods"),
        records: Gauge(label: "cloud_worker_job_records"), keys: Gauge(label: "cloud_worker_queued_keys")
    )

    private struct JobRecord {
        var archives: [String: ArchiveState] = [:]
        var archiveRetries: [String: Retry] = [:]
        var replied = false
        var podsRefreshed = false
        /// The Job's pods as a direct list showed them (`refreshPods`).
        var listedPods: [Pod] = []
        var firstSeen = DispatchTime.now()
    }

    private struct ArchiveOrder: Sendable {
        var job: String
        var pod: String
        var bucket: String
        var key: String
        var resume: Bool
    }

    init(
        kubernetes: KubernetesClient, archiver: LogArchiver, replies: ReplyPublisher, settings: LifecycleSettings,
        archivePatience: Double, logger: Logger
    ) {
        self.kubernetes = kubernetes
        self.archiver = archiver
        self.replies = replies
        self.settings = settings
        self.archiveRetry = RetryPolicy(baseDelay: 1, maxDelay: 30, patience: archivePatience)
        self.logger = logger
    }

    // MARK: - Events: they only queue keys

    /// The request pipeline is about to create this Job, claimed by this worker. A Job of that
    /// name already cached is someone's already (the create will fail).
    func creating(_ job: String) {
        if cache.jobs[job] == nil { heldSinceCreation.insert(job) }
    }

    /// The create failed: whoever made the Job of that name may have begun archiving.
    func notCreated(_ job: String) {
        heldSinceCreation.remove(job)
    }

    func handle(_ event: WatchEvent<Job>) {
        switch event {
        case .deleted(let job):
            heldSinceCreation.remove(job.name)
            if heldSinceCreation.isEmpty { heldSinceCreation = [] }  // as for the records below
        case .listed(let all): heldSinceCreation.formIntersection(all.map(\.name))
        case .current: break
        }
        enqueue(cache.apply(event))
        inFlight.record(cache.unfinishedCount)
    }

    func handle(_ event: WatchEvent<Pod>) {
        enqueue(cache.apply(event))
    }

    private func enqueue(_ keys: [String]) {
        keys.forEach { queue.add($0) }
        wakeup.signal()
    }

    /// The cached Jobs with their pods, read-only, for the status pages.
    func snapshot() -> [(job: Job, pods: [Pod])] {
        cache.jobs.values.map { ($0, cache.pods(of: $0)) }
    }

    private func recordFootprint() {
        kept.jobs.record(cache.jobs.count)
        kept.pods.record(cache.podCount)
        kept.records.record(records.count + heldSinceCreation.count)
        kept.keys.record(queue.trackedKeys)
    }

    // MARK: - The loop

    /// Hands out keys and archives until cancelled. Nothing is decided until both watches
    /// have delivered their first list.
    func run() async {
        await withDiscardingTaskGroup { group in
            // When the timers still sleeping fire. A timer is added only for a key due before all
            // of them, so that a later one still covers the keys due after the earlier fires.
            var timers: [Double] = []
            while !Task.isCancelled {
                for order in takeArchiveOrders() {
                    group.addTask { await self.runArchive(order) }
                }
                while let key = takeKey() {
                    group.addTask { await self.reconcile(key) }
                }
                let now = clock()
                timers.removeAll { $0 <= now }
                if let due = queue.nextDue, timers.allSatisfy({ due < $0 }) {
                    timers.append(due)
                    group.addTask {
                        try? await Task.sleep(for: .seconds(max(0, due - now)))
                        self.wakeup.signal()
                    }
                }
                await wakeup.wait()
            }
        }
    }

    /// Returns once no reconcile runs or waits, or after `timeout` seconds. What is left
    /// undone is safe: the Jobs stay held, and the next worker carries on.
    func drain(timeout: Double) async {
        await withTaskGroup { group in
            group.addTask { try? await Task.sleep(for: .seconds(timeout)) }
            group.addTask { await self.untilIdle() }
            await group.next()
            group.cancelAll()
        }
    }

    private func untilIdle() async {
        while reconciling > 0 || queue.readyCount > 0, !Task.isCancelled {
            await idle.wait()
        }
    }

    private func clock() -> Double {
        (ContinuousClock.now - epoch).inSeconds
    }

    private func takeKey() -> String? {
        guard cache.isSynced, reconciling < maxConcurrentReconciles, let key = queue.pop(now: clock()) else { return nil }
        reconciling += 1
        return key
    }

    private func takeArchiveOrders() -> [ArchiveOrder] {
        defer { archiveOrders = [] }
        return archiveOrders
    }

    // MARK: - Reconcile

    private func facts(for key: String) -> JobFacts {
        let job = cache.jobs[key]
        let tombstone = job == nil ? cache.tombstones[key] : nil
        let record = records[key]
        let cached = (job ?? tombstone).map { cache.pods(of: $0) } ?? []
        let listed = (record?.listedPods ?? []).filter { pod in !cached.contains { $0.name == pod.name } }
        return JobFacts(
            job: job, tombstone: tombstone, pods: cached + listed,
            archives: record?.archives ?? [:], replied: record?.replied ?? false, podsRefreshed: record?.podsRefreshed ?? false,
            now: Date())
    }

    private func reconcile(_ key: String) async {
        defer {
            reconciling -= 1
            queue.done(key)
            recordFootprint()
            wakeup.signal()
            idle.signal()
        }
        var logger = self.logger
        logger[metadataKey: "job"] = "\(key)"
        if let request = (cache.jobs[key] ?? cache.tombstones[key])?.annotations[JobMetadata.requestID] {
            logger[metadataKey: "request"] = "\(request)"
        }
        for _ in 0..<32 {
            let facts = facts(for: key)
            let action = JobLifecycle.decide(facts, settings)
            logger.trace("reconcile", metadata: ["action": "\(action)"])
            do {
                guard try await perform(action, key: key, facts: facts, logger: logger) else { return }
            } catch let error as KubernetesError where error.status == 404 {
                return  // gone: its DELETED event brings the key back
            } catch {
                logger.warning("reconcile failed; retrying", metadata: ["action": "\(action)", "error": "\(error)"])
                queue.addRateLimited(key, now: clock())
                return
            }
        }
        queue.addRateLimited(key, now: clock())
    }

    /// Does `action`; returns whether to decide again at once.
    private func perform(_ action: JobLifecycle.Action, key: String, facts: JobFacts, logger: Logger) async throws -> Bool {
        switch action {
        case .wait:
            queue.forgetFailures(key)
            return false
        case .requeue(let delay):
            queue.forgetFailures(key)
            queue.add(key, after: delay, now: clock())
            return false
        case .forget:
            records[key] = nil
            if records.isEmpty { records = [:] }  // the capacity a burst of Jobs grew it to goes too
            cache.dropTombstone(key)
            queue.forget(key)
            return false
        case .archive(let pod):
            startArchive(pod: pod, of: try facts.cached())
            return true
        case .claim, .renewClaim:
            if case .claim = action { heldSinceCreation.remove(key) }  // taken over: others may have held it
            let patch = JobPatch(annotations: [
                JobMetadata.claimedBy: settings.workerID, JobMetadata.claimedAt: facts.now.formatted(.iso8601),
            ])
            try await update(try facts.cached(), patch, logger: logger)
            return true
        case .stopPods:
            logger.info("job deleted while it runs: stopping its pods")
            let job = try facts.cached()
            let patch = JobPatch.stop(
                job: job, now: facts.now, annotations: [JobMetadata.stopRequested: facts.now.formatted(.iso8601)])
            try await update(job, patch, logger: logger)
            return true
        case .refreshPods:
            let job = try facts.cached()
            let listed = try await kubernetes.list(Pod.self, labelSelector: "batch.kubernetes.io/controller-uid=\(job.metadata.uid ?? "")")
            // Kept with the Job's record, not in the cache: the watch may have removed one of
            // them meanwhile, and the record goes with the Job.
            records[key, default: JobRecord()].listedPods = listed.items
            records[key, default: JobRecord()].podsRefreshed = true
            return true
        case .publish(let reply):
            let job = try facts.cached(orTombstone: true)
            guard replies.isConnected else {
                // The broker is away: look again soon, not after a growing backoff, so that the
                // claim is renewed while the reply waits (no other replica takes the Job over and
                // replies too) and the reply goes out as soon as the broker is back.
                logger.debug("the reply waits for the broker")
                queue.add(key, after: min(1, settings.claimTimeout / 4), now: clock())
                return false
            }
            // Logged before: a worker killed from here until `job released` may have replied.
            logger.info("reporting the job", metadata: ["status": "\(reply.status.rawValue)", "reason": "\(reply.reason ?? "")"])
            try await replies.publish(
                reply, replyTo: job.annotations[JobMetadata.replyTo], correlationID: job.annotations[JobMetadata.correlationID],
                logger: logger)
            records[key, default: JobRecord()].replied = true
            record(reply, since: records[key]?.firstSeen)
            return true
        case .release(let delete):
            let job = try facts.cached()
            guard try await update(job, JobLifecycle.releasePatch(job, settings), logger: logger) else { return true }
            // The Job may stay for the retention: what only the report needed goes now.
            records[key]?.listedPods = []
            records[key]?.archiveRetries = [:]
            if delete { try await kubernetes.deleteJob(key) }
            logger.info("job released")
            return !delete
        case .delete:
            try await kubernetes.deleteJob(key)
            return false
        }
    }

    /// Patches the Job at the version decided from; on a conflict reads it again, for the
    /// next decision to be made from that. Returns whether the patch was applied.
    @discardableResult
    private func update(_ job: Job, _ patch: JobPatch, logger: Logger) async throws -> Bool {
        do {
            cache.update(try await kubernetes.patchJob(job.name, patch, resourceVersion: job.metadata.resourceVersion))
            return true
        } catch let error as KubernetesError where error.status == 409 {
            logger.debug("job changed meanwhile; deciding again", metadata: ["job": "\(job.name)"])
            cache.update(try await kubernetes.getJob(job.name))
            return false
        }
    }

    private func record(_ reply: Reply, since: DispatchTime?) {
        Counter(label: "cloud_worker_requests_total", dimensions: [("outcome", reply.status.rawValue)]).increment()
        if let duration = reply.durationMs {
            Timer(label: "cloud_worker_phase_seconds", dimensions: [("phase", "run")]).recordMilliseconds(duration)
        }
        if let since { Timer(label: "cloud_worker_phase_seconds", dimensions: [("phase", "finish")]).recordInterval(since: since) }
    }

    // MARK: - Archives

    private func startArchive(pod: String, of job: Job) {
        let firstOfItsLog = heldSinceCreation.contains(job.name) && records[job.name]?.archives[pod] == nil
        records[job.name, default: JobRecord()].archives[pod] = .running
        let key = archiver.key(
            job: job.name, pod: pod, requestedName: job.annotations[JobMetadata.requestedName] ?? job.name,
            prefix: job.annotations[JobMetadata.filePrefix])
        archiveOrders.append(
            ArchiveOrder(
                job: job.name, pod: pod, bucket: job.annotations[JobMetadata.outputBucket] ?? "", key: key, resume: !firstOfItsLog))
        wakeup.signal()
    }

    private func runArchive(_ order: ArchiveOrder) async {
        var logger = self.logger
        logger[metadataKey: "job"] = "\(order.job)"
        logger[metadataKey: "pod"] = "\(order.pod)"
        let outcome: Result<Reply.LogObject, any Error>
        do {
            outcome = .success(
                try await archiver.archive(pod: order.pod, bucket: order.bucket, key: order.key, resume: order.resume) {
                    await self.logHasEnded(pod: order.pod, job: order.job)
                })
        } catch {
            outcome = .failure(error)
        }
        archiveEnded(order, outcome, logger: logger)
    }

    private func archiveEnded(_ order: ArchiveOrder, _ outcome: Result<Reply.LogObject, any Error>, logger: Logger) {
        guard records[order.job]?.archives[order.pod] != nil else { return }  // forgotten meanwhile
        switch outcome {
        case .success(let log):
            records[order.job]?.archives[order.pod] = .done(log)
        case .failure(let error):
            var retry = records[order.job]?.archiveRetries[order.pod] ?? archiveRetry.start()
            if Self.canPass(error), let delay = retry.nextDelay() {
                logger.warning("log archive failed; will resume it", metadata: ["error": "\(error)", "retryIn": "\(delay)"])
                records[order.job]?.archives[order.pod] = .retrying(error: "\(error)", retryAt: Date().addingTimeInterval(delay))
            } else {
                logger.error("log archive failed past its patience", metadata: ["error": "\(error)"])
                let log = Reply.LogObject(pod: order.pod, key: order.key, bytes: 0, complete: false, error: "\(error)")
                records[order.job]?.archives[order.pod] = .gaveUp(log)
            }
            records[order.job]?.archiveRetries[order.pod] = retry
        }
        enqueue([order.job])
    }

    /// Whether trying again may help: S3 or the API server away or overloaded, not a refusal
    /// (a wrong signature, a missing bucket, a pod that is gone).
    private static func canPass(_ error: any Error) -> Bool {
        switch error {
        case let error as S3Error: error.isRetryable
        case let error as KubernetesError: error.isRetryable
        default: true
        }
    }

    /// Whether a pod's log can grow no more: its container ended, the pod or its Job is gone,
    /// or its Job ended longer ago than pods are given to settle.
    private func logHasEnded(pod name: String, job: String) -> Bool {
        guard let pod = cache.pod(name), let job = cache.jobs[job] else { return true }
        if pod.isTerminated { return true }
        guard let end = JobLifecycle.ending(of: job, pods: [], now: Date(), settings: settings) else { return false }
        return Date().timeIntervalSince(end.at) > settings.podSettleLimit
    }
}
