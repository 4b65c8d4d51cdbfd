/// An `amqp://` or `amqps://` URL as RabbitMQ documents it:
/// `amqp[s]://user:password@host:port/vhost`, each part percent-encoded, vhost `/` as `%2F`.
public struct AMQPURL: Sendable, Equatable, CustomStringConvertible {
    public var useTLS: Bool
    public var host: String
    public var port: Int
    public var user: String
    public var password: String
    public var virtualHost: String

    public init(parsing text: String) throws(AMQPError) {
        let scheme: Substring
        var rest: Substring
        if let separator = text.firstRange(of: "://") {
            scheme = text[..<separator.lowerBound]
            rest = text[separator.upperBound...]
        } else {
            throw AMQPError(.invalidURL, "'\(Self.redacting(text))' has no scheme: expected amqp://host or amqps://host")
        }
        switch scheme.lowercased() {
        case "amqp": useTLS = false
        case "amqps": useTLS = true
        default: throw AMQPError(.invalidURL, "unsupported scheme '\(scheme)': expected amqp or amqps")
        }
        if rest.contains("?") { rest = rest[..<rest.firstIndex(of: "?")!] }

        // The vhost is everything after the first slash; absent means the default vhost "/".
        var authority = rest
        virtualHost = "/"
        if let slash = rest.firstIndex(of: "/") {
            authority = rest[..<slash]
            let path = rest[rest.index(after: slash)...]
            if !path.isEmpty { virtualHost = try Self.decode(path, part: "vhost") }
        }

        user = "guest"
        password = "guest"
        var hostPort = authority
        if let at = authority.lastIndex(of: "@") {
            let credentials = authority[..<at]
            hostPort = authority[authority.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                user = try Self.decode(credentials[..<colon], part: "user")
                password = try Self.decode(credentials[credentials.index(after: colon)...], part: "password")
            } else {
                user = try Self.decode(credentials, part: "user")
            }
        }

        port = useTLS ? 5671 : 5672
        if hostPort.hasPrefix("[") {
            // IPv6 literal: [::1]:5672
            guard let close = hostPort.firstIndex(of: "]") else {
                throw AMQPError(.invalidURL, "unterminated IPv6 address in '\(Self.redacting(text))'")
            }
            host = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
            hostPort = hostPort[hostPort.index(after: close)...]
            if hostPort.hasPrefix(":") { port = try Self.port(hostPort.dropFirst(), in: text) }
        } else if let colon = hostPort.lastIndex(of: ":") {
            host = String(hostPort[..<colon])
            port = try Self.port(hostPort[hostPort.index(after: colon)...], in: text)
        } else {
            host = String(hostPort)
        }
        if host.isEmpty { host = "localhost" }
    }

    /// The URL with the password hidden, for logs and errors.
    public var description: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        let vhost = virtualHost == "/" ? "%2F" : virtualHost
        return "\(useTLS ? "amqps" : "amqp")://\(user):***@\(hostPart):\(port)/\(vhost)"
    }

    private static func port(_ text: Substring, in url: String) throws(AMQPError) -> Int {
        guard let port = Int(text), (1...65535).contains(port) else {
            throw AMQPError(.invalidURL, "invalid port '\(text)' in '\(redacting(url))'")
        }
        return port
    }

    private static func decode(_ text: Substring, part: String) throws(AMQPError) -> String {
        var bytes: [UInt8] = []
        var index = text.utf8.startIndex
        let utf8 = text.utf8
        while index != utf8.endIndex {
            let byte = utf8[index]
            if byte == UInt8(ascii: "%") {
                let first = utf8.index(after: index)
                guard first != utf8.endIndex, utf8.index(after: first) != utf8.endIndex,
                    let value = UInt8(String(decoding: utf8[first...utf8.index(after: first)], as: UTF8.self), radix: 16)
                else { throw AMQPError(.invalidURL, "bad percent-encoding in the \(part)") }
                bytes.append(value)
                index = utf8.index(first, offsetBy: 2)
            } else {
                bytes.append(byte)
                index = utf8.index(after: index)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Hides a password in a URL that failed to parse, so that errors never show it.
    static func redacting(_ text: String) -> String {
        guard let scheme = text.firstRange(of: "://"), let at = text.lastIndex(of: "@"), at > scheme.upperBound else {
            return text
        }
        let credentials = text[scheme.upperBound..<at]
        guard let colon = credentials.firstIndex(of: ":") else { return text }
        return String(text[..<colon]) + ":***" + String(text[at...])
    }
}
