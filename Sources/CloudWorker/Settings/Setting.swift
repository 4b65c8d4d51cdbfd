/// One setting of the worker: the flag and environment variable that set it, its default, what
/// it means and which values it takes. `--help`, `--print-settings` (and from it the README's
/// table and the chart's check) and the checks at start all read this one description.
struct Setting: Sendable, Hashable {
    /// The values a setting takes; anything else stops the worker at start.
    enum Kind: Sendable, Hashable {
        case text
        /// A whole number from `minimum` to `maximum`.
        case integer(minimum: Int, maximum: Int = .max)
        case boolean
        /// Exactly one of these names.
        case choice([String])
        /// Comma-separated items.
        case list
        /// Comma-separated `key=value` pairs.
        case pairs
        /// A JSON document.
        case json
    }

    /// The flag without its dashes (`amqp-url`); nil for a secret, taken only from the environment.
    let flag: String?
    let variable: String
    /// The default as it would be written; nil when there is none.
    let standard: String?
    /// How the default reads where it is worked out at start, or what having none means.
    let standardNote: String?
    let help: String
    let kind: Kind

    init(
        _ flag: String?, _ variable: String, _ kind: Kind = .text, standard: String? = nil, note: String? = nil, help: String
    ) {
        self.flag = flag
        self.variable = variable
        self.standard = standard
        self.standardNote = note
        self.help = help
        self.kind = kind
    }

    /// `--amqp-url`, or the variable for a setting without a flag: how errors name it.
    var name: String { flag.map { "\(variable) (--\($0))" } ?? variable }

    /// The default as help and docs give it: the value, else the note.
    var standardText: String? { standard ?? standardNote }

    /// What the value looks like, for help.
    var valueName: String {
        switch kind {
        case .text: "text"
        case .integer: "n"
        case .boolean: "true|false"
        case .choice(let names): names.joined(separator: "|")
        case .list: "a,b"
        case .pairs: "key=value,..."
        case .json: "json"
        }
    }
}
