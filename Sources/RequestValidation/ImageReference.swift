/// A container image reference read with the grammar of distribution/reference (what Docker,
/// containerd and Kubernetes' kubelet accept): `[host[:port]/]path[:tag][@algorithm:hex]`.
public struct ImageReference: Sendable, Equatable {
    /// Registry host with its optional port, as written; nil for Docker Hub's short names.
    public var domain: String?
    /// Path components (lower-case alphanumerics and separators) joined by `/`.
    public var path: String
    public var tag: String?
    /// `sha256:<64 hex>`, `sha384:<96 hex>` or `sha512:<128 hex>`.
    public var digest: String?

    /// distribution/reference's limits.
    static let maxNameLength = 255
    static let maxTagLength = 128
    static let digestLengths = ["sha256": 64, "sha384": 96, "sha512": 128]

    /// `host/path` as written, or the path alone.
    public var name: String { domain.map { "\($0)/\(path)" } ?? path }

    /// The name with Docker Hub's implicit parts spelt out: `busybox` is
    /// `docker.io/library/busybox`.
    public var fullName: String {
        if domain != nil { return name }
        return "docker.io/" + (path.contains("/") ? path : "library/\(path)")
    }

    public init(_ text: String) throws(RequestRejection) {
        func invalid(_ reason: String) -> RequestRejection {
            RequestRejection(field: "image", reason: "\(RequestRejection.quoted(text)) is not a valid image reference: \(reason)")
        }
        guard !text.isEmpty, text.utf8.allSatisfy({ (0x21...0x7e).contains($0) }) else {
            throw invalid("it may hold only printable ASCII, without spaces")
        }
        var rest = Substring(text)
        if let at = rest.firstIndex(of: "@") {
            let digest = rest[rest.index(after: at)...]
            guard Self.isDigest(digest) else {
                throw invalid("the digest must be sha256:<64 hex>, sha384:<96 hex> or sha512:<128 hex>, in lower case")
            }
            self.digest = String(digest)
            rest = rest[..<at]
        }
        let lastComponentStart = rest.lastIndex(of: "/").map { rest.index(after: $0) } ?? rest.startIndex
        if let colon = rest[lastComponentStart...].lastIndex(of: ":") {
            let tag = rest[rest.index(after: colon)...]
            guard Self.isTag(tag) else {
                throw invalid("a tag is 1 to \(Self.maxTagLength) letters, digits, '_', '.' or '-', not starting with '.' or '-'")
            }
            self.tag = String(tag)
            rest = rest[..<colon]
        }
        guard rest.utf8.count <= Self.maxNameLength else {
            throw invalid("its name is \(rest.utf8.count) characters, more than \(Self.maxNameLength)")
        }
        var components = rest.split(separator: "/", omittingEmptySubsequences: false)
        if components.count > 1, Self.looksLikeDomain(components[0]) {
            guard Self.isDomain(components[0]) else {
                throw invalid("the registry must be a host name, IPv4 or [IPv6] address, with an optional :port")
            }
            domain = String(components.removeFirst())
        }
        guard components.allSatisfy(Self.isPathComponent) else {
            throw invalid("each path component is lower-case letters and digits, separated by '.', '_', '__' or dashes")
        }
        path = components.joined(separator: "/")
    }

    // MARK: - Grammar

    /// Docker's rule for telling `host/path` from `user/path`.
    private static func looksLikeDomain(_ component: Substring) -> Bool {
        component.contains(".") || component.contains(":") || component == "localhost" || component.contains(where: \.isUppercase)
    }

    /// `host[:port]`, the host a DNS name or a bracketed IPv6 address.
    private static func isDomain(_ text: Substring) -> Bool {
        var host = text
        if let colon = text.lastIndex(of: ":"), !text[colon...].contains("]") {
            let port = text[text.index(after: colon)...]
            guard !port.isEmpty, port.utf8.allSatisfy(isDigit) else { return false }
            host = text[..<colon]
        }
        if host.hasPrefix("[") {
            let inner = host.dropFirst().dropLast()
            return host.hasSuffix("]") && !inner.isEmpty && inner.utf8.allSatisfy { isHexDigit($0) || $0 == UInt8(ascii: ":") }
        }
        return host.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            guard let first = label.utf8.first, let last = label.utf8.last else { return false }
            return isAlphanumeric(first) && isAlphanumeric(last) && label.utf8.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "-") }
        }
    }

    /// Lower-case alphanumerics separated by one `.`, one `_`, `__` or a run of `-`.
    private static func isPathComponent(_ text: Substring) -> Bool {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, let last = bytes.last, isLowerAlphanumeric(first), isLowerAlphanumeric(last) else {
            return false
        }
        var index = 0
        while index < bytes.count {
            guard !isLowerAlphanumeric(bytes[index]) else {
                index += 1
                continue
            }
            let start = index
            while !isLowerAlphanumeric(bytes[index]) { index += 1 }
            let separator = bytes[start..<index]
            let allowed =
                separator.elementsEqual(".".utf8) || separator.elementsEqual("_".utf8) || separator.elementsEqual("__".utf8)
                || separator.allSatisfy { $0 == UInt8(ascii: "-") }
            guard allowed else { return false }
        }
        return true
    }

    /// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
    private static func isTag(_ text: Substring) -> Bool {
        guard let first = text.utf8.first, text.utf8.count <= maxTagLength else { return false }
        let isWord = { (byte: UInt8) in isAlphanumeric(byte) || byte == UInt8(ascii: "_") }
        return isWord(first) && text.utf8.allSatisfy { isWord($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
    }

    /// An algorithm the registries verify, and its hex digest in lower case.
    private static func isDigest(_ text: Substring) -> Bool {
        guard let colon = text.firstIndex(of: ":"), let length = digestLengths[String(text[..<colon])] else { return false }
        let hex = text[text.index(after: colon)...]
        return hex.utf8.count == length && hex.utf8.allSatisfy { isDigit($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
    }

    private static func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
    private static func isHexDigit(_ byte: UInt8) -> Bool {
        isDigit(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte)
    }
    private static func isLowerAlphanumeric(_ byte: UInt8) -> Bool {
        isDigit(byte) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
    }
    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        isLowerAlphanumeric(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }
}
