/// The names a request's `env` may set.
enum EnvironmentName {
    /// What the worker and Kubernetes set in every job's container: a request that replaced them
    /// could point the job at other buckets, credentials or tasks.
    static let reserved: Set<String> = [
        "INPUT_BUCKET", "OUTPUT_BUCKET", "MINIO_SERVICE_HOST", "MINIO_SERVICE_PORT", "FILE_PREFIX", "TASK_ARGS_FILE",
        "JOB_COMPLETION_INDEX",
    ]
    /// The S3 SDKs read every `AWS_*` variable (endpoint, keys, profile, config file).
    static let reservedPrefixes = ["AWS_"]
    /// Keeps the names, and the fields that rejections name, short.
    static let maxLength = 256

    static func check(_ name: String) throws(RequestRejection) {
        guard name.utf8.count <= maxLength, isIdentifier(name) else {
            throw RequestRejection(
                field: "env",
                reason: "\(RequestRejection.quoted(name)) is not a valid variable name (up to \(maxLength) letters, digits and '_', "
                    + "not starting with a digit)")
        }
        guard !reserved.contains(name), !reservedPrefixes.contains(where: name.hasPrefix) else {
            throw RequestRejection(
                field: RequestRejection.field("env", name), reason: "\(name) is set by the worker and cannot be set by a request")
        }
    }

    /// A C identifier: `[A-Za-z_][A-Za-z0-9_]*`, what every shell can export.
    private static func isIdentifier(_ name: String) -> Bool {
        let letter = { (byte: UInt8) in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || byte == UInt8(ascii: "_")
        }
        guard let first = name.utf8.first, letter(first) else { return false }
        return name.utf8.allSatisfy { letter($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }
}
