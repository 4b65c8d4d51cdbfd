import Foundation

/// Reads the flat fields of S3's small XML documents (errors, upload ids, listings) without a
/// full XML parser: S3 responses use no attributes on these elements and no CDATA.
struct XMLFields {
    private let text: String

    init(_ bytes: [UInt8]) {
        text = String(decoding: bytes, as: UTF8.self)
    }

    init(_ text: Substring) {
        self.text = String(text)
    }

    /// The unescaped text of the first `<name>` element.
    func first(_ name: String) -> String? {
        all(name).first
    }

    /// The unescaped texts of every `<name>` element, in order.
    func all(_ name: String) -> [String] {
        elements(name).map { Self.unescape(String($0)) }
    }

    /// The raw inner XML of every `<name>` element, for nested records.
    func elements(_ name: String) -> [Substring] {
        var results: [Substring] = []
        var rest = text[...]
        let open = "<\(name)>"
        let close = "</\(name)>"
        while let start = rest.range(of: open), let end = rest[start.upperBound...].range(of: close) {
            results.append(rest[start.upperBound..<end.lowerBound])
            rest = rest[end.upperBound...]
        }
        return results
    }

    static func unescape(_ text: String) -> String {
        guard text.contains("&") else { return text }
        return text.replacingOccurrences(of: "&lt;", with: "<")
            .replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"")
            .replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&#34;", with: "\"")
            .replacingOccurrences(of: "&amp;", with: "&")
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;")
            .replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "\"", with: "&quot;")
    }
}
