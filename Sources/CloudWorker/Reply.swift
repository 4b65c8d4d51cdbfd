import Foundation
import JobRunner
import RequestValidation

/// The reply body of SPEC §7.
struct Reply: Codable, Sendable, Equatable {
    var requestId: String
    var jobName: String?
    var k8sJob: String?
    var namespace: String?
    var status: String
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
        /// Why the log could not be stored, if it could not.
        var error: String?
    }

    /// MSTC's one-line summary: `Job <name> complete.` on success, `Job <name> <status>: ...` else.
    static func summary(job: String, status: String, reason: String?) -> String {
        guard status != "succeeded" else { return "Job \(job) complete." }
        return "Job \(job) \(status)" + (reason.map { ": \($0)." } ?? ".")
    }

    static func rejected(requestID: String, jobName: String?, rejection: RequestRejection) -> Reply {
        Reply(
            requestId: requestID, jobName: jobName, status: "rejected", reason: "InvalidRequest",
            message: rejection.description,
            result: summary(job: jobName ?? "request", status: "rejected", reason: rejection.description))
    }

    var json: [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? [UInt8](encoder.encode(self))) ?? []
    }

    /// Milliseconds between two RFC 3339 timestamps.
    static func duration(from start: String?, to end: String?) -> Int? {
        guard let start, let end, let from = try? Date(start, strategy: .iso8601), let to = try? Date(end, strategy: .iso8601) else {
            return nil
        }
        return Int((to.timeIntervalSince(from) * 1000).rounded())
    }
}
