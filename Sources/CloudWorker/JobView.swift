import Foundation
import JobRunner

/// One request's Job as the status pages and API show it, read from the shared Job cache, so
/// that every replica shows the same Jobs, those it recovered after a restart included, and
/// finished ones, with their reply, for as long as they stay (`finished-job-retention-seconds`
/// once reported). The first six fields are those `/api/jobs` has always had.
struct JobView: Codable, Sendable {
    struct PodView: Codable, Sendable {
        var name: String
        var phase: String?
        var exitCode: Int?
        var reason: String?
        var startedAt: String?
        var finishedAt: String?
        var durationMs: Int?
        /// Where the pod's log is archived.
        var logKey: String
    }

    var requestId: String
    var jobName: String?
    var k8sJob: String
    /// `pending` or `running` until the Job ends (`cancelled` once a cancel names it), then its
    /// reply's status.
    var state: String
    var reason: String?
    var updatedAt: String
    var createdAt: String?
    var startedAt: String?
    var completedAt: String?
    var durationMs: Int?
    var exitCode: Int?
    var outputBucket: String?
    var claimedBy: String?
    /// Whether the reply was sent (the Job's `reported` mark).
    var reported: Bool
    /// Once the Job has ended: its reply, as its reporter sends it, less the logs (the Job's
    /// own page and `/api/jobs/<Job>` give them, with their archived sizes).
    var reply: Reply?
    var pods: [PodView]

    /// `logKey` names where a pod's log is archived (the worker's key template).
    init(job: Job, pods: [Pod], now: Date = Date(), logKey: (Pod) -> String) {
        var reply = JobLifecycle.reply(ofFinished: job, pods: pods, logs: [], now: now)
        reply?.logs = nil
        reply?.logsComplete = nil
        let annotations = job.annotations
        requestId = annotations[JobMetadata.requestID] ?? job.name
        jobName = annotations[JobMetadata.requestedName]
        k8sJob = job.name
        if let reply {
            state = reply.status.rawValue
        } else if annotations[JobMetadata.cancelledBy] != nil {
            state = Reply.Status.cancelled.rawValue
        } else {
            state = (job.status?.active ?? 0) > 0 ? "running" : "pending"
        }
        reason = reply?.reason ?? pods.lazy.compactMap(\.stuckReason).first
        createdAt = job.metadata.creationTimestamp
        startedAt = reply?.startedAt ?? job.status?.startTime
        completedAt = reply?.completedAt
        durationMs = reply?.durationMs
        exitCode = reply?.exitCode
        updatedAt = completedAt ?? startedAt ?? createdAt ?? ""
        outputBucket = annotations[JobMetadata.outputBucket]
        claimedBy = annotations[JobMetadata.claimedBy]
        reported = annotations[JobMetadata.reported] != nil
        self.reply = reply
        self.pods = pods.map { pod in
            let terminated = pod.containerState?.terminated
            return PodView(
                name: pod.name, phase: pod.status?.phase, exitCode: terminated?.exitCode,
                reason: terminated?.reason ?? pod.containerState?.waiting?.reason ?? pod.status?.reason,
                startedAt: terminated?.startedAt ?? pod.containerState?.running?.startedAt ?? pod.status?.startTime,
                finishedAt: terminated?.finishedAt,
                durationMs: Reply.duration(from: terminated?.startedAt, to: terminated?.finishedAt), logKey: logKey(pod))
        }
    }

    /// Whether the view passes the page's filters: a state, and a part of the job name, the
    /// Kubernetes Job's name or the request id.
    func matches(state wanted: String?, name: String?) -> Bool {
        if let wanted, !wanted.isEmpty, state != wanted { return false }
        guard let name, !name.isEmpty else { return true }
        return [jobName ?? "", k8sJob, requestId].contains { $0.localizedCaseInsensitiveContains(name) }
    }
}
