import Foundation

/// Typed access to the fields of a parsed JSON object, each failure naming its field.
struct RequestFields {
    let object: [String: Any]

    init(_ object: [String: Any]) {
        self.object = object
    }

    private func present(_ name: String) -> Any? {
        guard let value = object[name], !(value is NSNull) else { return nil }
        return value
    }

    func string(_ name: String) throws(RequestRejection) -> String? {
        guard let value = present(name) else { return nil }
        guard let text = value as? String else { throw RequestRejection(field: name, reason: "must be a string") }
        return text
    }

    func requiredString(_ name: String) throws(RequestRejection) -> String {
        guard let text = try string(name) else { throw RequestRejection(field: name, reason: "is required") }
        guard !text.trimmingCharacters(in: .whitespaces).isEmpty else { throw RequestRejection(field: name, reason: "must not be empty") }
        return text
    }

    func integer(_ name: String) throws(RequestRejection) -> Int? {
        guard let value = present(name) else { return nil }
        // JSONSerialization gives NSNumber for both numbers and booleans; refuse booleans.
        guard let number = value as? NSNumber, !number.isBoolean,
            number.doubleValue == number.doubleValue.rounded(), abs(number.doubleValue) < 1e9
        else { throw RequestRejection(field: name, reason: "must be an integer") }
        return number.intValue
    }

    func stringArray(_ name: String) throws(RequestRejection) -> [String]? {
        guard let value = present(name) else { return nil }
        guard let array = value as? [Any], let strings = array as? [String] else {
            throw RequestRejection(field: name, reason: "must be an array of strings")
        }
        return strings
    }

    /// An array of at most `maxCount` JSON values, each returned as compact JSON text.
    func jsonArray(_ name: String, maxCount: Int) throws(RequestRejection) -> [String]? {
        guard let value = present(name) else { return nil }
        guard let array = value as? [Any] else { throw RequestRejection(field: name, reason: "must be an array") }
        guard array.count <= maxCount else {
            throw RequestRejection(field: name, reason: "has \(array.count) tasks, more than the limit of \(maxCount)")
        }
        var texts: [String] = []
        for (index, element) in array.enumerated() {
            guard let data = try? JSONSerialization.data(withJSONObject: element, options: [.fragmentsAllowed, .sortedKeys]) else {
                throw RequestRejection(field: "\(name)[\(index)]", reason: "is not a JSON value")
            }
            texts.append(String(decoding: data, as: UTF8.self))
        }
        return texts
    }

    /// An object of at most `maxCount` strings, each key checked by `checkKey` first.
    func stringMap(
        _ name: String, maxCount: Int, checkKey: (String) throws(RequestRejection) -> Void
    ) throws(RequestRejection) -> [String: String]? {
        guard let value = present(name) else { return nil }
        guard let map = value as? [String: Any] else { throw RequestRejection(field: name, reason: "must be an object of strings") }
        guard map.count <= maxCount else {
            throw RequestRejection(field: name, reason: "has \(map.count) entries, more than the limit of \(maxCount)")
        }
        var result: [String: String] = [:]
        for (key, item) in map.sorted(by: { $0.key < $1.key }) {
            try checkKey(key)
            guard let text = item as? String else {
                throw RequestRejection(field: RequestRejection.field(name, key), reason: "must be a string")
            }
            result[key] = text
        }
        return result
    }

    /// `{"requests": {...}, "limits": {...}}` with quantities as strings or numbers.
    func resources(_ name: String) throws(RequestRejection) -> ContainerResources {
        guard let value = present(name) else { return ContainerResources() }
        guard let map = value as? [String: Any] else { throw RequestRejection(field: name, reason: "must be an object") }
        var result = ContainerResources()
        for (section, content) in map.sorted(by: { $0.key < $1.key }) {
            let sectionField = RequestRejection.field(name, section)
            guard section == "requests" || section == "limits" else {
                throw RequestRejection(field: sectionField, reason: "unknown section (expected requests or limits)")
            }
            guard let quantities = content as? [String: Any] else {
                throw RequestRejection(field: sectionField, reason: "must be an object")
            }
            var converted: [String: ResourceQuantity] = [:]
            for (resource, quantity) in quantities.sorted(by: { $0.key < $1.key }) {
                let field = RequestRejection.field(sectionField, resource)
                let text: String
                if let string = quantity as? String {
                    text = string
                } else if let number = quantity as? NSNumber, !number.isBoolean {
                    text = number.stringValue
                } else {
                    throw RequestRejection(field: field, reason: "must be a quantity such as \"500m\" or \"2Gi\"")
                }
                guard let parsed = ResourceQuantity(text) else {
                    throw RequestRejection(field: field, reason: "\(RequestRejection.quoted(text)) is not a Kubernetes quantity")
                }
                converted[resource] = parsed
            }
            if section == "requests" { result.requests = converted } else { result.limits = converted }
        }
        return result
    }
}

extension NSNumber {
    /// JSON `true`/`false` arrive as NSNumber too; Foundation marks them with the `c` type.
    fileprivate var isBoolean: Bool { String(cString: objCType) == "c" }
}
