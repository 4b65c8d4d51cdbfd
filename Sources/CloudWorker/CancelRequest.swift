import JobRunner
import QueueConsumer

/// A cancel request (SPEC §3): its target, and who sent it, which decides what a cancel by
/// `jobName` may reach. Producers share the queue, and job names are theirs to choose: one
/// producer's "nightly" is not another's.
struct CancelRequest: Sendable, Equatable {
    /// Which Jobs a cancel by the requested job name reaches. A request id or a Kubernetes Job
    /// name reaches its Job whatever the scope.
    enum Scope: String, Sendable, CaseIterable {
        /// Jobs whose request had the cancel's `reply_to`, or was published by its AMQP user.
        case producer
        /// Every Job of that name.
        case any
    }

    /// A request id, a Kubernetes Job name or the job name a request gave.
    var target: String
    var replyTo: String?
    /// The AMQP `user_id`, which the broker checks.
    var producer: String?

    init(target: String, message: AMQPMessage) {
        self.target = target
        replyTo = message.properties.replyTo.flatMap { $0.isEmpty ? nil : $0 }
        producer = message.properties.userID.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The unfinished Jobs it names.
    func matches(_ jobs: [Job], scope: Scope) -> [Job] {
        jobs.filter { job in
            guard JobOutcome.finalCondition(of: job) == nil, job.metadata.deletionTimestamp == nil else { return false }
            if job.annotations[JobMetadata.requestID] == target || job.name == target { return true }
            return job.annotations[JobMetadata.requestedName] == target && (scope == .any || isSameProducer(job))
        }
    }

    /// The Jobs a cancel with this identity stopped already, for a cancel that comes again
    /// (redelivered after its reply, or sent again): it is answered as it was the first time,
    /// not rejected for naming no unfinished job.
    static func stopped(by identity: String, in jobs: [Job]) -> [Job] {
        jobs.filter { $0.annotations[JobMetadata.cancelledBy] == identity }
    }

    private func isSameProducer(_ job: Job) -> Bool {
        (replyTo != nil && job.annotations[JobMetadata.replyTo] == replyTo)
            || (producer != nil && job.annotations[JobMetadata.producer] == producer)
    }
}
