import ArgumentParser
import Foundation

/// The settings written out for people (the README's table) and for programs (the chart's check).
enum SettingsDocument {
    enum Format: String, CaseIterable, ExpressibleByArgument {
        case markdown, json
    }

    static func render(_ settings: [Setting], as format: Format) -> String {
        switch format {
        case .markdown: markdown(settings)
        case .json: json(settings)
        }
    }

    /// One row per setting: flag, environment variable, default, meaning.
    static func markdown(_ settings: [Setting]) -> String {
        func cell(_ text: String) -> String { text.replacingOccurrences(of: "|", with: "\\|") }
        let rows = settings.map { setting in
            let flag = setting.flag.map { "`--\($0)`" } ?? "—"
            let standard = setting.standard.map { "`\($0)`" } ?? setting.standardNote ?? ""
            return "| \(flag) | `\(setting.variable)` | \(cell(standard)) | \(cell(setting.help)) |"
        }
        return (["| flag | environment | default | meaning |", "|---|---|---|---|"] + rows).joined(separator: "\n")
    }

    private struct Entry: Encodable {
        var flag: String?
        var variable: String
        var `default`: String?
        var defaultNote: String?
        var help: String
        var kind: String
        var choices: [String]?
        var minimum: Int?
        var maximum: Int?
    }

    /// A JSON array of every setting with its kind and bounds.
    static func json(_ settings: [Setting]) -> String {
        let entries = settings.map { setting in
            var entry = Entry(
                flag: setting.flag, variable: setting.variable, default: setting.standard, defaultNote: setting.standardNote,
                help: setting.help, kind: "")
            switch setting.kind {
            case .text: entry.kind = "text"
            case .integer(let minimum, let maximum):
                entry.kind = "integer"
                entry.minimum = minimum
                entry.maximum = maximum == .max ? nil : maximum
            case .boolean: entry.kind = "boolean"
            case .choice(let names):
                entry.kind = "choice"
                entry.choices = names
            case .list: entry.kind = "list"
            case .pairs: entry.kind = "pairs"
            case .json: entry.kind = "json"
            }
            return entry
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(entries)) ?? Data("[]".utf8), as: UTF8.self)
    }
}
