/// Caps on the size and shape of a request. Every one has a default.
public struct RequestLimits: Sendable {
    public var defaultTimeoutMinutes = 15
    public var maxTimeoutMinutes = 1440
    public var maxBackoffLimit = 10
    /// Checked on the raw body, before any parsing.
    public var maxRequestBytes = 1 << 20
    /// Arrays and objects inside each other; checked before parsing, so that no parser recurses
    /// deeper than this.
    public var maxJSONDepth = 32
    public var maxEnvEntries = 100
    public var maxTasks = 1000
    /// The task ConfigMap must stay under the API server's 1 MiB object limit.
    public var maxTaskBytes = 900 * 1024
    public var maxParallelism = 10

    /// Kubernetes' limit on annotation-sized names (a DNS subdomain).
    public static let maxJobNameLength = 253
    public static let maxPrefixLength = 128

    public init() {}
}
