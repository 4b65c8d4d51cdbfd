import HTTPTransport

/// A failed S3 operation: the store's own error (code, message, request id, HTTP status) or a
/// transport failure. Never carries credentials.
public struct S3Error: Error, CustomStringConvertible, Sendable {
    /// S3's error code (`NoSuchKey`, `SignatureDoesNotMatch`, `SlowDown`, ...), or `Transport`.
    public var code: String
    public var message: String
    public var requestID: String?
    /// The HTTP status, 0 when no response arrived.
    public var status: Int
    /// What was attempted, e.g. `PUT out-bucket/logs/job/pod.log`.
    public var operation: String

    public init(code: String, message: String, requestID: String? = nil, status: Int, operation: String) {
        self.code = code
        self.message = message
        self.requestID = requestID
        self.status = status
        self.operation = operation
    }

    /// 5xx, throttling, timeouts and lost connections may pass on retry; other 4xx will not.
    public var isRetryable: Bool {
        if code == "Transport" { return true }
        return status >= 500 || code == "SlowDown" || code == "RequestTimeout" || status == 429
    }

    public var description: String {
        var text = "S3 \(operation) failed: \(code) (HTTP \(status)): \(message)"
        if let requestID { text += " [request id \(requestID)]" }
        return text
    }

    static func transport(_ error: HTTPError, operation: String) -> S3Error {
        S3Error(code: error.isRetryable ? "Transport" : "TransportFatal", message: error.description, status: 0, operation: operation)
    }

    /// Decodes an S3 XML error body; an empty one (HEAD responses) gets a code from the status.
    static func from(status: Int, body: [UInt8], operation: String) -> S3Error {
        let xml = XMLFields(body)
        let fallback = status == 404 ? "NotFound" : status == 403 ? "AccessDenied" : "HTTP\(status)"
        return S3Error(
            code: xml.first("Code") ?? fallback,
            message: xml.first("Message") ?? "no error message",
            requestID: xml.first("RequestId"),
            status: status,
            operation: operation
        )
    }
}
