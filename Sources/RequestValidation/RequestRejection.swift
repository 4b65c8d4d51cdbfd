/// Why a request was refused: the field and the reason, as the rejection reply states them.
/// The only error of this module: every check names the field it failed on.
public struct RequestRejection: Error, Equatable, Sendable, CustomStringConvertible {
    public var field: String
    public var reason: String

    public init(field: String, reason: String) {
        self.field = field
        self.reason = reason
    }

    public var description: String { "\(field): \(reason)" }

    /// The field `parent.key`, or `parent` alone when the producer's key is too long or not
    /// printable ASCII to name a field with.
    public static func field(_ parent: String, _ key: String) -> String {
        key.utf8.count <= 64 && !key.isEmpty && key.utf8.allSatisfy({ (0x21...0x7e).contains($0) }) ? "\(parent).\(key)" : parent
    }

    /// A producer's text as a rejection quotes it: at most 64 characters, control characters
    /// escaped, so that a reply or a log line never carries a megabyte or a forged line.
    public static func quoted(_ text: String) -> String {
        let limit = 64
        var result = ""
        for scalar in text.unicodeScalars.prefix(limit) {
            result += scalar.properties.generalCategory == .control ? scalar.escaped(asASCII: true) : String(scalar)
        }
        return "'" + result + (text.unicodeScalars.count > limit ? "...'" : "'")
    }
}
