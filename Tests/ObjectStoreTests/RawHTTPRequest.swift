import Foundation
import HTTPTransport

@testable import ObjectStore

/// A request as the AWS SigV4 test suite writes it (`.req`, aws-c-auth's `*-signed-request.txt`):
/// a request line, `Name:value` header lines, a blank line, the body.
struct RawHTTPRequest {
    var method: String
    /// The path as the file writes it, unencoded (`/example space/`, `/ሴ`).
    var rawPath: String
    /// Query parameters, percent-decoded, in file order.
    var query: [(name: String, value: String)]
    /// Headers in file order; a repeated name appears once per occurrence.
    var headers: [(name: String, value: String)]
    var body: [UInt8]

    init(parsing text: String) throws {
        let text = text.replacingOccurrences(of: "\r\n", with: "\n")
        let (head, body) =
            text.range(of: "\n\n").map { (String(text[..<$0.lowerBound]), String(text[$0.upperBound...])) } ?? (text, "")
        var lines = head.split(separator: "\n", omittingEmptySubsequences: false)[...]
        guard let requestLine = lines.popFirst() else { throw ParseError("no request line") }

        // The target may hold spaces (`GET /example space/ HTTP/1.1`): the method ends at the
        // first space, the protocol starts after the last.
        guard let methodEnd = requestLine.firstIndex(of: " "), let versionStart = requestLine.lastIndex(of: " "),
            methodEnd < versionStart
        else { throw ParseError("bad request line: \(requestLine)") }
        method = String(requestLine[..<methodEnd])
        let target = requestLine[requestLine.index(after: methodEnd)..<versionStart]
        let pathEnd = target.firstIndex(of: "?") ?? target.endIndex
        rawPath = String(target[..<pathEnd])
        query = pathEnd < target.endIndex ? Self.decodedQuery(target[target.index(after: pathEnd)...]) : []

        headers = []
        for line in lines {
            // A folded line continues the previous header; the suite canonicalises each fold as a
            // further value of that header (`my-header1:value1,value2,value3`).
            if line.first == " " || line.first == "\t" {
                guard let previous = headers.last else { throw ParseError("folded line before any header") }
                headers.append((previous.name, String(line)))
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { throw ParseError("bad header line: \(line)") }
            headers.append((String(line[..<colon]), String(line[line.index(after: colon)...])))
        }
        self.body = Array(body.utf8)
    }

    /// `a=1&b=%20&c` as decoded pairs: `("a", "1")`, `("b", " ")`, `("c", "")`.
    static func decodedQuery(_ text: Substring) -> [(name: String, value: String)] {
        text.split(separator: "&").map { pair in
            let equals = pair.firstIndex(of: "=")
            let name = equals.map { pair[..<$0] } ?? pair
            let value = equals.map { pair[pair.index(after: $0)...] } ?? ""
            return (percentDecoded(String(name)), percentDecoded(String(value)))
        }
    }

    /// The path as an S3 client sends it: encoded once, `/` kept. S3 signs exactly this.
    var wirePath: String { PercentEncoding.encode(rawPath, keepingSlash: true) }

    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// The request to sign: the wire path, the decoded query, the given headers, the body's hash.
    func signerRequest(headers: [(name: String, value: String)]? = nil, query: [(name: String, value: String)]? = nil)
        -> SigV4Signer.Request
    {
        SigV4Signer.Request(
            method: method, path: wirePath, query: query ?? self.query, headers: headers ?? self.headers,
            payloadHash: Digest.hex(Digest.sha256(body)))
    }

    struct ParseError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}

/// `text` with its `%XX` sequences decoded; other bytes pass through unchanged.
func percentDecoded(_ text: String) -> String {
    var bytes: [UInt8] = []
    var rest = Array(text.utf8)[...]
    while let byte = rest.popFirst() {
        if byte == UInt8(ascii: "%"), rest.count >= 2, let value = UInt8(String(decoding: rest.prefix(2), as: UTF8.self), radix: 16) {
            bytes.append(value)
            rest = rest.dropFirst(2)
        } else {
            bytes.append(byte)
        }
    }
    return String(decoding: bytes, as: UTF8.self)
}
