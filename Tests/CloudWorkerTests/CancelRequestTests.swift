import Foundation
import JobRunner
import QueueConsumer
import Testing

@testable import CloudWorker

@Suite struct CancelRequestTests {
    static func job(
        _ name: String, request: String, requested: String, replyTo: String? = nil, producer: String? = nil, finished: Bool = false
    )
        throws -> Job
    {
        var annotations = ["cloud-worker.io/request-id": request, "cloud-worker.io/job-name": requested]
        annotations["cloud-worker.io/reply-to"] = replyTo
        annotations["cloud-worker.io/producer"] = producer
        let metadata: [String: Any] = ["name": name, "annotations": annotations]
        let conditions = finished ? [["type": "Complete", "status": "True"]] : []
        let json = try JSONSerialization.data(withJSONObject: ["metadata": metadata, "status": ["conditions": conditions]])
        return try JSONDecoder().decode(Job.self, from: json)
    }

    static func cancel(_ target: String, replyTo: String? = nil, userID: String? = nil) -> CancelRequest {
        CancelRequest(target: target, message: AMQPMessage(body: [], properties: .init(replyTo: replyTo, userID: userID)))
    }

    static let jobs = [
        try! job("nightly-1a2b", request: "r1", requested: "nightly", replyTo: "alice.replies"),
        try! job("nightly-3c4d", request: "r2", requested: "nightly", producer: "bob"),
        try! job("other-5e6f", request: "r3", requested: "other", replyTo: "alice.replies", finished: true),
    ]

    @Test func requestIDAndKubernetesNameReachTheirJobWhoeverAsks() {
        #expect(Self.cancel("r2").matches(Self.jobs, scope: .producer).map(\.name) == ["nightly-3c4d"])
        #expect(Self.cancel("nightly-1a2b").matches(Self.jobs, scope: .producer).map(\.name) == ["nightly-1a2b"])
        #expect(Self.cancel("r3").matches(Self.jobs, scope: .producer).isEmpty, "finished jobs are not cancelled")
    }

    @Test func jobNameReachesOnlyTheSameProducersJobs() {
        #expect(Self.cancel("nightly").matches(Self.jobs, scope: .producer).isEmpty)
        #expect(Self.cancel("nightly", replyTo: "mallory.replies").matches(Self.jobs, scope: .producer).isEmpty)
        #expect(Self.cancel("nightly", replyTo: "alice.replies").matches(Self.jobs, scope: .producer).map(\.name) == ["nightly-1a2b"])
        #expect(Self.cancel("nightly", userID: "bob").matches(Self.jobs, scope: .producer).map(\.name) == ["nightly-3c4d"])
        #expect(Self.cancel("nightly", replyTo: "").matches(Self.jobs, scope: .producer).isEmpty)
    }

    @Test func aCancelComeAgainFindsTheJobsItStoppedFinishedOrNot() throws {
        var stopping = try Self.job("nightly-1a2b", request: "r1", requested: "nightly")
        stopping.metadata.annotations?["cloud-worker.io/cancelled-by"] = "cancel-1"
        var finished = try Self.job("other-5e6f", request: "r3", requested: "other", finished: true)
        finished.metadata.annotations?["cloud-worker.io/cancelled-by"] = "cancel-1"
        let jobs = [stopping, finished, Self.jobs[1]]
        #expect(CancelRequest.stopped(by: "cancel-1", in: jobs).map(\.name) == ["nightly-1a2b", "other-5e6f"])
        #expect(CancelRequest.stopped(by: "cancel-2", in: jobs).isEmpty)
    }

    @Test func anyScopeReachesEveryJobOfTheName() {
        #expect(Self.cancel("nightly").matches(Self.jobs, scope: .any).map(\.name) == ["nightly-1a2b", "nightly-3c4d"])
    }
}
