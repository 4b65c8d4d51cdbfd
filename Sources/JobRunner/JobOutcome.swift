/// How a finished Job ended, read from its conditions and its pods' container states.
public struct JobOutcome: Sendable, Equatable {
    public enum Status: String, Sendable {
        case succeeded, failed, timedOut, cancelled
    }

    public var status: Status
    public var reason: String
    public var message: String
    public var exitCode: Int?
    public var terminationMessage: String?
    public var startedAt: String?
    public var completedAt: String?
    /// A fan-out's completion indexes: how many there are and how many succeeded.
    public var tasks: TaskCounts?

    public struct TaskCounts: Sendable, Equatable {
        public var total: Int
        public var succeeded: Int
        /// Indexes that did not succeed (failed, or never ran because the Job ended first).
        public var failed: Int { total - succeeded }
    }

    public init(
        status: Status, reason: String, message: String, exitCode: Int? = nil, terminationMessage: String? = nil,
        startedAt: String? = nil, completedAt: String? = nil
    ) {
        self.status = status
        self.reason = reason
        self.message = message
        self.exitCode = exitCode
        self.terminationMessage = terminationMessage
        self.startedAt = startedAt
        self.completedAt = completedAt
    }

    /// The Job's final condition (`Complete` or `Failed`), if it has one. `SuccessCriteriaMet`
    /// and `FailureTarget` (Kubernetes 1.31+) come first, while the controller still stops the
    /// pods; the outcome waits for the final one so that every pod's log has ended.
    public static func finalCondition(of job: Job) -> JobCondition? {
        job.status?.conditions?.first { ($0.type == "Complete" || $0.type == "Failed") && $0.status == "True" }
    }

    public static func evaluate(job: Job, pods: [Pod]) -> JobOutcome? {
        guard let condition = finalCondition(of: job) else { return nil }
        let terminated = pods.compactMap { pod in
            pod.status?.containerStatuses?.first?.state?.terminated
        }.sorted { ($0.finishedAt ?? "") < ($1.finishedAt ?? "") }
        let succeeded = condition.type == "Complete"
        // The container that decided the outcome: the last to succeed, or the last to fail.
        let deciding = succeeded ? terminated.last { $0.exitCode == 0 } : terminated.last { $0.exitCode != 0 } ?? terminated.last
        var outcome = JobOutcome(
            status: succeeded ? .succeeded : .failed,
            reason: succeeded ? "Completed" : condition.reason ?? "Failed",
            message: condition.message ?? "",
            exitCode: deciding?.exitCode,
            terminationMessage: deciding?.message.flatMap { $0.isEmpty ? nil : $0 },
            startedAt: job.status?.startTime,
            completedAt: job.status?.completionTime ?? condition.lastTransitionTime
        )
        if job.spec?.completionMode == "Indexed", let total = job.spec?.completions {
            outcome.tasks = TaskCounts(total: total, succeeded: min(job.status?.succeeded ?? 0, total))
        }
        if condition.reason == "DeadlineExceeded" {
            outcome.status = .timedOut
        } else if !succeeded, deciding?.reason == "OOMKilled" {
            outcome.reason = "OOMKilled"
        }
        return outcome
    }
}
