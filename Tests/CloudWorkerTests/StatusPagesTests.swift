import Foundation
import JobRunner
import Testing

@testable import CloudWorker

@Suite struct StatusPagesTests {
    static func job(annotations: [String: String], active: Int) throws -> Job {
        let json: [String: Any] = [
            "metadata": ["name": "j-1", "uid": "u-1", "annotations": annotations, "creationTimestamp": "2026-01-01T00:00:00Z"],
            "status": ["active": active, "startTime": "2026-01-01T00:00:01Z"],
        ]
        return try JSONDecoder().decode(Job.self, from: JSONSerialization.data(withJSONObject: json))
    }

    @Test func valuesFromRequestsAreEscaped() {
        let rejected = RejectedRequests.Entry(
            requestId: "r\"1", jobName: "<img src=x onerror=alert(1)>", reason: "<script>alert('x')</script>", updatedAt: "now")
        let html = StatusPages.list(jobs: [], rejected: [rejected], state: nil, name: "\"><b>", health: "ok")
        #expect(!html.contains("<script>alert"))
        #expect(!html.contains("<img src=x"))
        #expect(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"))
        #expect(html.contains("value=\"&quot;&gt;&lt;b&gt;\""))
        #expect(html.contains("r&quot;1"))
    }

    @Test func aRunningJobIsShownWithItsRequestAndFiltered() throws {
        let job = try Self.job(annotations: ["cloud-worker.io/request-id": "req-9", "cloud-worker.io/job-name": "nightly"], active: 1)
        let view = JobView(job: job, pods: []) { _ in "" }
        #expect(view.state == "running")
        #expect(view.requestId == "req-9")
        #expect(view.jobName == "nightly")
        #expect(view.matches(state: "running", name: "NIGHT"))
        #expect(view.matches(state: nil, name: "req-9"))
        #expect(!view.matches(state: "succeeded", name: nil))
        #expect(!view.matches(state: nil, name: "other"))
    }

    @Test func aCancelShowsAsCancelled() throws {
        let job = try Self.job(annotations: ["cloud-worker.io/cancelled-by": "req-2"], active: 1)
        #expect(JobView(job: job, pods: []) { _ in "" }.state == "cancelled")
    }

    // MARK: - Finished Jobs

    static func finishedJob(annotations: [String: String] = [:]) -> (Job, [Pod]) {
        var notes = annotations
        notes[JobMetadata.reported] = "true"
        var job = JobLifecycleTests.job(complete: 5, succeeded: 1, annotations: notes)
        job.metadata.finalizers = nil
        job.metadata.creationTimestamp = JobLifecycleTests.iso(-1)
        return (job, [JobLifecycleTests.pod(.succeeded)])
    }

    /// Every replica lists a finished Job as its reporter replied: the same state, reason, exit
    /// code, times and reply.
    @Test func aFinishedJobIsListedWithItsReply() throws {
        let (job, pods) = Self.finishedJob()
        let view = JobView(job: job, pods: pods) { "logs/\($0.name).log" }
        let sent = JobLifecycle.reply(
            job: job, pods: pods, ending: .finished(try #require(JobOutcome.finalCondition(of: job))),
            facts: JobLifecycleTests.facts(job, pods: pods, replied: true, now: 6))
        #expect(view.state == "succeeded")
        #expect(view.reported)
        #expect(view.reason == sent.reason)
        #expect(view.exitCode == 0)
        #expect(view.startedAt == sent.startedAt)
        #expect(view.completedAt == sent.completedAt)
        #expect(view.durationMs == 5000)
        var expected = sent
        expected.logs = nil
        expected.logsComplete = nil
        #expect(view.reply == expected)
        #expect(view.matches(state: "succeeded", name: "test-job"))
        #expect(!view.matches(state: "running", name: nil))

        let html = StatusPages.list(jobs: [view], rejected: [], state: nil, name: nil, health: "ok")
        #expect(html.contains("<td class=\"succeeded\">succeeded</td>"))
        #expect(html.contains("<td>5.0 s</td>"))
        #expect(html.contains("<a href=\"/jobs/test-job-1\">test-job-1</a>"))
        #expect(html.contains("Rejected by this replica"))
        #expect(!html.contains("Ended"))
    }

    /// A cancel shows as the reply says it: `cancelled` for `Cancelled`, not the deadline that
    /// stopped the pods.
    @Test func aCancelledJobIsListedAsItsReplySaysAfterItEnds() {
        var job = JobLifecycleTests.job(
            failed: (5, "DeadlineExceeded"), failedPods: 1, annotations: [JobMetadata.cancelledBy: "req-2", JobMetadata.reported: "true"])
        job.metadata.finalizers = nil
        let view = JobView(job: job, pods: [JobLifecycleTests.pod(.failed)]) { _ in "" }
        #expect(view.state == "cancelled")
        #expect(view.reason == "Cancelled")
        #expect(view.reply?.message == "cancelled by request req-2")
        #expect(view.exitCode == 3)
    }

    @Test func theDetailPageShowsTheReplyOfAFinishedJob() throws {
        let (job, pods) = Self.finishedJob()
        let view = JobView(job: job, pods: pods) { "logs/\($0.name).log" }
        let log = JobDirectory.Detail.Log(pod: "test-job-1-a", key: "logs/test-job-1-a.log", url: "http://s3/x?sig=1&b=2")
        let detail = JobDirectory.Detail(job: view, request: [JobMetadata.reported: "true"], reply: view.reply, logs: [log])
        let html = StatusPages.detail(detail, replyJSON: String(decoding: try #require(view.reply).json, as: UTF8.self))
        #expect(html.contains("<td data-field=\"state\">succeeded</td>"))
        #expect(html.contains("<td data-field=\"reply sent\">yes</td>"))
        #expect(html.contains("&quot;status&quot;:&quot;succeeded&quot;"))
        #expect(html.contains("href=\"http://s3/x?sig=1&amp;b=2\""))
    }

    @Test func rejectionsAreKeptNewestFirstAndBounded() {
        let rejections = RejectedRequests(capacity: 2)
        for index in 1...3 { rejections.record(requestID: "r\(index)", jobName: "job-\(index)", reason: "bad") }
        rejections.record(requestID: "r2", jobName: "job-2", reason: "bad again")
        #expect(rejections.recent().map(\.requestId) == ["r2", "r3"])
        #expect(rejections.recent().first?.reason == "bad again")
        #expect(rejections.recent(name: "JOB-3").map(\.requestId) == ["r3"])
        #expect(rejections.recent().allSatisfy { $0.state == "rejected" })
    }

    /// Finished Jobs stay for the retention: the page shows the newest of them, and says so.
    @Test func theListShowsTheNewestJobsUpToItsLimit() {
        let (job, pods) = Self.finishedJob()
        let view = JobView(job: job, pods: pods) { _ in "" }
        let many = Array(repeating: view, count: StatusPages.listLimit + 1)
        let html = StatusPages.list(jobs: many, rejected: [], state: nil, name: nil, health: "ok")
        #expect(html.components(separatedBy: "<td class=\"succeeded\">").count - 1 == StatusPages.listLimit)
        #expect(html.contains("The newest \(StatusPages.listLimit) of \(StatusPages.listLimit + 1): filter to see the others."))
        #expect(StatusPages.list(jobs: [view], rejected: [], state: nil, name: nil, health: "ok").contains("1 Job."))
    }
}
