/// Which buckets a request may name, and whose S3 keys its pods get: tenants kept apart by
/// bucket name.
public struct BucketPolicy: Sendable {
    /// Names or patterns of the buckets a request may name as input or output; empty allows any.
    public var allowed: [BucketPattern]
    /// In order: the first pattern that matches a request's buckets names the Secret its pods
    /// take `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` from.
    public var credentials: [BucketCredentials]
    /// The Secret of buckets no pattern matches. Not the worker's own keys unless the operator
    /// names that Secret here.
    public var defaultCredentialsSecret: String

    public static let standardCredentialsSecret = "cloud-worker-job-s3"

    public init(
        allowed: [BucketPattern] = [], credentials: [BucketCredentials] = [],
        defaultCredentialsSecret: String = Self.standardCredentialsSecret
    ) {
        self.allowed = allowed
        self.credentials = credentials
        self.defaultCredentialsSecret = defaultCredentialsSecret
    }

    /// Checks both buckets; returns the Secret of the pods.
    func credentialsSecret(input: String, output: String) throws(RequestRejection) -> String {
        for (field, bucket) in [("inputBucket", input), ("outputBucket", output)] {
            try Self.checkName(bucket, field: field)
            guard allowed.isEmpty || allowed.contains(where: { $0.matches(bucket) }) else {
                throw RequestRejection(field: field, reason: "\(RequestRejection.quoted(bucket)) is not a bucket this worker may use")
            }
        }
        let inputSecret = secret(of: input)
        guard inputSecret == secret(of: output) else {
            throw RequestRejection(
                field: "outputBucket", reason: "belongs to other S3 credentials than inputBucket; a job's buckets must share theirs")
        }
        return inputSecret
    }

    private func secret(of bucket: String) -> String {
        credentials.first { $0.pattern.matches(bucket) }?.secret ?? defaultCredentialsSecret
    }

    /// S3's naming rules: 3-63 lower-case letters, digits, dots and hyphens, starting and ending
    /// with a letter or digit.
    private static func checkName(_ name: String, field: String) throws(RequestRejection) {
        let allowed = name.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "." || $0 == "-"
        }
        let edges = [name.first, name.last].allSatisfy { $0 != "-" && $0 != "." }
        guard (3...63).contains(name.count), allowed, edges else {
            throw RequestRejection(
                field: field,
                reason: "\(RequestRejection.quoted(name)) is not a valid bucket name (3-63 lower-case letters, digits, dots, hyphens)")
        }
    }
}

/// Pods of buckets matching `pattern` get the keys of the Secret `secret`.
public struct BucketCredentials: Sendable, Equatable {
    public var pattern: BucketPattern
    public var secret: String

    public init(pattern: BucketPattern, secret: String) {
        self.pattern = pattern
        self.secret = secret
    }
}

/// A bucket name, or a pattern in which `*` stands for any run of characters and `?` for one.
public struct BucketPattern: Sendable, Equatable, CustomStringConvertible {
    public let pattern: String

    public init(_ pattern: String) {
        self.pattern = pattern
    }

    public var description: String { pattern }

    /// Glob matching, linear in practice: a `*` is retried from one position further each time
    /// the rest fails.
    public func matches(_ name: String) -> Bool {
        let pattern = Array(pattern.utf8)
        let name = Array(name.utf8)
        var p = 0
        var n = 0
        var star: (p: Int, n: Int)?
        while n < name.count {
            if p < pattern.count, pattern[p] == UInt8(ascii: "*") {
                star = (p, n)
                p += 1
            } else if p < pattern.count, pattern[p] == UInt8(ascii: "?") || pattern[p] == name[n] {
                p += 1
                n += 1
            } else if let retry = star {
                star = (retry.p, retry.n + 1)
                p = retry.p + 1
                n = retry.n + 1
            } else {
                return false
            }
        }
        return pattern[p...].allSatisfy { $0 == UInt8(ascii: "*") }
    }
}
