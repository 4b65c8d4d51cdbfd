/// A failure of the AMQP client, with a message that names the cause and never a password.
public struct AMQPError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable {
        case invalidURL
        case connectionRefused
        case authenticationFailed
        case virtualHostNotFound
        case tls
        case protocolError
        /// The connection or channel was lost; reconnecting may help.
        case connectionLost
        /// A delivery tag of a connection that no longer exists: the broker redelivers it.
        case deliveryVoid
        /// The broker returned a mandatory message: no queue was bound to take it.
        case unroutable
        /// The broker refused a published message (`basic.nack`).
        case publishNacked
        case shutdown
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// Whether a retry (after reconnecting) may succeed.
    public var isRetryable: Bool {
        switch code {
        case .connectionLost, .connectionRefused, .deliveryVoid: true
        default: false
        }
    }

    public var description: String { "AMQP \(code.rawValue): \(message)" }
}
