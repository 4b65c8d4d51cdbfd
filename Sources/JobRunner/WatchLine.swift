/// One line of a watch stream, read in one pass with `JSONScanner`: its `object` is a
/// `Status` (ERROR), a bare resourceVersion (BOOKMARK) or the watched object, read as `type`
/// says. The API server writes `type` first; an `object` before it is read once `type` is known.
public enum WatchLine<Object: KubernetesObject>: Sendable {
    case error(code: Int?, reason: String?, message: String?)
    case bookmark(resourceVersion: String?)
    case change(Object, deleted: Bool)

    public init(_ line: [UInt8]) throws {
        self = try JSONScanner.scan(line) { scanner in
            var type: String?
            var event: Self?
            var objectMark: Int?
            try scanner.object { key, scanner in
                switch key {
                case "type": type = try scanner.string()
                case "object" where type != nil: event = try Self(type: type!, object: &scanner)
                case "object":
                    objectMark = scanner.mark()
                    try scanner.skip()
                default: try scanner.skip()
                }
            }
            if event == nil, let type, let objectMark {
                let end = scanner.mark()
                scanner.rewind(to: objectMark)
                event = try Self(type: type, object: &scanner)
                scanner.rewind(to: end)
            }
            return try scanner.required(event, "a watch event's type and object")
        }
    }

    private init(type: String, object scanner: inout JSONScanner) throws {
        switch type {
        case "ERROR":
            let status = try StatusObject(scanning: &scanner)
            self = .error(code: status.code, reason: status.reason, message: status.message)
        case "BOOKMARK": self = .bookmark(resourceVersion: try Self.bookmarkVersion(&scanner))
        default: self = .change(try Object(scanning: &scanner), deleted: type == "DELETED")
        }
    }

    /// A BOOKMARK's object carries only its metadata's resourceVersion.
    private static func bookmarkVersion(_ scanner: inout JSONScanner) throws -> String? {
        var version: String?
        try scanner.object { key, scanner in
            switch key {
            case "metadata": version = try scanner.value(ObjectMeta.self)?.resourceVersion
            default: try scanner.skip()
            }
        }
        return version
    }
}
