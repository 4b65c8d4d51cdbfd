import Foundation
import HTTPTransport
import Synchronization

/// Credentials for SigV4. Their description never shows the secret.
public struct S3Credentials: Sendable, CustomStringConvertible {
    public var accessKeyID: String
    public var secretAccessKey: String
    /// Set for temporary credentials (STS); sent as `x-amz-security-token`.
    public var sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    public var description: String { "S3Credentials(accessKeyID: \(accessKeyID), secret: <redacted>)" }
}

/// AWS Signature Version 4 header signing, with S3's path rule: the path is signed exactly as
/// sent, neither normalised nor encoded a second time.
public struct SigV4Signer: Sendable {
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    public var credentials: S3Credentials
    public var region: String
    public var service: String
    /// The last day's signing key: it changes once a day, and deriving it takes four HMACs.
    private let signingKeys = SigningKeyCache()

    public init(credentials: S3Credentials, region: String, service: String = "s3") {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// The parts of a request that the signature covers.
    public struct Request: Sendable {
        public var method: String
        /// The path as sent on the wire (already percent-encoded).
        public var path: String
        /// Query parameters, decoded; the signer encodes them.
        public var query: [(name: String, value: String)]
        /// Every header to sign, `host` included.
        public var headers: [(name: String, value: String)]
        /// Hex SHA-256 of the body, or `UNSIGNED-PAYLOAD`.
        public var payloadHash: String

        public init(
            method: String,
            path: String,
            query: [(name: String, value: String)] = [],
            headers: [(name: String, value: String)],
            payloadHash: String
        ) {
            self.method = method
            self.path = path
            self.query = query
            self.headers = headers
            self.payloadHash = payloadHash
        }
    }

    /// The headers to add to `request` so that it is signed at `date`: `x-amz-date`,
    /// `x-amz-content-sha256`, the session token if any, and `Authorization`.
    public func signingHeaders(for request: Request, date: Date) -> [(name: String, value: String)] {
        let amzDate = Self.amzDate(date)
        var added: [(name: String, value: String)] = [
            ("x-amz-date", amzDate), ("x-amz-content-sha256", request.payloadHash),
        ]
        if let token = credentials.sessionToken { added.append(("x-amz-security-token", token)) }
        var signed = request
        signed.headers += added
        added.append(("Authorization", authorization(for: signed, amzDate: amzDate)))
        return added
    }

    // MARK: - The steps, exposed for test vectors

    /// The `Authorization` header value for a request whose headers already hold `x-amz-date`.
    public func authorization(for request: Request, amzDate: String) -> String {
        let headers = canonicalHeaders(request.headers)
        let canonical = canonicalRequest(request, headers: headers)
        let signature = self.signature(stringToSign: stringToSign(canonicalRequest: canonical, amzDate: amzDate), amzDate: amzDate)
        return "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope(amzDate)), "
            + "SignedHeaders=\(Self.names(headers)), Signature=\(signature)"
    }

    public func canonicalRequest(_ request: Request) -> String {
        canonicalRequest(request, headers: canonicalHeaders(request.headers))
    }

    private func canonicalRequest(_ request: Request, headers: [(name: String, value: String)]) -> String {
        [
            request.method,
            request.path.isEmpty ? "/" : request.path,
            canonicalQuery(request.query),
            headers.map { "\($0.name):\($0.value)\n" }.joined(),
            Self.names(headers),
            request.payloadHash,
        ].joined(separator: "\n")
    }

    public func stringToSign(canonicalRequest: String, amzDate: String) -> String {
        let hash = Digest.hex(Digest.sha256(Array(canonicalRequest.utf8)))
        return "AWS4-HMAC-SHA256\n\(amzDate)\n\(scope(amzDate))\n\(hash)"
    }

    public func signature(stringToSign: String, amzDate: String) -> String {
        Digest.hex(Digest.hmacSHA256(key: signingKey(day: String(amzDate.prefix(8))), message: Array(stringToSign.utf8)))
    }

    private func signingKey(day: String) -> [UInt8] {
        let scope = SigningKeyCache.Scope(day: day, secret: credentials.secretAccessKey, region: region, service: service)
        if let key = signingKeys.key(for: scope) { return key }
        var key = Array("AWS4\(credentials.secretAccessKey)".utf8)
        for part in [day, region, service, "aws4_request"] {
            key = Digest.hmacSHA256(key: key, message: Array(part.utf8))
        }
        signingKeys.store(key, for: scope)
        return key
    }

    // MARK: - Canonical forms

    func scope(_ amzDate: String) -> String {
        "\(amzDate.prefix(8))/\(region)/\(service)/aws4_request"
    }

    private func canonicalQuery(_ query: [(name: String, value: String)]) -> String {
        let encoded: [(name: String, value: String)] = query.map {
            (PercentEncoding.encode($0.name), PercentEncoding.encode($0.value))
        }
        let sorted = encoded.sorted { a, b in a.name == b.name ? a.value < b.value : a.name < b.name }
        return sorted.map { "\($0.name)=\($0.value)" }.joined(separator: "&")
    }

    /// Lower-cased names, sorted; values trimmed with inner runs of spaces collapsed; repeated
    /// headers joined with commas in their original order.
    private func canonicalHeaders(_ headers: [(name: String, value: String)]) -> [(name: String, value: String)] {
        var merged: [String: [String]] = [:]
        for header in headers {
            let value = header.value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" })
                .joined(separator: " ")
            merged[header.name.lowercased(), default: []].append(value)
        }
        return merged.keys.sorted().map { ($0, merged[$0]!.joined(separator: ",")) }
    }

    func signedHeaderNames(_ headers: [(name: String, value: String)]) -> String {
        Self.names(canonicalHeaders(headers))
    }

    /// The signed-headers list of headers already in canonical form.
    private static func names(_ canonical: [(name: String, value: String)]) -> String {
        canonical.map(\.name).joined(separator: ";")
    }

    /// `20130524T000000Z`: the date in UTC, to the second.
    static func amzDate(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var text: [UInt8] = []
        text.reserveCapacity(16)
        func append(_ value: Int32, digits: Int) {
            var divisor: Int32 = 1
            for _ in 1..<digits { divisor *= 10 }
            while divisor > 0 {
                text.append(UInt8(ascii: "0") + UInt8(value / divisor % 10))
                divisor /= 10
            }
        }
        append(parts.tm_year + 1900, digits: 4)
        append(parts.tm_mon + 1, digits: 2)
        append(parts.tm_mday, digits: 2)
        text.append(UInt8(ascii: "T"))
        append(parts.tm_hour, digits: 2)
        append(parts.tm_min, digits: 2)
        append(parts.tm_sec, digits: 2)
        text.append(UInt8(ascii: "Z"))
        return String(decoding: text, as: UTF8.self)
    }
}

/// The signing key last derived, with what it was derived from.
private final class SigningKeyCache: Sendable {
    struct Scope: Equatable {
        var day: String
        var secret: String
        var region: String
        var service: String
    }

    private let last = Mutex<(scope: Scope, key: [UInt8])?>(nil)

    func key(for scope: Scope) -> [UInt8]? {
        last.withLock { $0?.scope == scope ? $0?.key : nil }
    }

    func store(_ key: [UInt8], for scope: Scope) {
        last.withLock { $0 = (scope, key) }
    }
}
