/// The object key of an archived pod log: a template in which `{job}` is the Kubernetes Job's
/// name, `{pod}` the pod's, `{jobName}` the name the request gave and `{prefix}` its prefix.
public struct LogKeyTemplate: Sendable, Equatable {
    public var template: String

    public static let standard = LogKeyTemplate("logs/{job}/{pod}.log")
    /// S3's limit on a key's length, in bytes.
    static let maxKeyBytes = 1024

    public init(_ template: String) {
        self.template = template
    }

    /// The key, in one pass over the template: a value that holds a placeholder's text keeps it.
    public func render(job: String, pod: String, requestedName: String, prefix: String?) -> String {
        let values = [("{job}", job), ("{pod}", pod), ("{jobName}", requestedName), ("{prefix}", prefix ?? "")]
        var key = ""
        var rest = template[...]
        while let brace = rest.firstIndex(of: "{") {
            key += rest[..<brace]
            rest = rest[brace...]
            if let (placeholder, value) = values.first(where: { rest.hasPrefix($0.0) }) {
                key += value
                rest = rest.dropFirst(placeholder.count)
            } else {
                key += "{"
                rest = rest.dropFirst()
            }
        }
        return key + rest
    }

    /// Why `key` cannot be stored as it is, or nil. A `.` or `..` segment would be resolved by
    /// an HTTP client or server after SigV4 signed the raw path, and the upload refused.
    public static func problem(with key: String) -> String? {
        if key.isEmpty { return "is empty" }
        if key.utf8.count > maxKeyBytes { return "is longer than \(maxKeyBytes) bytes" }
        if key.hasPrefix("/") { return "starts with '/'" }
        if key.split(separator: "/", omittingEmptySubsequences: false).contains(where: { $0 == "." || $0 == ".." }) {
            return "has a '.' or '..' segment"
        }
        if key.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) { return "has a control character" }
        return nil
    }

    /// A key for these request fields would be valid, whatever the Job and pod names (DNS
    /// labels) turn out to be. The rejection names the field that makes it invalid.
    func check(requestedName: String, prefix: String?) throws(RequestRejection) {
        let placeholder = "job-0"
        for (field, name, prefix) in [("prefix", placeholder, prefix), ("jobName", requestedName, prefix)] {
            let key = render(job: placeholder, pod: placeholder, requestedName: name, prefix: prefix)
            if let problem = Self.problem(with: key) {
                throw RequestRejection(field: field, reason: "makes the log key \(RequestRejection.quoted(key)) invalid: it \(problem)")
            }
        }
    }
}
