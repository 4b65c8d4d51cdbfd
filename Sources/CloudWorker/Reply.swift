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

    var json: [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? [UInt8](encoder.encode(self))) ?? []
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
