import Foundation
import JobRunner
import RequestValidation

/// The reply body of SPEC §7.
struct Reply: Codable, Sendable, Equatable {
    /// The one status vocabulary of replies.
    enum Status: String, Codable, Sendable {
        case succeeded, failed, timedOut, cancelled, rejected, error
    }

    var requestId: String
    var jobName: String?
    var k8sJob: String?
    var namespace: String?
    var status: Status
    var reason: String?
    var message: String?
    var exitCode: Int?
    var terminationMessage: String?
    var startedAt: String?
    var completedAt: String?
    var durationMs: Int?
    var result: String
    var outputBucket: String?
    var logs: [LogObject]?
    /// False when any log could not be archived whole (its entry says why).
    var logsComplete: Bool?
    var tasks: TaskCounts?

    /// A fan-out's tasks: how many, how many succeeded, how many did not.
    struct TaskCounts: Codable, Sendable, Equatable {
        var total: Int
        var succeeded: Int
        var failed: Int
    }

    struct LogObject: Codable, Sendable, Equatable {
        var pod: String
        var key: String
        var bytes: Int
        var complete: Bool
        /// Why the log is not all there, if it is not.
        var error: String?
    }

    /// MSTC's one-line summary: `Job <name> complete.` on success, `Job <name> <status>: ...` else.
    static func summary(job: String, status: Status, reason: String?) -> String {
        guard status != .succeeded else { return "Job \(job) complete." }
        return "Job \(job) \(status.rawValue)" + (reason.map { ": \($0)." } ?? ".")
    }

    static func rejected(requestID: String, jobName: String?, rejection: RequestRejection) -> Reply {
        Reply(
            requestId: requestID, jobName: jobName, status: .rejected, reason: "InvalidRequest",
            message: rejection.description,
            result: summary(job: jobName ?? "request", status: .rejected, reason: rejection.description))
    }

    /// The body: members in key order, absent ones left out, as `JSONEncoder` would write it
    /// with sorted keys, in a fraction of its time.
    var json: [UInt8] {
        var json = JSONWriter(capacity: 512)
        json.object { json in
            if let completedAt { json.member("completedAt", completedAt) }
            if let durationMs { json.member("durationMs", durationMs) }
            if let exitCode { json.member("exitCode", exitCode) }
            if let jobName { json.member("jobName", jobName) }
            if let k8sJob { json.member("k8sJob", k8sJob) }
            if let logs {
                json.array("logs") { json in
                    for log in logs {
                        json.object { json in
                            json.member("bytes", log.bytes)
                            json.member("complete", log.complete)
                            if let error = log.error { json.member("error", error) }
                            json.member("key", log.key)
                            json.member("pod", log.pod)
                        }
                    }
                }
            }
            if let logsComplete { json.member("logsComplete", logsComplete) }
            if let message { json.member("message", message) }
            if let namespace { json.member("namespace", namespace) }
            if let outputBucket { json.member("outputBucket", outputBucket) }
            if let reason { json.member("reason", reason) }
            json.member("requestId", requestId)
            json.member("result", result)
            if let startedAt { json.member("startedAt", startedAt) }
            json.member("status", status.rawValue)
            if let tasks {
                json.object("tasks") { json in
                    json.member("failed", tasks.failed)
                    json.member("succeeded", tasks.succeeded)
                    json.member("total", tasks.total)
                }
            }
            if let terminationMessage { json.member("terminationMessage", terminationMessage) }
        }
        return json.bytes
    }

    /// Milliseconds between two RFC 3339 timestamps.
    static func duration(from start: String?, to end: String?) -> Int? {
        guard let from = LogTimestamp.date(start), let to = LogTimestamp.date(end) else { return nil }
        return Int((to.timeIntervalSince(from) * 1000).rounded())
    }
}

extension Reply {
    /// The reply for a Job that ended, from its annotations (the durable record of the request).
    init(job: Job, outcome: JobOutcome, logs: [LogObject]) {
        let status = Status(outcome.status)
        self.init(
            requestId: job.annotations[JobMetadata.requestID] ?? job.name,
            jobName: job.annotations[JobMetadata.requestedName],
            k8sJob: job.name,
            namespace: job.metadata.namespace,
            status: status,
            reason: outcome.reason,
            message: outcome.message,
            exitCode: outcome.exitCode,
            terminationMessage: outcome.terminationMessage,
            startedAt: outcome.startedAt,
            completedAt: outcome.completedAt,
            durationMs: Reply.duration(from: outcome.startedAt, to: outcome.completedAt),
            result: Reply.summary(job: job.name, status: status, reason: outcome.reason),
            outputBucket: job.annotations[JobMetadata.outputBucket],
            logs: logs,
            logsComplete: logs.allSatisfy(\.complete),
            tasks: outcome.tasks.map { TaskCounts(total: $0.total, succeeded: $0.succeeded, failed: $0.failed) }
        )
    }
}

extension Reply.Status {
    init(_ status: JobOutcome.Status) {
        switch status {
        case .succeeded: self = .succeeded
        case .failed: self = .failed
        case .timedOut: self = .timedOut
        case .cancelled: self = .cancelled
        }
    }
}
