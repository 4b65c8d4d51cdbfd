import Foundation
import JobRunner
import Logging
import Metrics

/// Follows every Job of this deployment and its pods through the two shared watches: archives
/// each pod's log while it runs, and when a Job ends (or a pod is stuck past the grace) claims
/// it so that one replica reports, waits for the logs, replies and deletes it. On start the
/// watches' first lists bring back whatever a previous run left unfinished.
actor JobSupervisor {
    private let kubernetes: KubernetesClient
    private let archiver: LogArchiver
    private let replies: ReplyPublisher
    private let board: JobBoard
    private let workerID: String
    private let claimTimeout: Double
    private let stuckGrace: Double
    private let logger: Logger

    private var jobs: [String: Job] = [:]
    private var pods: [String: Pod] = [:]
    private var deletedPods: Set<String> = []
    private var archives: [String: Task<Reply.LogObject?, Never>] = [:]
    private var stuckSince: [String: Date] = [:]
    private var finishing: Set<String> = []
    private var podsListed = false
    private var draining = false
    private let inFlight = Gauge(label: "cloud_worker_jobs_in_flight")
    /// Jobs without a final condition, kept as events come so the gauge costs nothing per event.
    private var running: Set<String> = []

    init(
        kubernetes: KubernetesClient, archiver: LogArchiver, replies: ReplyPublisher, board: JobBoard, workerID: String,
        claimTimeout: Double, stuckGrace: Double, logger: Logger
    ) {
        self.kubernetes = kubernetes
        self.archiver = archiver
        self.replies = replies
        self.board = board
        self.workerID = workerID
        self.claimTimeout = claimTimeout
        self.stuckGrace = stuckGrace
        self.logger = logger
    }

    // MARK: - Watch events

    func handle(_ event: WatchEvent<Job>) {
        switch event {
        case .current(let job):
            jobs[job.name] = job
            if JobOutcome.finalCondition(of: job) != nil {
                running.remove(job.name)
                startFinishing(job, outcome: nil)
            } else {
                running.insert(job.name)
            }
        case .deleted(let job):
            jobs[job.name] = nil
            running.remove(job.name)
            // Deleted before anyone claimed it: cancelled by someone, or its TTL ran out.
            if job.annotations[JobMetadata.claimedBy] == nil, !finishing.contains(job.name), !draining {
                finishing.insert(job.name)
                Task { await reportDeleted(job) }
            }
        }
        inFlight.record(running.count)
    }

    func handle(_ event: WatchEvent<Pod>) {
        switch event {
        case .current(let pod):
            pods[pod.name] = pod
            startArchiveIfRunning(pod)
            checkStuck(pod)
        case .deleted(let pod):
            pods[pod.name] = pod
            deletedPods.insert(pod.name)
            stuckSince[pod.name] = nil
        }
    }

    func podsWereListed() {
        podsListed = true
    }

    /// Stops taking up new Jobs and waits (bounded) for those being finished.
    func drain(timeout: Double) async {
        draining = true
        let deadline = Date().addingTimeInterval(timeout)
        while !finishing.isEmpty && Date() < deadline {
            try? await Task.sleep(nanoseconds: 50_000_000)
        }
    }

    // MARK: - Logs

    private func startArchiveIfRunning(_ pod: Pod) {
        guard archives[pod.name] == nil, !draining, let state = pod.containerState, state.running != nil || state.terminated != nil,
            let jobName = pod.jobName, let job = jobs[jobName]
        else { return }
        let bucket = job.annotations[JobMetadata.outputBucket] ?? ""
        let key = archiver.key(
            job: job.name, pod: pod.name, requestedName: job.annotations[JobMetadata.requestedName] ?? job.name,
            prefix: job.annotations[JobMetadata.filePrefix])
        let podName = pod.name
        var logger = self.logger
        logger[metadataKey: "job"] = "\(job.name)"
        logger[metadataKey: "pod"] = "\(podName)"
        let archiver = self.archiver
        archives[podName] = Task {
            do {
                let bytes = try await archiver.archive(pod: podName, bucket: bucket, key: key) {
                    await self.hasEnded(podName, job: jobName)
                }
                let complete = self.ranToTheEnd(podName)
                return Reply.LogObject(pod: podName, key: key, bytes: bytes, complete: complete)
            } catch is CancellationError {
                return nil
            } catch {
                logger.error("log archiving failed", metadata: ["error": "\(error)"])
                return Reply.LogObject(pod: podName, key: key, bytes: 0, complete: false, error: "\(error)")
            }
        }
    }

    /// Whether a pod's log can grow no more: its container ended, the pod is gone, or its Job
    /// says all its pods have ended.
    private func hasEnded(_ pod: String, job: String) -> Bool {
        if deletedPods.contains(pod) || pods[pod]?.isTerminated == true { return true }
        return jobs[job].map { JobOutcome.finalCondition(of: $0) != nil } ?? true
    }

    private func ranToTheEnd(_ pod: String) -> Bool {
        pods[pod]?.containerState?.terminated != nil
    }

    // MARK: - Stuck pods

    private func checkStuck(_ pod: Pod) {
        guard pod.stuckReason != nil else {
            stuckSince[pod.name] = nil
            return
        }
        guard stuckSince[pod.name] == nil else { return }
        stuckSince[pod.name] = Date()
        let grace = stuckGrace
        Task {
            try? await Task.sleep(nanoseconds: UInt64(grace * 1e9))
            self.stuckGraceEnded(pod.name)
        }
    }

    private func stuckGraceEnded(_ podName: String) {
        guard let since = stuckSince[podName], Date().timeIntervalSince(since) >= stuckGrace * 0.99, let pod = pods[podName],
            let waiting = pod.containerState?.waiting, let jobName = pod.jobName,
            let job = jobs[jobName]
        else { return }
        let outcome = JobOutcome(
            status: .failed, reason: waiting.reason ?? "ContainerNotStarting",
            message: "pod \(podName) could not start its container for \(Int(stuckGrace)) s: \(waiting.message ?? "")",
            exitCode: nil, terminationMessage: nil, startedAt: job.status?.startTime, completedAt: Date().formatted(.iso8601))
        startFinishing(job, outcome: outcome)
    }

    // MARK: - Finishing a Job

    private func startFinishing(_ job: Job, outcome: JobOutcome?) {
        guard !draining, job.metadata.deletionTimestamp == nil, isUnclaimed(job), !finishing.contains(job.name) else { return }
        finishing.insert(job.name)
        Task { await finish(job, outcome: outcome) }
    }

    private func isUnclaimed(_ job: Job) -> Bool {
        let annotations = job.annotations
        if annotations[JobMetadata.reported] != nil { return false }
        guard let holder = annotations[JobMetadata.claimedBy], holder != workerID else { return true }
        // Another replica's claim counts only while it is fresh: a crashed replica's is taken over.
        guard let at = annotations[JobMetadata.claimedAt], let claimed = try? Date(at, strategy: .iso8601) else { return true }
        return Date().timeIntervalSince(claimed) > claimTimeout
    }

    private func finish(_ job: Job, outcome override: JobOutcome?) async {
        defer {
            finishing.remove(job.name)
            forget(job)
        }
        var logger = self.logger
        logger[metadataKey: "request"] = "\(job.annotations[JobMetadata.requestID] ?? "?")"
        logger[metadataKey: "job"] = "\(job.name)"
        let started = DispatchTime.now()
        do {
            guard let claimed = try await claim(job, logger: logger) else { return }
            while !podsListed { try await Task.sleep(nanoseconds: 20_000_000) }
            let jobPods = try await podsOf(claimed)
            guard var outcome = override ?? JobOutcome.evaluate(job: claimed, pods: jobPods) else { return }
            jobPods.forEach { startArchiveIfRunning($0) }
            var logs: [Reply.LogObject] = []
            for pod in jobPods {
                if let archive = archives[pod.name], let log = await archive.value { logs.append(log) }
            }
            let archiveError = logs.first { $0.error != nil }?.error
            if let archiveError {
                outcome.message =
                    "the job ended (\(outcome.status.rawValue), \(outcome.reason)) but its logs could not be archived: \(archiveError)"
                outcome.status = .error
                outcome.reason = "LogArchiveFailed"
            }
            let reply = makeReply(claimed, outcome: outcome, logs: logs)
            try await publish(reply, for: claimed, logger: logger)
            if archiveError == nil {
                try await kubernetes.deleteJob(claimed.name)
            } else {
                // Keep the Job (and its logs) until its TTL; mark it so nobody reports it again.
                _ = try await kubernetes.patchJob(claimed.name, annotations: [JobMetadata.reported: "true"], resourceVersion: nil)
            }
            logger.info("job finished", metadata: ["status": "\(reply.status)", "reason": "\(reply.reason ?? "")"])
            record(reply)
            Timer(label: "cloud_worker_phase_seconds", dimensions: [("phase", "finish")]).recordInterval(since: started)
            if let duration = reply.durationMs {
                Timer(label: "cloud_worker_phase_seconds", dimensions: [("phase", "run")]).recordMilliseconds(duration)
            }
        } catch {
            // The claim stays; once it goes stale this or another replica tries again.
            logger.error("finishing the job failed", metadata: ["error": "\(error)"])
        }
    }

    /// The Job's pods as the pod watch knows them; asks the API server only when the watch
    /// has not yet seen every pod the Job counts.
    private func podsOf(_ job: Job) async throws -> [Pod] {
        let uid = job.metadata.uid ?? ""
        let known = pods.values.filter { $0.controllerUID == uid }
        let expected = (job.status?.succeeded ?? 0) + (job.status?.failed ?? 0)
        let all: [Pod]
        if known.count >= expected && known.allSatisfy({ $0.isTerminated || $0.containerState?.waiting != nil }) {
            all = Array(known)
        } else {
            all = try await kubernetes.list(Pod.self, labelSelector: "batch.kubernetes.io/controller-uid=\(uid)").items
            for pod in all { pods[pod.name] = pod }
        }
        return all.sorted { ($0.metadata.creationTimestamp ?? "", $0.name) < ($1.metadata.creationTimestamp ?? "", $1.name) }
    }

    /// Marks the Job as ours, only if nobody changed it since we saw it. On a conflict the Job
    /// is read again: if it is still unclaimed, the claim is retried at its new version.
    private func claim(_ job: Job, logger: Logger) async throws -> Job? {
        var current = job
        for _ in 0..<3 {
            do {
                return try await kubernetes.patchJob(
                    current.name, annotations: [JobMetadata.claimedBy: workerID, JobMetadata.claimedAt: Date().formatted(.iso8601)],
                    resourceVersion: current.metadata.resourceVersion)
            } catch let error as KubernetesError where error.status == 409 {
                current = try await kubernetes.getJob(current.name)
                guard isUnclaimed(current) else {
                    logger.debug("job taken by another replica")
                    return nil
                }
            } catch let error as KubernetesError where error.status == 404 {
                return nil
            }
        }
        logger.warning("job keeps changing; leaving it for a later event")
        return nil
    }

    /// Drops what was kept for a Job that is done.
    private func forget(_ job: Job) {
        let uid = job.metadata.uid ?? ""
        for pod in pods.values where pod.controllerUID == uid {
            pods[pod.name] = nil
            archives[pod.name] = nil
            deletedPods.remove(pod.name)
            stuckSince[pod.name] = nil
        }
    }

    private func makeReply(_ job: Job, outcome: JobOutcome, logs: [Reply.LogObject]) -> Reply {
        Reply(
            requestId: job.annotations[JobMetadata.requestID] ?? job.name,
            jobName: job.annotations[JobMetadata.requestedName],
            k8sJob: job.name,
            namespace: job.metadata.namespace,
            status: outcome.status.rawValue,
            reason: outcome.reason,
            message: outcome.message,
            exitCode: outcome.exitCode,
            terminationMessage: outcome.terminationMessage,
            startedAt: outcome.startedAt,
            completedAt: outcome.completedAt,
            durationMs: Reply.duration(from: outcome.startedAt, to: outcome.completedAt),
            result: Reply.summary(job: job.name, status: outcome.status.rawValue, reason: outcome.reason),
            outputBucket: job.annotations[JobMetadata.outputBucket],
            logs: logs,
            tasks: outcome.tasks.map { Reply.TaskCounts(total: $0.total, succeeded: $0.succeeded, failed: $0.failed) }
        )
    }

    private func reportDeleted(_ job: Job) async {
        defer {
            finishing.remove(job.name)
            forget(job)
        }
        var logger = self.logger
        logger[metadataKey: "job"] = "\(job.name)"
        let cancelledBy = job.annotations[JobMetadata.cancelledBy]
        let reason = cancelledBy == nil ? "Deleted" : "Cancelled"
        let reply = Reply(
            requestId: job.annotations[JobMetadata.requestID] ?? job.name,
            jobName: job.annotations[JobMetadata.requestedName], k8sJob: job.name, namespace: job.metadata.namespace,
            status: "cancelled", reason: reason,
            message: cancelledBy.map { "cancelled by request \($0)" } ?? "the Job was deleted before it was reported",
            result: Reply.summary(job: job.name, status: "cancelled", reason: reason),
            outputBucket: job.annotations[JobMetadata.outputBucket], logs: [])
        do {
            try await publish(reply, for: job, logger: logger)
            record(reply)
        } catch {
            logger.error("reply for a deleted job failed", metadata: ["error": "\(error)"])
        }
    }

    private func record(_ reply: Reply) {
        Counter(label: "cloud_worker_requests_total", dimensions: [("outcome", reply.status)]).increment()
        board.record(requestID: reply.requestId, jobName: reply.jobName, k8sJob: reply.k8sJob, state: reply.status, reason: reply.reason)
    }

    /// Publishes, retrying until confirmed: the AMQP client reconnects by itself meanwhile.
    private func publish(_ reply: Reply, for job: Job, logger: Logger) async throws {
        var attempt = 0
        while true {
            attempt += 1
            do {
                try await replies.publish(
                    reply, replyTo: job.annotations[JobMetadata.replyTo], correlationID: job.annotations[JobMetadata.correlationID],
                    logger: logger)
                return
            } catch {
                guard attempt < 10 else { throw error }
                logger.warning("reply not confirmed; retrying", metadata: ["error": "\(error)"])
                try await Task.sleep(nanoseconds: UInt64(min(10, 0.5 * Double(attempt)) * 1e9))
            }
        }
    }
}
