import Testing

@testable import RequestValidation

@Suite struct RequestMessageTests {
    static func parse(_ body: String, type: String? = nil, policy: RequestPolicy = RequestPolicy()) throws(RequestRejection)
        -> RequestMessage
    {
        try RequestMessage(body: Array(body.utf8), type: type, policy: policy)
    }

    static func rejection(_ body: String, type: String? = nil, policy: RequestPolicy = RequestPolicy()) -> RequestRejection? {
        do {
            _ = try parse(body, type: type, policy: policy)
            return nil
        } catch {
            return error
        }
    }

    @Test func cancelFieldOrCancelTypeMakeACancelRequest() throws {
        #expect(try Self.parse(#"{"cancel":"req-1"}"#) == .cancel(target: "req-1"))
        #expect(try Self.parse(#"{"requestId":"req-2"}"#, type: "cancel") == .cancel(target: "req-2"))
        #expect(try Self.parse(#"{"jobName":"nightly"}"#, type: "cancel") == .cancel(target: "nightly"))
        guard case .work = try Self.parse(#"{"image":"i","jobName":"j","inputBucket":"bkt"}"#) else {
            Issue.record("a request with an image is work")
            return
        }
    }

    @Test func cancelWithoutATargetIsRejectedNamingTheField() {
        #expect(Self.rejection(#"{"cancel":""}"#)?.field == "cancel")
        #expect(Self.rejection(#"{"cancel":42}"#)?.field == "cancel")
        #expect(Self.rejection(#"{"other":1}"#, type: "cancel")?.field == "cancel")
        #expect(Self.rejection(#"{"requestId":7}"#, type: "cancel")?.field == "requestId")
        #expect(Self.rejection(#"{"cancel":"\#(String(repeating: "x", count: 254))"}"#)?.field == "cancel")
    }

    @Test func sizeIsCheckedBeforeParsing() {
        var policy = RequestPolicy()
        policy.limits.maxRequestBytes = 10
        // Not JSON at all: the size is what a rejection names, so the parser never saw it.
        let rejection = Self.rejection(String(repeating: "x", count: 11), policy: policy)
        #expect(rejection == RequestRejection(field: "body", reason: "is 11 bytes, more than the limit of 10"))
    }

    @Test func nestingIsCheckedBeforeParsing() {
        var policy = RequestPolicy()
        policy.limits.maxJSONDepth = 3
        #expect(Self.rejection(#"{"cancel":"x","a":[[1]]}"#, policy: policy) == nil)
        let rejection = Self.rejection(#"{"cancel":"x","a":[[[1]]]}"#, policy: policy)
        #expect(rejection?.field == "body")
        #expect(rejection?.reason.contains("more than 3 deep") == true)
        #expect(Self.rejection(String(repeating: "[", count: 500_000))?.field == "body")
    }
}
