import Foundation
import JobRunner

/// The lifecycle of one Job (SPEC §5), as a pure decision: given the facts, the one thing to
/// do next. No I/O and no memory of earlier calls: the reconciler applies the action, updates
/// the facts and asks again, so a decision never rests on the event that woke it.
enum JobLifecycle {
    enum Action: Sendable, Equatable {
        /// Start archiving pod P's log, or resume it where its last archive stopped.
        case archive(pod: String)
        /// Take the Job: nobody holds it, or its holder's claim is stale.
        case claim
        /// Say again that this worker holds it, so that a slow finish is not taken over.
        case renewClaim
        /// List the Job's pods: it ended, but the pod watch has not shown them all terminated.
        case refreshPods
        /// It was deleted while its pods ran: make Kubernetes stop them, so that their logs end.
        case stopPods
        /// Publish the reply (confirmed by the broker).
        case publish(Reply)
        /// Mark it reported and remove the finalizer, in one patch (`releasePatch`): a finished
        /// Job then stays for the retention, listed on every replica's job pages, until its TTL
        /// removes it; an unfinished Job (stuck pods) is also deleted.
        case release(delete: Bool)
        /// Delete a Job that was reported but is still unfinished.
        case delete
        /// Look again after this many seconds, unless an event comes first.
        case requeue(after: Double)
        /// Nothing to do until an event.
        case wait
        /// Nothing more to do for this Job here: drop what this worker keeps for it.
        case forget
    }

    /// Why a Job is over.
    enum Ending: Sendable, Equatable {
        /// A final condition: `Complete` or `Failed`.
        case finished(JobCondition)
        /// Deleted before it finished.
        case deleted
        /// A pod could not start its container for longer than the grace.
        case stuck(reason: String, message: String)
    }

    /// Whose the Job is.
    enum Claim: Sendable, Equatable {
        case mine
        /// Nobody's, or its holder's claim is stale.
        case free
        /// Another worker's; stale at `staleAt`, or never while the Job runs (its holder is
        /// following the logs).
        case heldElsewhere(staleAt: Date?)
    }

    static func decide(_ facts: JobFacts, _ settings: LifecycleSettings) -> Action {
        guard let job = facts.job else { return afterDeletion(facts, settings) }
        if job.annotations[JobMetadata.reported] != nil { return afterReport(job) }
        let end = ending(of: job, pods: facts.pods, now: facts.now, settings: settings)
        switch claim(of: job, endedAt: end?.at, now: facts.now, settings: settings) {
        case .free: return .claim
        case .heldElsewhere(let staleAt):
            return staleAt.map { .requeue(after: max(0.05, $0.timeIntervalSince(facts.now))) } ?? .wait
        case .mine: break
        }
        if let pod = nextArchive(facts) { return .archive(pod: pod) }
        guard let end else { return untilStuck(facts.pods, now: facts.now, settings: settings) }
        let renewIn = untilRenewal(job, endedAt: end.at, now: facts.now, settings: settings)
        if renewIn <= 0 { return .renewClaim }
        if end.ending == .deleted, job.annotations[JobMetadata.stopRequested] == nil { return .stopPods }
        if let wait = podsUnsettled(job, end: end, facts: facts, settings: settings) { return sooner(wait, renewIn) }
        if let wait = archivesPending(facts, pods: podsWithLogs(facts)) { return sooner(wait, renewIn) }
        guard facts.replied else { return .publish(reply(job: job, pods: facts.pods, ending: end.ending, facts: facts)) }
        return .release(delete: JobOutcome.finalCondition(of: job) == nil && job.metadata.deletionTimestamp == nil)
    }

    // MARK: - Rules

    /// SPEC §5.4: a Job is over when it has a final condition, was deleted unfinished, or a pod
    /// has been stuck longer than the grace; `at` is when, for the claim's staleness.
    static func ending(of job: Job, pods: [Pod], now: Date, settings: LifecycleSettings) -> (ending: Ending, at: Date)? {
        if let condition = JobOutcome.finalCondition(of: job) {
            let at = LogTimestamp.date(job.status?.completionTime) ?? LogTimestamp.date(condition.lastTransitionTime) ?? now
            return (.finished(condition), at)
        }
        if let deleted = job.metadata.deletionTimestamp { return (.deleted, LogTimestamp.date(deleted) ?? now) }
        for pod in pods {
            guard let reason = pod.stuckReason, let since = stuckSince(pod) else { continue }
            if now.timeIntervalSince(since) >= settings.stuckGrace {
                let message =
                    "pod \(pod.name) could not start its container for \(Int(settings.stuckGrace)) s: \(pod.containerState?.waiting?.message ?? "")"
                return (.stuck(reason: reason, message: message), since.addingTimeInterval(settings.stuckGrace))
            }
        }
        return nil
    }

    /// SPEC §5.4: the claim is a lease. Its holder keeps it while the Job runs (it follows the
    /// logs); once the Job has ended, the claim goes stale `claimTimeout` after the later of the
    /// end and its last renewal, and any worker may take it over.
    static func claim(of job: Job, endedAt: Date?, now: Date, settings: LifecycleSettings) -> Claim {
        guard let holder = job.annotations[JobMetadata.claimedBy], !holder.isEmpty else { return .free }
        if holder == settings.workerID { return .mine }
        guard let endedAt else { return .heldElsewhere(staleAt: nil) }
        let claimedAt = LogTimestamp.date(job.annotations[JobMetadata.claimedAt]) ?? .distantPast
        let staleAt = max(claimedAt, endedAt).addingTimeInterval(settings.claimTimeout)
        return now >= staleAt ? .free : .heldElsewhere(staleAt: staleAt)
    }

    /// SPEC §5.4: the holder renews its claim while it finishes, halfway to when it would go
    /// stale; and it speaks for the Job (publishes, releases) only while the claim is that
    /// fresh, so that nobody can have taken it over meanwhile. Seconds until then.
    static func untilRenewal(_ job: Job, endedAt: Date, now: Date, settings: LifecycleSettings) -> Double {
        let claimedAt = LogTimestamp.date(job.annotations[JobMetadata.claimedAt]) ?? .distantPast
        return max(claimedAt, endedAt).addingTimeInterval(settings.claimTimeout / 2).timeIntervalSince(now)
    }

    /// A wait that ends no later than `seconds` from now.
    static func sooner(_ action: Action, _ seconds: Double) -> Action {
        switch action {
        case .wait: .requeue(after: seconds)
        case .requeue(let after): .requeue(after: min(after, seconds))
        default: action
        }
    }

    /// SPEC §6: every pod whose container has started has its log archived while it runs; a
    /// failed archive is resumed when its retry is due.
    static func nextArchive(_ facts: JobFacts) -> String? {
        podsWithLogs(facts).first { pod in
            switch facts.archives[pod] {
            case nil: true
            case .retrying(_, let retryAt): retryAt <= facts.now
            case .running, .done, .gaveUp: false
            }
        }
    }

    /// Pods that have (or had) a log: their container started. Pods archived earlier and gone
    /// from the cache since still count.
    static func podsWithLogs(_ facts: JobFacts) -> [String] {
        let started = facts.pods.filter { $0.containerState?.running != nil || $0.containerState?.terminated != nil }.map(\.name)
        let gone = facts.archives.keys.filter { name in !facts.pods.contains { $0.name == name } }.sorted()
        return started + gone
    }

    /// SPEC §5.4: report only when every pod the Job's status counts is known terminated.
    /// The pod watch is given a moment to catch up, then the pods are listed directly; a pod
    /// still shown running long after the end is taken as it is. Nil when settled.
    static func podsUnsettled(_ job: Job, end: (ending: Ending, at: Date), facts: JobFacts, settings: LifecycleSettings) -> Action? {
        if case .stuck = end.ending { return nil }
        let terminated = Set(facts.pods.filter(\.isTerminated).map(\.name)).union(
            facts.archives.keys.filter { name in !facts.pods.contains { $0.name == name } })
        let counted = (job.status?.succeeded ?? 0) + (job.status?.failed ?? 0)
        let running = facts.pods.contains { !$0.isTerminated && $0.metadata.deletionTimestamp == nil }
        guard running || terminated.count < counted else { return nil }
        let waited = facts.now.timeIntervalSince(end.at)
        if end.ending == .deleted {
            // Being stopped: the pods' own events come; past the limit they are taken as they are.
            return waited < settings.podSettleLimit ? .requeue(after: settings.podSettleLimit - waited) : nil
        }
        if waited < settings.podCatchUp { return .requeue(after: settings.podCatchUp - waited) }
        if !facts.podsRefreshed { return .refreshPods }
        if waited < settings.podSettleLimit { return .requeue(after: min(2, settings.podSettleLimit - waited)) }
        return nil
    }

    /// Archives not yet settled: wait for the running ones (their end wakes the Job), or until a
    /// failed one is due again. Nil when every log is archived or given up.
    static func archivesPending(_ facts: JobFacts, pods: [String]) -> Action? {
        var nextRetry: Date?
        for pod in pods {
            switch facts.archives[pod] {
            case .running, nil: return .wait
            case .retrying(_, let retryAt): nextRetry = min(nextRetry ?? retryAt, retryAt)
            case .done, .gaveUp: continue
            }
        }
        return nextRetry.map { .requeue(after: max(0.05, $0.timeIntervalSince(facts.now))) }
    }

    /// A running Job: nothing to do but wait, or look again when a stuck pod's grace ends.
    static func untilStuck(_ pods: [Pod], now: Date, settings: LifecycleSettings) -> Action {
        let graceEnds = pods.compactMap { pod in pod.stuckReason == nil ? nil : stuckSince(pod) }.map {
            $0.addingTimeInterval(settings.stuckGrace).timeIntervalSince(now)
        }
        return graceEnds.min().map { .requeue(after: max(0.05, $0)) } ?? .wait
    }

    /// The release: the reported mark and the finalizer's removal, and for a finished Job the
    /// retention as its TTL (Kubernetes counts it from the Job's end), all in the one patch.
    /// An unfinished Job keeps its TTL: it is deleted instead.
    static func releasePatch(_ job: Job, _ settings: LifecycleSettings) -> JobPatch {
        JobPatch(
            annotations: [JobMetadata.reported: "true"],
            finalizers: (job.metadata.finalizers ?? []).filter { $0 != JobMetadata.reportFinalizer },
            ttlSecondsAfterFinished: JobOutcome.finalCondition(of: job) == nil ? nil : settings.finishedJobRetention)
    }

    /// After the reply: finish releasing the Job, delete it if it still runs, else wait for it
    /// to leave the cache, at the end of its retention: no timer, the TTL controller's deletion
    /// is the event (what this worker knows of it is kept until then, so that a late event
    /// showing it unreported cannot lead to a second reply).
    static func afterReport(_ job: Job) -> Action {
        let unfinished = JobOutcome.finalCondition(of: job) == nil && job.metadata.deletionTimestamp == nil
        if job.metadata.finalizers?.contains(JobMetadata.reportFinalizer) == true { return .release(delete: unfinished) }
        return unfinished ? .delete : .wait
    }

    /// A Job gone from the cache. If it went unreported (its finalizer removed by someone),
    /// its holder still sends the one reply it can: what it knows, with the logs it archived,
    /// once the archives still running have ended (their logs end with the Job gone).
    static func afterDeletion(_ facts: JobFacts, _ settings: LifecycleSettings) -> Action {
        guard let job = facts.tombstone, !facts.replied, job.annotations[JobMetadata.claimedBy] == settings.workerID
        else { return .forget }
        if facts.archives.values.contains(.running) { return .wait }
        let finished = JobOutcome.finalCondition(of: job).map(Ending.finished) ?? .deleted
        return .publish(reply(job: job, pods: facts.pods, ending: finished, facts: facts))
    }

    // MARK: - The reply

    /// SPEC §7: the Job's own outcome, with each log as archived; an archive problem shows in
    /// that log's entry and in `logsComplete`, never in the status.
    static func reply(job: Job, pods: [Pod], ending: Ending, facts: JobFacts) -> Reply {
        let logs = podsWithLogs(facts).compactMap { pod -> Reply.LogObject? in
            switch facts.archives[pod] {
            case .done(let log), .gaveUp(let log): log
            default: nil
            }
        }
        return Reply(job: job, outcome: outcome(job: job, pods: pods, ending: ending, now: facts.now), logs: logs)
    }

    /// The reply of a Job with a final condition, as its reporter sends it, with `logs` for the
    /// logs: what every replica's job pages show of a finished Job, the same as the reply.
    static func reply(ofFinished job: Job, pods: [Pod], logs: [Reply.LogObject], now: Date) -> Reply? {
        guard let condition = JobOutcome.finalCondition(of: job) else { return nil }
        return Reply(job: job, outcome: outcome(job: job, pods: pods, ending: .finished(condition), now: now), logs: logs)
    }

    /// How the Job ended, for its reply: its conditions and pods, or why it ended otherwise, and
    /// a cancel or a deletion while it ran, which its conditions do not show.
    static func outcome(job: Job, pods: [Pod], ending: Ending, now: Date) -> JobOutcome {
        var outcome: JobOutcome
        switch ending {
        case .finished:
            outcome =
                JobOutcome.evaluate(job: job, pods: pods)
                ?? JobOutcome(status: .failed, reason: "Failed", message: "", startedAt: job.status?.startTime)
        case .deleted:
            outcome = JobOutcome(status: .cancelled, reason: "Deleted", message: "", startedAt: job.status?.startTime)
        case .stuck(let reason, let message):
            outcome = JobOutcome(
                status: .failed, reason: reason, message: message,
                startedAt: job.status?.startTime, completedAt: now.formatted(.iso8601))
        }
        if let cancelledBy = job.annotations[JobMetadata.cancelledBy] {
            outcome.status = .cancelled
            outcome.reason = "Cancelled"
            outcome.message = "cancelled by request \(cancelledBy)"
        } else if deletedBeforeFinishing(job) {
            outcome.status = .cancelled
            outcome.reason = "Deleted"
            outcome.message = "the Job was deleted before it finished"
        }
        outcome.completedAt = outcome.completedAt ?? job.metadata.deletionTimestamp ?? now.formatted(.iso8601)
        return outcome
    }

    /// Whether the Job was deleted while it still ran (a deletion after the end changes nothing):
    /// this worker stopped its pods for it, or it ended after (timestamps are whole seconds).
    static func deletedBeforeFinishing(_ job: Job) -> Bool {
        guard let deleted = LogTimestamp.date(job.metadata.deletionTimestamp) else { return false }
        if job.annotations[JobMetadata.stopRequested] != nil { return true }
        guard let condition = JobOutcome.finalCondition(of: job), let finished = LogTimestamp.date(condition.lastTransitionTime) else {
            return true
        }
        return deleted <= finished
    }

    // MARK: - Helpers

    /// When a stuck pod started waiting, as far as its own record says.
    static func stuckSince(_ pod: Pod) -> Date? {
        LogTimestamp.date(pod.status?.startTime) ?? LogTimestamp.date(pod.metadata.creationTimestamp)
    }
}
