import Foundation
import JobRunner
import Logging
import Metrics

/// Follows every Job of this deployment through the shared watch and finishes those that end:
/// claim (so one replica reports), archive the logs, reply, delete. On start the watch's first
/// list brings back whatever a previous run left unfinished.
actor JobSupervisor {
    private let kubernetes: KubernetesClient
    private let archiver: LogArchiver
    private let replies: ReplyPublisher
    private let workerID: String
    private let claimTimeout: Double
    private let board: JobBoard
    private let logger: Logger
    private var finishing: Set<String> = []
    /// Unfinished Jobs seen by the watch, for the in-flight gauge.
    private var running: Set<String> = []
    private let inFlight = Gauge(label: "cloud_worker_jobs_in_flight")
    private var draining = false

    init(
        kubernetes: KubernetesClient, archiver: LogArchiver, replies: ReplyPublisher, board: JobBoard, workerID: String,
        claimTimeout: Double, logger: Logger
    ) {
        self.board = board
        self.kubernetes = kubernetes
        self.archiver = archiver
        self.replies = replies
        self.workerID = workerID
        self.claimTimeout = claimTimeout
        self.logger = logger
    }

    /// Jobs being finished right now.
    var inProgress: Int { finishing.count }

    func handle(_ event: JobWatchEvent) {
        guard !draining else { return }
        switch event {
        case .current(let job) where JobOutcome.finalCondition(of: job) == nil:
            running.insert(job.name)
            inFlight.record(running.count)
        case .current(let job):
            running.remove(job.name)
            inFlight.record(running.count)
            guard JobOutcome.finalCondition(of: job) != nil, job.metadata.deletionTimestamp == nil, isUnclaimed(job),
                !finishing.contains(job.name)
            else { return }
            finishing.insert(job.name)
            Task { await finish(job) }
        case .deleted(let job):
            running.remove(job.name)
            inFlight.record(running.count)
            // Deleted before anyone claimed it: cancelled by someone, or its TTL ran out.
            guard job.annotations[JobMetadata.claimedBy] == nil, !finishing.contains(job.name) else { return }
            finishing.insert(job.name)
            Task { await reportDeleted(job) }
        }
    }

    /// Stops taking up new Jobs and waits (bounded) for those in progress.
    func drain(timeout: Double) async {
        draining = true
        let deadline = Date().addingTimeInterval(timeout)
        while !finishing.isEmpty && Date() < deadline {
            try? await Task.sleep(nanoseconds: 50_000_000)
        }
    }

    private func isUnclaimed(_ job: Job) -> Bool {
        let annotations = job.annotations
        if annotations[JobMetadata.reported] != nil { return false }
        guard let holder = annotations[JobMetadata.claimedBy], holder != workerID else { return true }
        // Another replica's claim counts only while it is fresh: a crashed replica's is taken over.
        guard let at = annotations[JobMetadata.claimedAt], let claimed = try? Date(at, strategy: .iso8601) else { return true }
        return Date().timeIntervalSince(claimed) > claimTimeout
    }

    // MARK: - Finishing a Job

    private func finish(_ job: Job) async {
        defer { finishing.remove(job.name) }
        var logger = self.logger
        logger[metadataKey: "request"] = "\(job.annotations[JobMetadata.requestID] ?? "?")"
        logger[metadataKey: "job"] = "\(job.name)"
        let started = DispatchTime.now()
        do {
            guard let claimed = try await claim(job, logger: logger) else { return }
            let pods = try await kubernetes.listPods(labelSelector: "batch.kubernetes.io/controller-uid=\(claimed.metadata.uid ?? "")").items
                .sorted { ($0.metadata.creationTimestamp ?? "", $0.name) < ($1.metadata.creationTimestamp ?? "", $1.name) }
            guard var outcome = JobOutcome.evaluate(job: claimed, pods: pods) else { return }
            let (logs, archiveError) = await archiveLogs(of: claimed, pods: pods, logger: logger)
            if let archiveError {
                outcome.status = .error
                outcome.reason = "LogArchiveFailed"
                outcome.message = "the job ended (\(outcome.reason)) but its logs could not be archived: \(archiveError)"
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

    /// Marks the Job as ours, only if nobody changed it since we saw it (409 otherwise).
    private func claim(_ job: Job, logger: Logger) async throws -> Job? {
        let now = Date().formatted(.iso8601)
        do {
            return try await kubernetes.patchJob(
                job.name, annotations: [JobMetadata.claimedBy: workerID, JobMetadata.claimedAt: now],
                resourceVersion: job.metadata.resourceVersion)
        } catch let error as KubernetesError where error.status == 409 || error.status == 404 {
            logger.debug("job changed or taken by another replica", metadata: ["reason": "\(error.reason)"])
            return nil
        }
    }

    private func archiveLogs(of job: Job, pods: [Pod], logger: Logger) async -> ([Reply.LogObject], String?) {
        let bucket = job.annotations[JobMetadata.outputBucket] ?? ""
        var logs: [Reply.LogObject] = []
        var failure: String?
        for pod in pods {
            let key = archiver.key(
                job: job.name, pod: pod.name, requestedName: job.annotations[JobMetadata.requestedName] ?? job.name,
                prefix: job.annotations[JobMetadata.filePrefix])
            do {
                let bytes = try await archiver.archive(pod: pod.name, bucket: bucket, key: key)
                logs.append(Reply.LogObject(pod: pod.name, key: key, bytes: bytes, complete: true))
            } catch {
                logger.error("log archiving failed", metadata: ["pod": "\(pod.name)", "error": "\(error)"])
                logs.append(Reply.LogObject(pod: pod.name, key: key, bytes: 0, complete: false))
                failure = failure ?? "\(error)"
            }
        }
        return (logs, failure)
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
            logs: logs
        )
    }

    private func reportDeleted(_ job: Job) async {
        defer { finishing.remove(job.name) }
        var logger = self.logger
        logger[metadataKey: "job"] = "\(job.name)"
        let reply = Reply(
            requestId: job.annotations[JobMetadata.requestID] ?? job.name,
            jobName: job.annotations[JobMetadata.requestedName], k8sJob: job.name, namespace: job.metadata.namespace,
            status: "cancelled", reason: "Deleted", message: "the Job was deleted before it was reported",
            result: Reply.summary(job: job.name, status: "cancelled", reason: "Deleted"),
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
                    reply, replyTo: job.annotations[JobMetadata.replyTo], correlationID: job.annotations[JobMetadata.correlationID], logger: logger)
                return
            } catch {
                guard attempt < 10 else { throw error }
                logger.warning("reply not confirmed; retrying", metadata: ["error": "\(error)"])
                try await Task.sleep(nanoseconds: UInt64(min(10, 0.5 * Double(attempt)) * 1e9))
            }
        }
    }
}
