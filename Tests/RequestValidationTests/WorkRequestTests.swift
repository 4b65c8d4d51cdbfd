import Testing

@testable import RequestValidation

@Suite struct WorkRequestTests {
    static func decode(_ json: String, policy: RequestPolicy = RequestPolicy()) throws(RequestRejection) -> WorkRequest {
        guard case .work(let request) = try RequestMessage(body: Array(json.utf8), type: nil, policy: policy) else {
            throw RequestRejection(field: "test", reason: "not a work request")
        }
        return request
    }

    static func decode(_ json: String, limits: RequestLimits) throws(RequestRejection) -> WorkRequest {
        var policy = RequestPolicy()
        policy.limits = limits
        return try decode(json, policy: policy)
    }

    static func rejection(_ json: String, policy: RequestPolicy = RequestPolicy()) -> RequestRejection? {
        do {
            _ = try decode(json, policy: policy)
            return nil
        } catch {
            return error
        }
    }

    static func rejection(_ json: String, limits: RequestLimits) -> RequestRejection? {
        var policy = RequestPolicy()
        policy.limits = limits
        return rejection(json, policy: policy)
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
        #expect(request.resources.limits == ["memory": ResourceQuantity("1Gi")!, "cpu": ResourceQuantity("2")!])
        #expect(request.resources.limits["cpu"]?.text == "2")
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
        var policy = RequestPolicy()
        policy.images = ImagePolicy(allowed: ["registry.example/"])
        #expect(Self.rejection(#"{"image":"evil/x","jobName":"j","inputBucket":"bkt"}"#, policy: policy)?.field == "image")
        #expect(Self.rejection(#"{"image":"registry.example/x","jobName":"j","inputBucket":"bkt"}"#, policy: policy) == nil)
    }

    @Test func sizeLimit() {
        var limits = RequestLimits()
        limits.maxRequestBytes = 10
        #expect(Self.rejection(#"{"image":"i","jobName":"j","inputBucket":"bkt"}"#, limits: limits)?.field == "body")
    }

    @Test func fanOutKeepsEachTaskAsJSONAndDefaultsParallelismToTheCap() throws {
        let request = try Self.decode(#"{"image":"i","jobName":"j","inputBucket":"bkt","tasks":[{"b":2,"a":"x"},"two",3,null,[true]]}"#)
        #expect(request.tasks == [#"{"a":"x","b":2}"#, #""two""#, "3", "null", "[true]"])
        #expect(request.parallelism == 5)
        var limits = RequestLimits()
        limits.maxParallelism = 2
        let capped = try Self.decode(#"{"image":"i","jobName":"j","inputBucket":"bkt","tasks":[1,2,3]}"#, limits: limits)
        #expect(capped.parallelism == 2)
        let asked = try Self.decode(#"{"image":"i","jobName":"j","inputBucket":"bkt","tasks":[1,2,3],"parallelism":1}"#)
        #expect(asked.parallelism == 1)
        #expect(try Self.decode(#"{"image":"i","jobName":"j","inputBucket":"bkt"}"#).tasks.isEmpty)
    }

    @Test(arguments: [
        (#""tasks":"x""#, "tasks", "must be an array"),
        (#""tasks":[]"#, "tasks", "must not be empty"),
        (#""tasks":[1,2],"parallelism":0"#, "parallelism", "must be between 1 and 10"),
        (#""tasks":[1,2],"parallelism":11"#, "parallelism", "must be between 1 and 10"),
        (#""tasks":[1],"parallelism":"2""#, "parallelism", "must be an integer"),
        (#""parallelism":2"#, "parallelism", "applies only to a request with tasks"),
    ])
    func badFanOutIsRejectedNamingTheField(fields: String, field: String, reason: String) {
        let rejection = Self.rejection(#"{"image":"i","jobName":"j","inputBucket":"bkt","# + fields + "}")
        #expect(rejection?.field == field)
        #expect(rejection?.reason.contains(reason) == true, "\(rejection?.reason ?? "accepted")")
    }

    @Test func fanOutLimitsOnCountAndSize() {
        var limits = RequestLimits()
        limits.maxTasks = 3
        #expect(
            Self.rejection(#"{"image":"i","jobName":"j","inputBucket":"bkt","tasks":[1,2,3,4]}"#, limits: limits)
                == RequestRejection(field: "tasks", reason: "has 4 tasks, more than the limit of 3"))
        limits.maxTaskBytes = 10
        let big = Self.rejection(#"{"image":"i","jobName":"j","inputBucket":"bkt","tasks":["abcdefghijkl"]}"#, limits: limits)
        #expect(big == RequestRejection(field: "tasks", reason: "holds 14 bytes of JSON, more than the limit of 10"))
    }
}
