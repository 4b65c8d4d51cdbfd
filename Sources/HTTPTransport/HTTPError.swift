/// A failure to complete an HTTP exchange at the transport level (no HTTP status to judge by).
public struct HTTPError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable {
        case connectionFailed
        case timedOut
        case tls
        case cancelled
        case other
    }

    public var kind: Kind
    /// libcurl's `CURLcode`.
    public var curlCode: Int
    public var message: String
    /// The request line without query string: queries can carry upload ids, never secrets, but
    /// keeping errors short keeps them readable.
    public var target: String

    public init(kind: Kind, curlCode: Int, message: String, target: String) {
        self.kind = kind
        self.curlCode = curlCode
        self.message = message
        self.target = target
    }

    /// Transport failures other than TLS verification and cancellation may pass when retried.
    public var isRetryable: Bool {
        switch kind {
        case .connectionFailed, .timedOut, .other: true
        case .tls, .cancelled: false
        }
    }

    public var description: String { "\(target): \(message) (curl error \(curlCode))" }
}
