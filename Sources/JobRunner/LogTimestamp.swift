import Foundation

/// The RFC 3339 timestamp the kubelet puts before each log line with `timestamps=true`
/// (`2026-11-22T02:35:58.123456789Z`), comparable to the nanosecond; the API server writes its
/// object timestamps the same way, in UTC.
public struct LogTimestamp: Comparable, Sendable {
    public let seconds: Int64
    public let nanoseconds: Int
    /// `YYYY-MM-DDTHH:MM:SSZ`: `sinceTime` is precise to the second only.
    public let wholeSeconds: String

    public init?(_ text: Substring) {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, bytes[4] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: "T"), bytes.last == UInt8(ascii: "Z") else {
            return nil
        }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for byte in bytes[range] {
                guard (48...57).contains(byte) else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10), let hour = number(11..<13),
            let minute = number(14..<16), let second = number(17..<19)
        else { return nil }
        var nanos = 0
        if bytes[19] == UInt8(ascii: ".") {
            let digits = bytes[20..<(bytes.count - 1)]
            guard !digits.isEmpty, digits.count <= 9, let fraction = number(20..<(bytes.count - 1)) else { return nil }
            nanos = fraction
            for _ in digits.count..<9 { nanos *= 10 }
        }
        seconds = Int64(Self.daysFromCivil(year: year, month: month, day: day)) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
        nanoseconds = nanos
        wholeSeconds = String(decoding: bytes[0..<19], as: UTF8.self) + "Z"
    }

    public static func < (lhs: LogTimestamp, rhs: LogTimestamp) -> Bool {
        (lhs.seconds, lhs.nanoseconds) < (rhs.seconds, rhs.nanoseconds)
    }

    public static func == (lhs: LogTimestamp, rhs: LogTimestamp) -> Bool {
        lhs.seconds == rhs.seconds && lhs.nanoseconds == rhs.nanoseconds
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    private static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}

extension LogTimestamp {
    /// An API object's timestamp, or one of this worker's annotations, as a date: UTC RFC 3339
    /// is read directly (each lifecycle decision reads several), any other ISO 8601 form
    /// through Foundation.
    public static func date(_ text: String?) -> Date? {
        guard let text else { return nil }
        if let timestamp = LogTimestamp(text[...]) {
            return Date(timeIntervalSince1970: Double(timestamp.seconds) + Double(timestamp.nanoseconds) / 1e9)
        }
        return try? Date(text, strategy: .iso8601)
    }
}
