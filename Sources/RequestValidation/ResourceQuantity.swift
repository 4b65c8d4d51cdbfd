import Foundation

/// A Kubernetes resource quantity (`500m`, `2Gi`, `1.5`, `1e3`), read with the API server's
/// grammar:
///
///     quantity ::= sign? digits? ("." digits?)? suffix      (at least one digit)
///     suffix   ::= "" | m | k | M | G | T | P | E | Ki | Mi | Gi | Ti | Pi | Ei | (e|E) sign? digits
///
/// The text is kept as written for the Job; the value, exact to 38 significant digits, is what
/// caps and `requests <= limits` compare.
public struct ResourceQuantity: Sendable, Equatable, Comparable, CustomStringConvertible {
    public let text: String
    public let value: Decimal

    /// The API server has no length limit; this one keeps parsing cheap and replies short.
    static let maxLength = 64
    /// Powers of ten beyond this are clamped: no cap or request reaches 10^±40.
    static let exponentClamp = 40
    static let decimalSuffixes: [String: Int] = ["m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18]
    static let binarySuffixes: [String: Int] = ["Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6]

    /// nil when `text` is not a quantity.
    public init?(_ text: String) {
        guard text.utf8.count <= Self.maxLength, text.utf8.allSatisfy({ $0 < 0x80 }) else { return nil }
        var rest = Substring(text)
        let negative = rest.first == "-"
        if rest.first == "-" || rest.first == "+" { rest = rest.dropFirst() }
        let integer = rest.prefix { $0.isASCIIDigit }
        rest = rest.dropFirst(integer.count)
        var fraction = Substring("")
        if rest.first == "." {
            rest = rest.dropFirst()
            fraction = rest.prefix { $0.isASCIIDigit }
            rest = rest.dropFirst(fraction.count)
        }
        guard !(integer.isEmpty && fraction.isEmpty), let (exponent10, power1024) = Self.scale(of: rest) else { return nil }

        // All digits as one integer, scaled by the fraction's length and the suffix.
        let digits = (integer + fraction).drop { $0 == "0" }
        var exponent = exponent10 - fraction.count
        let significant = digits.prefix(38)
        exponent += digits.count - significant.count
        var magnitude = significant.isEmpty ? Decimal(0) : (Decimal(string: String(significant)) ?? 0)
        if !significant.isEmpty {
            // Compare orders of magnitude first so that Decimal never overflows.
            let order = exponent + significant.count
            if order > Self.exponentClamp {
                magnitude = Decimal(sign: .plus, exponent: Self.exponentClamp, significand: 1)
            } else if order < -Self.exponentClamp {
                magnitude = Decimal(sign: .plus, exponent: -Self.exponentClamp, significand: 1)
            } else {
                magnitude = Decimal(sign: .plus, exponent: exponent, significand: magnitude)
                for _ in 0..<power1024 { magnitude *= 1024 }
            }
        }
        self.text = text
        value = negative ? -magnitude : magnitude
    }

    /// (power of ten, power of 1024) of a suffix; nil if it is none.
    private static func scale(of suffix: Substring) -> (Int, Int)? {
        if let exponent = decimalSuffixes[String(suffix)] { return (exponent, 0) }
        if let power = binarySuffixes[String(suffix)] { return (0, power) }
        guard let marker = suffix.first, marker == "e" || marker == "E" else { return nil }
        var digits = suffix.dropFirst()
        let negative = digits.first == "-"
        if digits.first == "-" || digits.first == "+" { digits = digits.dropFirst() }
        guard !digits.isEmpty, digits.allSatisfy(\.isASCIIDigit) else { return nil }
        // Any exponent past the clamp means the same; reading it as Int could overflow.
        let magnitude = digits.count > 4 ? 9999 : Int(digits)!
        return (negative ? -magnitude : magnitude, 0)
    }

    public var isInteger: Bool {
        var rounded = Decimal()
        var copy = value
        NSDecimalRound(&rounded, &copy, 0, .plain)
        return rounded == value
    }

    public var description: String { text }

    public static func == (left: Self, right: Self) -> Bool { left.value == right.value }
    public static func < (left: Self, right: Self) -> Bool { left.value < right.value }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
