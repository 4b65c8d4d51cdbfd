/// How the worker writes its log lines.
enum LogFormat: String, CaseIterable, Sendable {
    case text
    case json
}
