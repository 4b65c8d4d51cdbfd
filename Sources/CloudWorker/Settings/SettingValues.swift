import ArgumentParser
import Foundation
import RequestValidation

/// The settings as given: a flag wins over the environment variable, which wins over the
/// default; an empty variable counts as unset. Each value is checked against its setting's kind
/// as it is read; the worker reads them all at start, so a bad one stops it there.
struct SettingValues {
    /// Flag values by flag name (without dashes).
    let flags: [String: String]
    let environment: [String: String]

    /// The value given by flag or environment, else nil.
    func given(_ setting: Setting) -> String? {
        if let flag = setting.flag, let value = flags[flag] { return value }
        return environment[setting.variable].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The value given, else the default; nil when neither.
    func optional(_ setting: Setting) -> String? {
        given(setting) ?? setting.standard
    }

    /// The value of a setting that has a default.
    func text(_ setting: Setting) -> String {
        precondition(setting.standard != nil, "\(setting.variable) has no default")
        return optional(setting) ?? ""
    }

    func integer(_ setting: Setting) throws -> Int {
        guard case .integer(let minimum, let maximum) = setting.kind else { preconditionFailure("\(setting.variable) is not an integer") }
        let text = self.text(setting)
        guard let number = Int(text) else { throw ValidationError("\(setting.name) must be an integer, not '\(text)'") }
        guard number >= minimum, number <= maximum else {
            let range = maximum == .max ? "at least \(minimum)" : "from \(minimum) to \(maximum)"
            throw ValidationError("\(setting.name) must be \(range), not \(number)")
        }
        return number
    }

    func seconds(_ setting: Setting) throws -> Double {
        Double(try integer(setting))
    }

    func boolean(_ setting: Setting) throws -> Bool {
        let text = self.text(setting)
        guard let value = ["true": true, "1": true, "yes": true, "false": false, "0": false, "no": false][text.lowercased()] else {
            throw ValidationError("\(setting.name) must be true or false, not '\(text)'")
        }
        return value
    }

    /// One of the setting's names, as the enumeration `Value` it stands for.
    func choice<Value: RawRepresentable>(_ setting: Setting, as type: Value.Type) throws -> Value where Value.RawValue == String {
        let name = try chosenName(setting)
        guard let value = Value(rawValue: name) else { preconditionFailure("\(setting.variable) names \(name), which \(Value.self) lacks") }
        return value
    }

    private func chosenName(_ setting: Setting) throws -> String {
        guard case .choice(let names) = setting.kind else { preconditionFailure("\(setting.variable) is not a choice") }
        let text = self.text(setting)
        guard names.contains(text) else {
            throw ValidationError("\(setting.name) must be one of \(names.joined(separator: ", ")), not '\(text)'")
        }
        return text
    }

    func list(_ setting: Setting) -> [String] {
        (optional(setting) ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// `key=value,key=value` in order.
    func pairs(_ setting: Setting) throws -> [(key: String, value: String)] {
        try list(setting).map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty else { throw ValidationError("\(setting.name): '\(pair)' is not key=value") }
            return (parts[0], parts[1])
        }
    }

    /// `key=value,key=value` as a map, the last of a repeated key winning.
    func keyValues(_ setting: Setting) throws -> [String: String] {
        Dictionary(try pairs(setting).map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
    }

    /// `resource=quantity,...` with Kubernetes quantities.
    func quantities(_ setting: Setting) throws -> [String: ResourceQuantity] {
        try keyValues(setting).mapValues { text in
            guard let quantity = ResourceQuantity(text) else {
                throw ValidationError("\(setting.name): '\(text)' is not a Kubernetes quantity")
            }
            return quantity
        }
    }

    /// The JSON value of a setting that has a default, decoded as `Value`.
    func json<Value: Decodable>(_ setting: Setting, as type: Value.Type) throws -> Value {
        let text = self.text(setting)
        do {
            return try JSONDecoder().decode(Value.self, from: Data(text.utf8))
        } catch {
            throw ValidationError("\(setting.name) is not valid: \(error)")
        }
    }
}
