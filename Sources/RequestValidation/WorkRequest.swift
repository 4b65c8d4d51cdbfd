import Foundation

/// A validated request (SPEC §3), with MSTC's field names.
public struct WorkRequest: Sendable, Equatable {
    public var image: String
    public var jobName: String
    public var timeoutMinutes: Int
    public var inputBucket: String
    public var outputBucket: String
    /// The Secret whose S3 keys the pods get, chosen by the buckets.
    public var credentialsSecret: String
    public var env: [String: String]
    public var command: [String]?
    public var args: [String]?
    /// What the container gets: the request's own, within the caps, plus the defaults.
    public var resources: ContainerResources
    public var backoffLimit: Int
    public var prefix: String?
    /// Fan-out: each task's JSON text, one completion index each; empty for a single pod.
    public var tasks: [String]
    /// Fan-out pods run at once.
    public var parallelism: Int?
}

extension WorkRequest {
    /// Validates the fields of a parsed body. Unknown fields are ignored, as MSTC's mapper does.
    init(_ fields: RequestFields, policy: RequestPolicy) throws(RequestRejection) {
        let limits = policy.limits
        image = try fields.requiredString("image")
        try policy.images.check(image)
        jobName = try fields.requiredString("jobName")
        guard jobName.utf8.count <= RequestLimits.maxJobNameLength, !Self.hasControlCharacter(jobName) else {
            throw RequestRejection(
                field: "jobName", reason: "must be at most \(RequestLimits.maxJobNameLength) bytes, without control characters")
        }

        let timeout = try fields.integer("timeOut") ?? 0
        guard timeout >= 0 else { throw RequestRejection(field: "timeOut", reason: "must not be negative") }
        guard timeout <= limits.maxTimeoutMinutes else {
            throw RequestRejection(field: "timeOut", reason: "\(timeout) minutes exceeds the maximum of \(limits.maxTimeoutMinutes)")
        }
        timeoutMinutes = timeout == 0 ? limits.defaultTimeoutMinutes : timeout

        inputBucket = try fields.requiredString("inputBucket")
        outputBucket = try fields.string("outputBucket") ?? inputBucket
        credentialsSecret = try policy.buckets.credentialsSecret(input: inputBucket, output: outputBucket)

        env = try fields.stringMap("env", maxCount: limits.maxEnvEntries, checkKey: EnvironmentName.check) ?? [:]
        command = try fields.stringArray("command")
        args = try fields.stringArray("args")
        resources = try policy.resources.resolve(try fields.resources("resources"))

        backoffLimit = try fields.integer("backoffLimit") ?? 0
        guard (0...limits.maxBackoffLimit).contains(backoffLimit) else {
            throw RequestRejection(field: "backoffLimit", reason: "must be between 0 and \(limits.maxBackoffLimit)")
        }
        prefix = try fields.string("prefix")
        if let prefix {
            let unsafe = prefix.contains("/") || prefix.contains("..") || Self.hasControlCharacter(prefix)
            guard prefix.utf8.count <= RequestLimits.maxPrefixLength, !unsafe else {
                throw RequestRejection(
                    field: "prefix",
                    reason: "must be at most \(RequestLimits.maxPrefixLength) bytes, without '/', '..' or control characters")
            }
        }
        try policy.logKey.check(requestedName: jobName, prefix: prefix)
        (tasks, parallelism) = try Self.fanOut(fields, limits: limits)
    }

    /// `tasks` and `parallelism`: at most `maxTasks` tasks whose JSON fits in one ConfigMap,
    /// parallelism within the cap (default: all tasks, up to the cap).
    private static func fanOut(_ fields: RequestFields, limits: RequestLimits) throws(RequestRejection) -> ([String], Int?) {
        let requestedParallelism = try fields.integer("parallelism")
        guard let tasks = try fields.jsonArray("tasks", maxCount: limits.maxTasks) else {
            if requestedParallelism != nil {
                throw RequestRejection(field: "parallelism", reason: "applies only to a request with tasks")
            }
            return ([], nil)
        }
        guard !tasks.isEmpty else { throw RequestRejection(field: "tasks", reason: "must not be empty") }
        let bytes = tasks.reduce(0) { $0 + $1.utf8.count }
        guard bytes <= limits.maxTaskBytes else {
            throw RequestRejection(field: "tasks", reason: "holds \(bytes) bytes of JSON, more than the limit of \(limits.maxTaskBytes)")
        }
        guard let parallelism = requestedParallelism else { return (tasks, min(tasks.count, limits.maxParallelism)) }
        guard (1...limits.maxParallelism).contains(parallelism) else {
            throw RequestRejection(field: "parallelism", reason: "must be between 1 and \(limits.maxParallelism)")
        }
        return (tasks, min(parallelism, tasks.count))
    }

    private static func hasControlCharacter(_ text: String) -> Bool {
        text.unicodeScalars.contains { $0.properties.generalCategory == .control }
    }
}
