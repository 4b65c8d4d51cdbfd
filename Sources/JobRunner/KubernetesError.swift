import HTTPTransport

/// A failed API call, decoded from the server's `Status` object where there is one.
public struct KubernetesError: Error, CustomStringConvertible, Sendable {
    /// HTTP status; 0 when the server was not reached.
    public var status: Int
    /// The `Status` reason: `AlreadyExists`, `Conflict`, `NotFound`, `Invalid`, `Expired`, ...
    public var reason: String
    public var message: String
    /// `details.causes[]` of a 422, as `field: message`.
    public var causes: [String]
    /// What was attempted, e.g. `POST jobs`.
    public var operation: String

    public init(status: Int, reason: String, message: String, causes: [String] = [], operation: String) {
        self.status = status
        self.reason = reason
        self.message = message
        self.causes = causes
        self.operation = operation
    }

    /// Connection failures, 5xx and 429 may pass on retry; other 4xx will not.
    public var isRetryable: Bool {
        status == 0 || status == 429 || status >= 500
    }

    public var description: String {
        var text = "Kubernetes \(operation) failed: \(reason) (HTTP \(status)): \(message)"
        if !causes.isEmpty { text += " [" + causes.joined(separator: "; ") + "]" }
        return text
    }

    static func configuration(_ message: String) -> KubernetesError {
        KubernetesError(status: 0, reason: "Configuration", message: message, operation: "configure")
    }

    /// An ERROR event in a watch of `kind`.
    static func watch<Object: KubernetesObject>(_ kind: Object.Type, code: Int?, reason: String?, message: String?) -> KubernetesError {
        KubernetesError(status: code ?? 500, reason: reason ?? "WatchError", message: message ?? "", operation: "watch \(Object.resource)")
    }

    static func transport(_ error: HTTPError, operation: String) -> KubernetesError {
        KubernetesError(status: 0, reason: "Unreachable", message: error.description, operation: operation)
    }
}
