import Foundation
import Testing

@testable import JobRunner

@Suite struct JobOutcomeTests {
    static func job(_ type: String, reason: String?) throws -> Job {
        let json = """
            {"metadata":{"name":"j"},"status":{"startTime":"2026-01-01T00:00:00Z","completionTime":"2026-01-01T00:00:10Z",
             "conditions":[{"type":"\(type)","status":"True","reason":\(reason.map { "\"\($0)\"" } ?? "null"),"message":"m"}]}}
            """
        return try JSONDecoder().decode(Job.self, from: Data(json.utf8))
    }

    static func pod(exitCode: Int, reason: String, message: String?, finishedAt: String) throws -> Pod {
        let json = """
            {"metadata":{"name":"p"},"status":{"phase":"Failed","containerStatuses":[{"name":"job","state":{"terminated":
             {"exitCode":\(exitCode),"reason":"\(reason)","message":\(message.map { "\"\($0)\"" } ?? "null"),"finishedAt":"\(finishedAt)"}}}]}}
            """
        return try JSONDecoder().decode(Pod.self, from: Data(json.utf8))
    }

    @Test func completeJobSucceeds() throws {
        let outcome = JobOutcome.evaluate(
            job: try Self.job("Complete", reason: "CompletionsReached"),
            pods: [try Self.pod(exitCode: 0, reason: "Completed", message: "done", finishedAt: "2026-01-01T00:00:09Z")])
        #expect(outcome?.status == .succeeded)
        #expect(outcome?.reason == "Completed")
        #expect(outcome?.exitCode == 0)
        #expect(outcome?.terminationMessage == "done")
        #expect(outcome?.completedAt == "2026-01-01T00:00:10Z")
    }

    @Test func failedJobReportsTheLastFailedContainer() throws {
        let outcome = JobOutcome.evaluate(
            job: try Self.job("Failed", reason: "BackoffLimitExceeded"),
            pods: [
                try Self.pod(exitCode: 3, reason: "Error", message: "first", finishedAt: "2026-01-01T00:00:02Z"),
                try Self.pod(exitCode: 4, reason: "Error", message: "second", finishedAt: "2026-01-01T00:00:05Z"),
            ])
        #expect(outcome?.status == .failed)
        #expect(outcome?.reason == "BackoffLimitExceeded")
        #expect(outcome?.exitCode == 4)
        #expect(outcome?.terminationMessage == "second")
    }

    @Test func deadlineMeansTimedOutAndOOMIsNamed() throws {
        #expect(JobOutcome.evaluate(job: try Self.job("Failed", reason: "DeadlineExceeded"), pods: [])?.status == .timedOut)
        let oom = JobOutcome.evaluate(
            job: try Self.job("Failed", reason: "BackoffLimitExceeded"),
            pods: [try Self.pod(exitCode: 137, reason: "OOMKilled", message: nil, finishedAt: "2026-01-01T00:00:02Z")])
        #expect(oom?.reason == "OOMKilled")
    }

    @Test func unfinishedJobHasNoOutcome() throws {
        let job = try JSONDecoder().decode(Job.self, from: Data(#"{"metadata":{"name":"j"},"status":{"active":1}}"#.utf8))
        #expect(JobOutcome.evaluate(job: job, pods: []) == nil)
    }

    @Test func interimConditionsAreNotTheOutcomeYet() throws {
        #expect(JobOutcome.evaluate(job: try Self.job("FailureTarget", reason: "BackoffLimitExceeded"), pods: []) == nil)
        #expect(JobOutcome.evaluate(job: try Self.job("SuccessCriteriaMet", reason: "CompletionsReached"), pods: []) == nil)
    }
}
