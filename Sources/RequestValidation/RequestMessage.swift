import Foundation

/// A message body read as one of the two kinds of request (SPEC §3). The size comes first, then
/// the nesting, then the parse, then the fields: no step works on more than the one before
/// allowed.
public enum RequestMessage: Sendable, Equatable {
    case work(WorkRequest)
    /// `{"cancel": "<request id or job name>"}`, or AMQP type `cancel` naming its target in
    /// `cancel`, `requestId` or `jobName`.
    case cancel(target: String)

    /// - Parameters:
    ///   - type: the AMQP `type` property.
    public init(body: [UInt8], type: String?, policy: RequestPolicy) throws(RequestRejection) {
        let object = try Self.object(in: body, limits: policy.limits)
        let typed = type == "cancel"
        if typed || object["cancel"] != nil {
            self = .cancel(target: try Self.cancelTarget(RequestFields(object), typed: typed))
        } else {
            self = .work(try WorkRequest(RequestFields(object), policy: policy))
        }
    }

    /// The `jobName` of a body, if it passes the size, nesting and parse checks: what a
    /// rejection reply names the request by.
    public static func jobName(in body: [UInt8], limits: RequestLimits) -> String? {
        guard let name = (try? object(in: body, limits: limits))?["jobName"] as? String else { return nil }
        return name.utf8.count <= RequestLimits.maxJobNameLength ? name : nil
    }

    /// The body as a JSON object, once its size and nesting are known to be within the limits.
    private static func object(in body: [UInt8], limits: RequestLimits) throws(RequestRejection) -> [String: Any] {
        guard body.count <= limits.maxRequestBytes else {
            throw Self.oversized(bytes: body.count, limit: limits.maxRequestBytes)
        }
        guard !JSONNesting.exceeds(limits.maxJSONDepth, in: body) else {
            throw RequestRejection(field: "body", reason: "nests arrays and objects more than \(limits.maxJSONDepth) deep")
        }
        guard let parsed = try? JSONSerialization.jsonObject(with: Data(body)) else {
            throw RequestRejection(field: "body", reason: "is not valid JSON")
        }
        guard let object = parsed as? [String: Any] else {
            throw RequestRejection(field: "body", reason: "must be a JSON object")
        }
        return object
    }

    /// The rejection of a body of `bytes` bytes, over `limit`: also used where the body was
    /// never read.
    public static func oversized(bytes: some BinaryInteger, limit: Int) -> RequestRejection {
        RequestRejection(field: "body", reason: "is \(bytes) bytes, more than the limit of \(limit)")
    }

    /// Typed messages may name the target in any of these; an untyped one only in `cancel`.
    private static func cancelTarget(_ fields: RequestFields, typed: Bool) throws(RequestRejection) -> String {
        let names = typed ? ["cancel", "requestId", "jobName"] : ["cancel"]
        guard let name = names.first(where: { fields.object[$0] != nil }) else {
            throw RequestRejection(field: "cancel", reason: "a cancel request needs the request id or job name to cancel")
        }
        guard let target = try? fields.requiredString(name), target.utf8.count <= RequestLimits.maxJobNameLength else {
            throw RequestRejection(field: name, reason: "must be a non-empty string (the request id or job name to cancel)")
        }
        return target
    }
}
