import Foundation
import Logging

/// One line per event on standard error, as swift-log's `StreamLogHandler` writes it
/// (`<time> <level> <label>: <key=value …> [<source>] <message>`), but with the metadata formatted
/// when a line is written rather than each time a key is set: the lifecycle sets a Job's keys on
/// every reconcile, and most reconciles write nothing.
struct TextLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    init(label: String) {
        self.label = label
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        FileHandle.standardError.write(Data(line(for: event, at: time(nil)).utf8))
    }

    /// The line for `event`, logged `seconds` after the epoch (local time); its metadata over
    /// the handler's.
    func line(for event: LogEvent, at seconds: time_t) -> String {
        let all = metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 })
        let pairs = all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        let fields = pairs.isEmpty ? "" : " " + pairs.joined(separator: " ")
        return "\(Self.timestamp(seconds)) \(event.level) \(label):\(fields) [\(event.source)] \(event.message)\n"
    }

    /// `2026-12-07T16:21:48+0000`: strftime's `%Y-%m-%dT%H:%M:%S%z`, without strftime, which
    /// looks at the time zone file again on every call.
    static func timestamp(_ seconds: time_t) -> String {
        var seconds = seconds
        var parts = tm()
        localtime_r(&seconds, &parts)
        let offset = Int(parts.tm_gmtoff) / 60
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let date = "\(parts.tm_year + 1900)-\(two(Int(parts.tm_mon) + 1))-\(two(Int(parts.tm_mday)))"
        let time = "\(two(Int(parts.tm_hour))):\(two(Int(parts.tm_min))):\(two(Int(parts.tm_sec)))"
        return "\(date)T\(time)\(offset < 0 ? "-" : "+")\(two(abs(offset) / 60))\(two(abs(offset) % 60))"
    }
}
