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
        let rejected = JobBoard.Entry(
            requestId: "r\"1", jobName: "<img src=x onerror=alert(1)>", k8sJob: nil, state: "rejected",
            reason: "<script>alert('x')</script>", updatedAt: "now")
        let html = StatusPages.list(jobs: [], ended: [rejected], state: nil, name: "\"><b>", health: "ok")
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
}
