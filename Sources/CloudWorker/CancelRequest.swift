import Foundation
import JobRunner
import QueueConsumer

/// A cancel request (SPEC §3): `{"cancel": "<request id or job name>"}`, or a message of AMQP
/// type `cancel` naming its target in `cancel`, `requestId` or `jobName`.
struct CancelRequest: Sendable, Equatable {
    /// A request id, a Kubernetes Job name or the job name a request gave.
    var target: String

    /// nil when the message is not a cancel request.
    init?(message: AMQPMessage) throws(RequestRejection) {
        let object = (try? JSONSerialization.jsonObject(with: Data(message.body))) as? [String: Any]
        let typed = message.properties.type == "cancel"
        guard typed || object?["cancel"] != nil else { return nil }
        // Typed messages may name the target in any of these; an untyped one only in `cancel`.
        let fields = typed ? ["cancel", "requestId", "jobName"] : ["cancel"]
        guard let field = fields.first(where: { object?[$0] != nil }), let value = object?[field] else {
            throw RequestRejection(field: "cancel", reason: "a cancel request needs the request id or job name to cancel")
        }
        guard let target = value as? String, !target.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw RequestRejection(field: field, reason: "must be a non-empty string (the request id or job name to cancel)")
        }
        self.target = target
    }

    /// The unfinished Jobs it names: by request id, Kubernetes name or requested name.
    func matches(_ jobs: [Job]) -> [Job] {
        jobs.filter { job in
            JobOutcome.finalCondition(of: job) == nil && job.metadata.deletionTimestamp == nil
                && (job.annotations[JobMetadata.requestID] == target || job.name == target
                    || job.annotations[JobMetadata.requestedName] == target)
        }
    }
}
