import Foundation

/// A validated request (SPEC §3), with MSTC's field names.
struct WorkRequest: Sendable, Equatable {
    var image: String
    var jobName: String
    var timeoutMinutes: Int
    var inputBucket: String
    var outputBucket: String
    var env: [String: String]
    var command: [String]?
    var args: [String]?
    var resources: [String: [String: String]]
    var backoffLimit: Int
    var prefix: String?
    /// Fan-out: each task's JSON text, one completion index each; empty for a single pod.
    var tasks: [String]
    /// Fan-out pods run at once.
    var parallelism: Int?
}

/// Why a request was refused: the field and the reason, as the rejection reply states them.
struct RequestRejection: Error, Equatable, CustomStringConvertible {
    var field: String
    var reason: String

    var description: String { "\(field): \(reason)" }
}

extension WorkRequest {
    /// Environment names the worker sets itself; a request may not replace them.
    static let reservedEnvironment: Set<String> = [
        "INPUT_BUCKET", "OUTPUT_BUCKET", "MINIO_SERVICE_HOST", "MINIO_SERVICE_PORT", "AWS_ENDPOINT_URL",
        "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "FILE_PREFIX",
    ]

    /// Decodes and validates a message body. Unknown fields are ignored, as MSTC's mapper does.
    init(body: [UInt8], limits: RequestLimits) throws(RequestRejection) {
        guard body.count <= limits.maxRequestBytes else {
            throw RequestRejection(field: "body", reason: "is \(body.count) bytes, more than the limit of \(limits.maxRequestBytes)")
        }
        guard let parsed = try? JSONSerialization.jsonObject(with: Data(body)) else {
            throw RequestRejection(field: "body", reason: "is not valid JSON")
        }
        guard let object = parsed as? [String: Any] else {
            throw RequestRejection(field: "body", reason: "must be a JSON object")
        }
        let fields = RequestFields(object)

        let image = try fields.requiredString("image")
        self.image = image
        if !limits.allowedImagePrefixes.isEmpty, !limits.allowedImagePrefixes.contains(where: { image.hasPrefix($0) }) {
            throw RequestRejection(
                field: "image", reason: "'\(image)' is not under an allowed prefix (\(limits.allowedImagePrefixes.joined(separator: ", ")))"
            )
        }
        jobName = try fields.requiredString("jobName")

        let timeout = try fields.integer("timeOut") ?? 0
        guard timeout >= 0 else { throw RequestRejection(field: "timeOut", reason: "must not be negative") }
        guard timeout <= limits.maxTimeoutMinutes else {
            throw RequestRejection(field: "timeOut", reason: "\(timeout) minutes exceeds the maximum of \(limits.maxTimeoutMinutes)")
        }
        timeoutMinutes = timeout == 0 ? limits.defaultTimeoutMinutes : timeout

        inputBucket = try fields.requiredString("inputBucket")
        try Self.checkBucket(inputBucket, field: "inputBucket")
        outputBucket = try fields.string("outputBucket") ?? inputBucket
        try Self.checkBucket(outputBucket, field: "outputBucket")

        env = try fields.stringMap("env") ?? [:]
        for name in env.keys {
            guard Self.isValidEnvironmentName(name) else {
                throw RequestRejection(field: "env.\(name)", reason: "is not a valid environment variable name")
            }
            guard !Self.reservedEnvironment.contains(name) else {
                throw RequestRejection(field: "env.\(name)", reason: "is set by the worker and cannot be overridden")
            }
        }
        command = try fields.stringArray("command")
        args = try fields.stringArray("args")
        resources = try fields.resources("resources")

        backoffLimit = try fields.integer("backoffLimit") ?? 0
        guard (0...limits.maxBackoffLimit).contains(backoffLimit) else {
            throw RequestRejection(field: "backoffLimit", reason: "must be between 0 and \(limits.maxBackoffLimit)")
        }
        prefix = try fields.string("prefix")
        (tasks, parallelism) = try Self.fanOut(fields, limits: limits)
    }

    /// `tasks` and `parallelism`: at most `maxTasks` tasks whose JSON fits in one ConfigMap,
    /// parallelism within the cap (default: all tasks, up to the cap).
    private static func fanOut(_ fields: RequestFields, limits: RequestLimits) throws(RequestRejection) -> ([String], Int?) {
        let requestedParallelism = try fields.integer("parallelism")
        guard let tasks = try fields.jsonArray("tasks") else {
            if requestedParallelism != nil {
                throw RequestRejection(field: "parallelism", reason: "applies only to a request with tasks")
            }
            return ([], nil)
        }
        guard !tasks.isEmpty else { throw RequestRejection(field: "tasks", reason: "must not be empty") }
        guard tasks.count <= limits.maxTasks else {
            throw RequestRejection(field: "tasks", reason: "has \(tasks.count) tasks, more than the limit of \(limits.maxTasks)")
        }
        let bytes = tasks.reduce(0) { $0 + $1.utf8.count }
        guard bytes <= limits.maxTaskBytes else {
            throw RequestRejection(field: "tasks", reason: "holds \(bytes) bytes of JSON, more than the limit of \(limits.maxTaskBytes)")
        }
        guard let parallelism = requestedParallelism else { return (tasks, min(tasks.count, limits.maxParallelism)) }
        guard (1...limits.maxParallelism).contains(parallelism) else {
            throw RequestRejection(field: "parallelism", reason: "must be between 1 and \(limits.maxParallelism)")
        }
        return (tasks, min(parallelism, tasks.count))
    }

    /// S3 bucket naming rules: 3–63 of lower-case letters, digits, dots and hyphens.
    private static func checkBucket(_ name: String, field: String) throws(RequestRejection) {
        let allowed = name.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "." || $0 == "-"
        }
        guard (3...63).contains(name.count), allowed, name.first != "-", name.first != "." else {
            throw RequestRejection(
                field: field, reason: "'\(name)' is not a valid bucket name (3-63 lower-case letters, digits, dots, hyphens)")
        }
    }

    private static func isValidEnvironmentName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, !("0"..."9").contains(first) else { return false }
        return name.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "." || $0 == "-"
        }
    }
}

/// Typed access to the fields of a parsed JSON object, each failure naming its field.
private struct RequestFields {
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

    /// An array of any JSON values, each returned as compact JSON text.
    func jsonArray(_ name: String) throws(RequestRejection) -> [String]? {
        guard let value = present(name) else { return nil }
        guard let array = value as? [Any] else { throw RequestRejection(field: name, reason: "must be an array") }
        var texts: [String] = []
        for (index, element) in array.enumerated() {
            guard let data = try? JSONSerialization.data(withJSONObject: element, options: [.fragmentsAllowed, .sortedKeys]) else {
                throw RequestRejection(field: "\(name)[\(index)]", reason: "is not a JSON value")
            }
            texts.append(String(decoding: data, as: UTF8.self))
        }
        return texts
    }

    func stringMap(_ name: String) throws(RequestRejection) -> [String: String]? {
        guard let value = present(name) else { return nil }
        guard let map = value as? [String: Any] else { throw RequestRejection(field: name, reason: "must be an object of strings") }
        var result: [String: String] = [:]
        for (key, item) in map {
            guard let text = item as? String else { throw RequestRejection(field: "\(name).\(key)", reason: "must be a string") }
            result[key] = text
        }
        return result
    }

    /// `{"requests": {...}, "limits": {...}}` with quantities as strings or numbers.
    func resources(_ name: String) throws(RequestRejection) -> [String: [String: String]] {
        guard let value = present(name) else { return [:] }
        guard let map = value as? [String: Any] else { throw RequestRejection(field: name, reason: "must be an object") }
        var result: [String: [String: String]] = [:]
        for (section, content) in map {
            guard section == "requests" || section == "limits" else {
                throw RequestRejection(field: "\(name).\(section)", reason: "unknown section (expected requests or limits)")
            }
            guard let quantities = content as? [String: Any] else {
                throw RequestRejection(field: "\(name).\(section)", reason: "must be an object")
            }
            var converted: [String: String] = [:]
            for (resource, quantity) in quantities {
                let field = "\(name).\(section).\(resource)"
                let text: String
                if let string = quantity as? String {
                    text = string
                } else if let number = quantity as? NSNumber, !number.isBoolean {
                    text = number.stringValue
                } else {
                    throw RequestRejection(field: field, reason: "must be a quantity such as \"500m\" or \"2Gi\"")
                }
                guard Self.isQuantity(text) else { throw RequestRejection(field: field, reason: "'\(text)' is not a Kubernetes quantity") }
                converted[resource] = text
            }
            result[section] = converted
        }
        return result
    }

    /// Kubernetes quantity syntax: a decimal number and an optional suffix.
    private static func isQuantity(_ text: String) -> Bool {
        let suffixes = ["", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]
        return suffixes.contains { suffix in
            guard text.hasSuffix(suffix) else { return false }
            let number = text.dropLast(suffix.count)
            return !number.isEmpty && Double(number) != nil && !number.contains("e") && !number.hasPrefix("-")
        }
    }
}

extension NSNumber {
    /// JSON `true`/`false` arrive as NSNumber too; Foundation marks them with the `c` type.
    fileprivate var isBoolean: Bool { String(cString: objCType) == "c" }
}
