/// How deeply arrays and objects nest in a JSON text, found by one pass over its bytes without
/// parsing it: a recursive parser given `[[[[...` a million deep would exhaust the stack first.
enum JSONNesting {
    /// Whether any point of `bytes` lies inside more than `limit` arrays and objects. Brackets
    /// inside strings do not count; malformed text is left for the parser to refuse.
    static func exceeds(_ limit: Int, in bytes: [UInt8]) -> Bool {
        var depth = 0
        var inString = false
        var escaped = false
        for byte in bytes {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                if depth > limit { return true }
            case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
            default: break
            }
        }
        return false
    }
}
