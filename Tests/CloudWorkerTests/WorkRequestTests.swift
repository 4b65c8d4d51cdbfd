import Testing

@testable import CloudWorker

@Suite struct WorkRequestTests {
    static let limits = RequestLimits()

    static func decode(_ json: String, limits: RequestLimits = limits) throws(RequestRejection) -> WorkRequest {
        try WorkRequest(body: Array(json.utf8), limits: limits)
    }

    static func rejection(_ json: String, limits: RequestLimits = limits) -> RequestRejection? {
        do {
            _ = try decode(json, limits: limits)
            return nil
        } catch {
            return error
        }
    }

    @Test func decodesMSTCFieldsWithDefaults() throws {
        let request = try Self.decode(#"{"image":"img:1","jobName":"test-job","inputBucket":"in.bucket","unknown":42}"#)
        #expect(request.image == "img:1")
        #expect(request.jobName == "test-job")
        #expect(request.timeoutMinutes == 15)
        #expect(request.outputBucket == "in.bucket")
        #expect(request.backoffLimit == 0)
    }

    @Test func zeroTimeoutMeansTheDefault() throws {
        #expect(try Self.decode(#"{"image":"i","jobName":"j","inputBucket":"bkt","timeOut":0}"#).timeoutMinutes == 15)
        #expect(try Self.decode(#"{"image":"i","jobName":"j","inputBucket":"bkt","timeOut":3}"#).timeoutMinutes == 3)
    }

    @Test func optionalFields() throws {
        let request = try Self.decode(
            #"{"image":"i","jobName":"j","inputBucket":"bkt","outputBucket":"out","env":{"A":"1"},"command":["sh"],"args":["-c","x"],"backoffLimit":2,"prefix":"p","resources":{"limits":{"memory":"1Gi","cpu":2}}}"#
        )
        #expect(request.env == ["A": "1"])
        #expect(request.command == ["sh"])
        #expect(request.args == ["-c", "x"])
        #expect(request.backoffLimit == 2)
        #expect(request.prefix == "p")
        #expect(request.resources["limits"] == ["memory": "1Gi", "cpu": "2"])
    }

    @Test(arguments: [
        ("not json", "body"),
        ("[1,2]", "body"),
        (#"{"jobName":"j","inputBucket":"bkt"}"#, "image"),
        (#"{"image":"","jobName":"j","inputBucket":"bkt"}"#, "image"),
        (#"{"image":"i","inputBucket":"bkt"}"#, "jobName"),
        (#"{"image":"i","jobName":"j"}"#, "inputBucket"),
        (#"{"image":"i","jobName":"j","inputBucket":"Bad_Bucket"}"#, "inputBucket"),
        (#"{"image":"i","jobName":"j","inputBucket":"bkt","timeOut":"10"}"#, "timeOut"),
        (#"{"image":"i","jobName":"j","inputBucket":"bkt","timeOut":1.5}"#, "timeOut"),
        (#"{"image":"i","jobName":"j","inputBucket":"bkt","timeOut":true}"#, "timeOut"),
        (#"{"image":"i","jobName":"j","inputBucket":"bkt","timeOut":100000}"#, "timeOut"),
        (#"{"image":"i","jobName":"j","inputBucket":"bkt","env":{"A":1}}"#, "env.A"),
        (#"{"image":"i","jobName":"j","inputBucket":"bkt","env":{"AWS_SECRET_ACCESS_KEY":"x"}}"#, "env.AWS_SECRET_ACCESS_KEY"),
        (#"{"image":"i","jobName":"j","inputBucket":"bkt","command":"sh"}"#, "command"),
        (#"{"image":"i","jobName":"j","inputBucket":"bkt","backoffLimit":99}"#, "backoffLimit"),
        (#"{"image":"i","jobName":"j","inputBucket":"bkt","resources":{"limits":{"memory":"lots"}}}"#, "resources.limits.memory"),
    ])
    func rejectsNamingTheField(_ json: String, field: String) {
        #expect(Self.rejection(json)?.field == field)
    }

    @Test func imageAllowList() {
        var limits = RequestLimits()
        limits.allowedImagePrefixes = ["registry.example/"]
        #expect(Self.rejection(#"{"image":"evil/x","jobName":"j","inputBucket":"bkt"}"#, limits: limits)?.field == "image")
        #expect(Self.rejection(#"{"image":"registry.example/x","jobName":"j","inputBucket":"bkt"}"#, limits: limits) == nil)
    }

    @Test func sizeLimit() {
        var limits = RequestLimits()
        limits.maxRequestBytes = 10
        #expect(Self.rejection(#"{"image":"i","jobName":"j","inputBucket":"bkt"}"#, limits: limits)?.field == "body")
    }
}
