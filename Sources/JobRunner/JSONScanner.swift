/// A JSON reader for the few fields the worker uses of each watch event: it turns only those
/// into Swift values and steps over everything else (a Pod's spec, its conditions) without
/// building anything. What it skips is checked for balanced brackets and strings only, not
/// validated: it reads the API server's output, not arbitrary input. Its API is internal to
/// JobRunner; the type is public for `JSONScannable`.
public struct JSONScanner {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0

    private init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    /// Reads one JSON document, which must be all of `bytes` but for whitespace.
    static func scan<T>(_ bytes: [UInt8], _ read: (inout JSONScanner) throws -> T) throws -> T {
        try bytes.withUnsafeBufferPointer { buffer in
            var scanner = JSONScanner(buffer)
            let value = try read(&scanner)
            scanner.skipWhitespace()
            guard scanner.index == buffer.count else { throw scanner.error("text after the value") }
            return value
        }
    }

    // MARK: - Values

    /// Reads an object, calling `field` for each member; `field` must read or skip the value.
    mutating func object(_ field: (JSONKey, inout JSONScanner) throws -> Void) throws {
        try expect(UInt8(ascii: "{"))
        if try peek() == UInt8(ascii: "}") {
            index += 1
            return
        }
        repeat {
            guard try peek() == UInt8(ascii: "\"") else { throw error("a member name") }
            let (start, end, escaped) = try stringBounds()
            try expect(UInt8(ascii: ":"))
            let key = JSONKey(bytes: UnsafeBufferPointer(rebasing: bytes[start..<end]), escaped: escaped)
            try field(key, &self)
        } while try separator(closing: UInt8(ascii: "}"))
    }

    /// Reads an array, calling `element` for each element.
    mutating func array(_ element: (inout JSONScanner) throws -> Void) throws {
        try expect(UInt8(ascii: "["))
        if try peek() == UInt8(ascii: "]") {
            index += 1
            return
        }
        repeat { try element(&self) } while try separator(closing: UInt8(ascii: "]"))
    }

    /// Consumes a `null` if one comes next.
    mutating func null() throws -> Bool {
        guard try peek() == UInt8(ascii: "n") else { return false }
        try literal("null")
        return true
    }

    mutating func string() throws -> String? {
        if try null() { return nil }
        guard try peek() == UInt8(ascii: "\"") else { throw error("a string") }
        let (start, end, escaped) = try stringBounds()
        let raw = UnsafeBufferPointer(rebasing: bytes[start..<end])
        return escaped ? try JSONKey.unescape(raw) : String(decoding: raw, as: UTF8.self)
    }

    mutating func int() throws -> Int? {
        if try null() { return nil }
        let negative = try peek() == UInt8(ascii: "-")
        if negative { index += 1 }
        var value = 0
        let start = index
        while index < bytes.count, case let digit = bytes[index] &- UInt8(ascii: "0"), digit < 10 {
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = times10.addingReportingOverflow(Int(digit))
            guard !overflow1, !overflow2 else { throw error("an integer that fits") }
            value = next
            index += 1
        }
        guard index > start else { throw error("an integer") }
        if index < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[index]) {
            throw error("an integer")
        }
        return negative ? -value : value
    }

    /// Reads a value, or nil for `null`.
    mutating func value<T: JSONScannable>(_ type: T.Type = T.self) throws -> T? {
        try null() ? nil : T(scanning: &self)
    }

    /// Reads an array of values, or nil for `null`.
    mutating func values<T: JSONScannable>(_ type: T.Type = T.self) throws -> [T]? {
        if try null() { return nil }
        var values: [T] = []
        try array { values.append(try T(scanning: &$0)) }
        return values
    }

    mutating func strings() throws -> [String]? {
        if try null() { return nil }
        var strings: [String] = []
        try array { strings.append(try $0.required($0.string(), "a string")) }
        return strings
    }

    mutating func stringMap() throws -> [String: String]? {
        if try null() { return nil }
        var map: [String: String] = [:]
        try object { key, scanner in map[try key.string()] = try scanner.required(scanner.string(), "a string") }
        return map
    }

    /// `value`, or an error naming `what` was expected if it is nil (a `null`).
    func required<T>(_ value: T?, _ what: String) throws -> T {
        guard let value else { throw error(what) }
        return value
    }

    /// Steps over one value of any kind.
    mutating func skip() throws {
        switch try peek() {
        case UInt8(ascii: "\""): _ = try stringBounds()
        case UInt8(ascii: "{"), UInt8(ascii: "["): try skipContainer()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default:
            let start = index
            while index < bytes.count, Self.isNumberByte(bytes[index]) { index += 1 }
            guard index > start else { throw error("a value") }
        }
    }

    /// Where the next value starts, to come back to it (`rewind`) once it can be read.
    mutating func mark() -> Int {
        skipWhitespace()
        return index
    }

    mutating func rewind(to mark: Int) {
        index = mark
    }

    func error(_ expected: String) -> JSONScanError {
        JSONScanError(expected: expected, offset: index)
    }

    // MARK: - Tokens

    private static func isNumberByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "e"),
            UInt8(ascii: "E"):
            return true
        default: return false
        }
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"): index += 1
            default: return
            }
        }
    }

    /// The next byte that is not whitespace, not consumed.
    private mutating func peek() throws -> UInt8 {
        skipWhitespace()
        guard index < bytes.count else { throw error("more input") }
        return bytes[index]
    }

    private mutating func expect(_ byte: UInt8) throws {
        guard try peek() == byte else { throw error("'\(Character(Unicode.Scalar(byte)))'") }
        index += 1
    }

    /// After a member or element: true if another follows (a comma), false at `closing`.
    private mutating func separator(closing: UInt8) throws -> Bool {
        switch try peek() {
        case UInt8(ascii: ","):
            index += 1
            return true
        case closing:
            index += 1
            return false
        default: throw error("',' or '\(Character(Unicode.Scalar(closing)))'")
        }
    }

    private mutating func literal(_ word: StaticString) throws {
        let end = index + word.utf8CodeUnitCount
        let matches = word.withUTF8Buffer { end <= bytes.count && bytes[index..<end].elementsEqual($0) }
        guard matches else {
            throw error("\(word)")
        }
        index = end
    }

    /// Consumes a string at the cursor; returns the bounds of its contents, and whether they
    /// hold escapes. Strings are most of a watch event's bytes: they are stepped over eight
    /// bytes at a time up to the next byte that needs a look (a quote, a backslash or a
    /// control character).
    private mutating func stringBounds() throws -> (start: Int, end: Int, escaped: Bool) {
        let start = index + 1
        var at = start
        var escaped = false
        defer { index = at }
        let base = UnsafeRawPointer(bytes.baseAddress.unsafelyUnwrapped)
        while true {
            while at + 8 <= bytes.count {
                let marked = Self.markSpecialBytes(UInt64(littleEndian: base.loadUnaligned(fromByteOffset: at, as: UInt64.self)))
                if marked != 0 {
                    at += marked.trailingZeroBitCount / 8
                    break
                }
                at += 8
            }
            guard at < bytes.count else { throw JSONScanError(expected: "the end of a string", offset: bytes.count) }
            let byte = bytes[unchecked: at]
            if byte == UInt8(ascii: "\"") {
                at += 1
                return (start, at - 1, escaped)
            }
            if byte == UInt8(ascii: "\\") {
                escaped = true
                at += 2
            } else if byte < 0x20 {
                throw JSONScanError(expected: "no control character in a string", offset: at)
            } else {
                at += 1
            }
        }
    }

    /// The high bit of each byte of `word` that is a quote, a backslash or below 0x20; the
    /// lowest marked byte is always a true one (a borrow can only mark bytes above it).
    private static func markSpecialBytes(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        func zeroBytes(_ value: UInt64) -> UInt64 { (value &- ones) & ~value & highs }
        let quotes = zeroBytes(word ^ (ones &* UInt64(UInt8(ascii: "\""))))
        let backslashes = zeroBytes(word ^ (ones &* UInt64(UInt8(ascii: "\\"))))
        let controls = (word &- ones &* 0x20) & ~word & highs
        return quotes | backslashes | controls
    }

    private mutating func skipContainer() throws {
        var depth = 0
        repeat {
            guard index < bytes.count else { throw error("the end of an object or array") }
            switch bytes[unchecked: index] {
            case UInt8(ascii: "\""):
                _ = try stringBounds()
                continue
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
            default: break
            }
            index += 1
        } while depth > 0
    }
}

extension UnsafeBufferPointer<UInt8> {
    /// The byte at `index`, which the caller has checked is below `count`.
    fileprivate subscript(unchecked index: Int) -> UInt8 {
        baseAddress.unsafelyUnwrapped[index]
    }
}

/// JSON the scanner could not read: what it expected, and where.
public struct JSONScanError: Error, CustomStringConvertible, Sendable {
    public var expected: String
    public var offset: Int
    public var description: String { "invalid JSON at byte \(offset): expected \(expected)" }
}

/// A type that `JSONScanner` can read.
public protocol JSONScannable {
    init(scanning scanner: inout JSONScanner) throws
}
