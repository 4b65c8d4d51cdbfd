import Foundation
import Logging
import Synchronization

/// One line per event on standard error. As text, swift-log's `StreamLogHandler` format
/// (`<time> <level> <label>: <key=value …> [<source>] <message>`); as JSON, one object with time,
/// level, logger, message and the metadata. Metadata is formatted when a line is written, not
/// each time a key is set (StreamLogHandler's way): the lifecycle sets a Job's keys on every
/// reconcile, and most reconciles write nothing.
struct WorkerLogHandler: LogHandler {
    let label: String
    let format: LogFormat
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    init(label: String, format: LogFormat) {
        self.label = label
        self.format = format
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var text = line(for: event, at: time(nil))
        text.withUTF8(Self.writeToStandardError)
    }

    /// One line in one write where it fits, so that lines from several threads do not mix.
    private static func writeToStandardError(_ bytes: UnsafeBufferPointer<UInt8>) {
        var offset = 0
        while offset < bytes.count {
            let written = write(STDERR_FILENO, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                return  // nowhere left to say it
            }
            offset += written
        }
    }

    /// The line for `event`, logged `seconds` after the epoch; its metadata over the handler's.
    func line(for event: LogEvent, at seconds: time_t) -> String {
        let all = metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 })
        switch format {
        case .text:
            let pairs = all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            let fields = pairs.isEmpty ? "" : " " + pairs.joined(separator: " ")
            return "\(Self.recentTimestamp(seconds)) \(event.level) \(label):\(fields) [\(event.source)] \(event.message)\n"
        case .json:
            var object: [String: String] = [
                "time": Date(timeIntervalSince1970: TimeInterval(seconds)).formatted(.iso8601), "level": event.level.rawValue,
                "logger": label, "message": "\(event.message)",
            ]
            for (key, value) in all { object[key] = "\(value)" }
            let json = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
            return String(decoding: json, as: UTF8.self) + "\n"
        }
    }

    /// The second last logged, formatted: most lines fall in the same second as the one before.
    private static let lastTimestamp = Mutex<(seconds: time_t, text: String)>((-1, ""))

    private static func recentTimestamp(_ seconds: time_t) -> String {
        if let text = lastTimestamp.withLock({ $0.seconds == seconds ? $0.text : nil }) { return text }
        let text = timestamp(seconds)
        lastTimestamp.withLock { $0 = (seconds, text) }
        return text
    }

    /// `2026-12-07T16:21:48+0000`, local time: strftime's `%Y-%m-%dT%H:%M:%S%z` (the text
    /// format's), without strftime, which looks at the time zone file again on every call.
    static func timestamp(_ seconds: time_t) -> String {
        var seconds = seconds
        var parts = tm()
        localtime_r(&seconds, &parts)
        let offset = Int(parts.tm_gmtoff) / 60
        let date = "\(parts.tm_year + 1900)-\((parts.tm_mon + 1).twoDigits)-\(parts.tm_mday.twoDigits)"
        let time = "\(parts.tm_hour.twoDigits):\(parts.tm_min.twoDigits):\(parts.tm_sec.twoDigits)"
        return "\(date)T\(time)\(offset < 0 ? "-" : "+")\((abs(offset) / 60).twoDigits)\((abs(offset) % 60).twoDigits)"
    }
}

extension BinaryInteger {
    /// The number with a leading zero below 10, as dates and times write it.
    var twoDigits: String { self < 10 ? "0\(self)" : "\(self)" }
}
