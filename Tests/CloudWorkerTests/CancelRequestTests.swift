import Foundation
import JobRunner
import QueueConsumer
import Testing

@testable import CloudWorker

@Suite struct CancelRequestTests {
    static func cancel(_ body: String, type: String? = nil) throws(RequestRejection) -> CancelRequest? {
        try CancelRequest(message: AMQPMessage(body: Array(body.utf8), properties: .init(type: type)))
    }

    static func rejection(_ body: String, type: String? = nil) -> RequestRejection? {
        do {
            _ = try cancel(body, type: type)
            return nil
        } catch {
            return error
        }
    }

    @Test func cancelFieldOrCancelTypeMakeACancelRequest() throws {
        #expect(try Self.cancel(#"{"cancel":"req-1"}"#)?.target == "req-1")
        #expect(try Self.cancel(#"{"requestId":"req-2"}"#, type: "cancel")?.target == "req-2")
        #expect(try Self.cancel(#"{"jobName":"nightly"}"#, type: "cancel")?.target == "nightly")
        #expect(try Self.cancel(#"{"image":"i","jobName":"j","inputBucket":"bkt"}"#) == nil)
        #expect(try Self.cancel("not json") == nil)
    }

    @Test func cancelWithoutATargetIsRejectedNamingTheField() {
        #expect(Self.rejection(#"{"cancel":""}"#)?.field == "cancel")
        #expect(Self.rejection(#"{"cancel":42}"#)?.field == "cancel")
        #expect(Self.rejection(#"{"other":1}"#, type: "cancel")?.field == "cancel")
        #expect(Self.rejection(#"{"requestId":7}"#, type: "cancel")?.field == "requestId")
    }

    @Test func matchesUnfinishedJobsByRequestIDOrEitherName() throws {
        func job(_ name: String, request: String, requested: String, finished: Bool = false) throws -> Job {
            let conditions = finished ? #"[{"type":"Complete","status":"True"}]"# : "[]"
            let json = """
                {"metadata":{"name":"\(name)","annotations":{"cloud-worker.io/request-id":"\(request)","cloud-worker.io/job-name":"\(requested)"}},
                 "status":{"conditions":\(conditions)}}
                """
            return try JSONDecoder().decode(Job.self, from: Data(json.utf8))
        }
        let jobs = [
            try job("nightly-1a2b", request: "r1", requested: "nightly"),
            try job("nightly-3c4d", request: "r2", requested: "nightly"),
            try job("other-5e6f", request: "r3", requested: "other", finished: true),
        ]
        let byName = try #require(try Self.cancel(#"{"cancel":"nightly"}"#))
        #expect(byName.matches(jobs).map(\.name) == ["nightly-1a2b", "nightly-3c4d"])
        let byRequest = try #require(try Self.cancel(#"{"cancel":"r2"}"#))
        #expect(byRequest.matches(jobs).map(\.name) == ["nightly-3c4d"])
        let byKubernetesName = try #require(try Self.cancel(#"{"cancel":"nightly-1a2b"}"#))
        #expect(byKubernetesName.matches(jobs).map(\.name) == ["nightly-1a2b"])
        let finished = try #require(try Self.cancel(#"{"cancel":"r3"}"#))
        #expect(finished.matches(jobs).isEmpty)
    }
}
