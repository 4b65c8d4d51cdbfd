/// A member name as `JSONScanner` found it: its raw bytes, matched against the names a type
/// reads (`case "name":`) without making a String of each.
public struct JSONKey {
    let bytes: UnsafeBufferPointer<UInt8>
    /// Whether the name holds escapes; it is then compared once unescaped (rare: the API
    /// server writes its names plainly).
    let escaped: Bool

    func string() throws -> String {
        escaped ? try Self.unescape(bytes) : String(decoding: bytes, as: UTF8.self)
    }

    static func ~= (name: StaticString, key: JSONKey) -> Bool {
        guard !key.escaped else { return (try? key.string()) == name.description }
        return name.withUTF8Buffer { $0.elementsEqual(key.bytes) }
    }

    /// The text of a string's contents holding escapes (`\n`, `\"`, `\u00e9`, surrogate pairs).
    static func unescape(_ raw: UnsafeBufferPointer<UInt8>) throws -> String {
        var text: [UInt8] = []
        text.reserveCapacity(raw.count)
        var index = 0
        func invalid() -> JSONScanError { JSONScanError(expected: "a valid escape in a string", offset: index) }
        func hex4() throws -> UInt32 {
            guard index + 4 < raw.count, let value = UInt32(String(decoding: raw[(index + 1)...(index + 4)], as: UTF8.self), radix: 16)
            else { throw invalid() }
            index += 4
            return value
        }
        while index < raw.count {
            let byte = raw[index]
            guard byte == UInt8(ascii: "\\") else {
                text.append(byte)
                index += 1
                continue
            }
            index += 1
            guard index < raw.count else { throw invalid() }
            switch raw[index] {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): text.append(raw[index])
            case UInt8(ascii: "b"): text.append(0x08)
            case UInt8(ascii: "f"): text.append(0x0C)
            case UInt8(ascii: "n"): text.append(0x0A)
            case UInt8(ascii: "r"): text.append(0x0D)
            case UInt8(ascii: "t"): text.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800..<0xDC00).contains(scalar) {
                    // A high surrogate: its low half must follow as a second escape.
                    guard index + 2 < raw.count, raw[index + 1] == UInt8(ascii: "\\"), raw[index + 2] == UInt8(ascii: "u") else {
                        throw invalid()
                    }
                    index += 2
                    let low = try hex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw invalid() }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let unicode = Unicode.Scalar(scalar) else { throw invalid() }
                text.append(contentsOf: String(unicode).utf8)
            default: throw invalid()
            }
            index += 1
        }
        return String(decoding: text, as: UTF8.self)
    }
}
