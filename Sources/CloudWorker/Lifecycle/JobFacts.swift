import Foundation
import JobRunner

/// Everything the lifecycle decides from, for one Job: the cache's view of the Job and its
/// pods, what this worker has done for it so far, and the clock. Nothing else: the decision
/// is the same whichever event woke it.
struct JobFacts: Sendable {
    /// The Job as the cache has it; nil once it has left the cache.
    var job: Job?
    /// The last state of a Job that left the cache before it was reported (someone removed
    /// the finalizer, or the Job predates it); nil otherwise.
    var tombstone: Job?
    /// The Job's pods as the cache has them, oldest first.
    var pods: [Pod]
    /// This worker's archive of each pod's log, by pod name.
    var archives: [String: ArchiveState]
    /// The reply was published and confirmed by the broker.
    var replied: Bool
    /// The Job's pods were listed directly after it ended (the watch had not caught up).
    var podsRefreshed: Bool
    var now: Date

    /// The Job the decision was made from: the lifecycle decides an action on a Job only from
    /// one it has (`orTombstone`: or its last state). A decision without one is a fault of the
    /// lifecycle's, reported as an error for the reconcile to retry, not a crash.
    func cached(orTombstone: Bool = false) throws -> Job {
        guard let job = job ?? (orTombstone ? tombstone : nil) else {
            throw LifecycleFault(message: "an action was decided for a Job that is not in the cache")
        }
        return job
    }
}

struct LifecycleFault: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// Where this worker's archive of one pod's log stands.
enum ArchiveState: Sendable, Equatable {
    case running
    case done(Reply.LogObject)
    /// Failed; tried again at `retryAt`.
    case retrying(error: String, retryAt: Date)
    /// Failed for longer than the archive patience: reported as it is.
    case gaveUp(Reply.LogObject)
}

/// The settings the lifecycle applies.
struct LifecycleSettings: Sendable {
    /// This worker's name in claims.
    var workerID: String
    /// Seconds after a Job ended, or after its claim was last renewed, before another worker
    /// may take over a claim.
    var claimTimeout: Double
    /// Seconds a pod may be stuck (image pull, container config) before its Job fails.
    var stuckGrace: Double
    /// Seconds a finished Job stays once reported (its `ttlSecondsAfterFinished` then), so
    /// that every replica's job pages list it; 0 has it deleted at once.
    var finishedJobRetention: Int = 0
    /// Seconds the pod watch gets to show a finished Job's pods terminated before they are
    /// listed directly.
    var podCatchUp: Double = 1
    /// Seconds after which a Job's pods are taken as they are, even if the watch and a direct
    /// list still show one running (its log ends there).
    var podSettleLimit: Double = 30
}
