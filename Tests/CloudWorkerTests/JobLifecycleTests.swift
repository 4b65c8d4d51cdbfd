import Foundation
import Testing

@testable import CloudWorker
@testable import JobRunner

/// The lifecycle's decisions for the orderings of Job and Pod events that matter (SPEC §5).
@Suite struct JobLifecycleTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    static let settings = LifecycleSettings(workerID: "me", claimTimeout: 60, stuckGrace: 120)

    static func at(_ seconds: Double) -> Date { t0.addingTimeInterval(seconds) }
    static func iso(_ seconds: Double) -> String { at(seconds).formatted(.iso8601) }

    static func job(
        claimedBy: String? = "me", claimedAt: Double = 0, complete: Double? = nil, failed: (at: Double, reason: String)? = nil,
        succeeded: Int = 0, failedPods: Int = 0, deleted: Double? = nil, annotations: [String: String] = [:]
    ) -> Job {
        var notes = annotations
        notes[JobMetadata.requestID] = "req-1"
        notes[JobMetadata.requestedName] = "test-job"
        notes[JobMetadata.outputBucket] = "out"
        if let claimedBy {
            notes[JobMetadata.claimedBy] = claimedBy
            notes[JobMetadata.claimedAt] = iso(claimedAt)
        }
        var conditions: [JobCondition] = []
        if let complete {
            conditions.append(
                JobCondition(type: "Complete", status: "True", reason: "CompletionsReached", lastTransitionTime: iso(complete)))
        }
        if let failed {
            conditions.append(JobCondition(type: "Failed", status: "True", reason: failed.reason, lastTransitionTime: iso(failed.at)))
        }
        return Job(
            metadata: ObjectMeta(
                name: "test-job-1", namespace: "default", uid: "uid-1", resourceVersion: "7", deletionTimestamp: deleted.map(iso),
                finalizers: [JobMetadata.reportFinalizer], annotations: notes),
            spec: JobSpec(),
            status: JobStatus(
                conditions: conditions, startTime: iso(0), completionTime: complete.map(iso), succeeded: succeeded, failed: failedPods))
    }

    enum PodState { case creating, running, succeeded, failed, stuck }

    static func pod(_ state: PodState, name: String = "test-job-1-a", started: Double = 0) -> Pod {
        var container = ContainerState()
        var phase = "Running"
        switch state {
        case .creating:
            container.waiting = .init(reason: "ContainerCreating")
            phase = "Pending"
        case .running: container.running = .init(startedAt: iso(started))
        case .succeeded:
            container.terminated = .init(exitCode: 0, reason: "Completed", message: "done", startedAt: iso(started), finishedAt: iso(5))
            phase = "Succeeded"
        case .failed:
            container.terminated = .init(exitCode: 3, reason: "Error", startedAt: iso(started), finishedAt: iso(5))
            phase = "Failed"
        case .stuck:
            container.waiting = .init(reason: "ErrImagePull", message: "pull access denied")
            phase = "Pending"
        }
        return Pod(
            metadata: ObjectMeta(
                name: name, uid: "pod-\(name)", creationTimestamp: iso(started),
                labels: ["batch.kubernetes.io/job-name": "test-job-1", "batch.kubernetes.io/controller-uid": "uid-1"]),
            status: PodStatus(phase: phase, startTime: iso(started), containerStatuses: [ContainerStatus(name: "job", state: container)]))
    }

    static func log(_ pod: String = "test-job-1-a", complete: Bool = true) -> Reply.LogObject {
        Reply.LogObject(pod: pod, key: "logs/test-job-1/\(pod).log", bytes: 12, complete: complete, error: complete ? nil : "S3 away")
    }

    static func facts(
        _ job: Job?, pods: [Pod] = [], archives: [String: ArchiveState] = [:], replied: Bool = false, refreshed: Bool = false,
        now: Double, tombstone: Job? = nil
    ) -> JobFacts {
        JobFacts(job: job, tombstone: tombstone, pods: pods, archives: archives, replied: replied, podsRefreshed: refreshed, now: at(now))
    }

    static func decide(_ facts: JobFacts) -> JobLifecycle.Action { JobLifecycle.decide(facts, settings) }

    // MARK: - While the Job runs

    @Test func theHolderArchivesEachStartedPodThenWaits() {
        let job = Self.job()
        #expect(Self.decide(Self.facts(job, pods: [Self.pod(.creating)], now: 1)) == .wait)
        #expect(Self.decide(Self.facts(job, pods: [Self.pod(.running)], now: 2)) == .archive(pod: "test-job-1-a"))
        #expect(Self.decide(Self.facts(job, pods: [Self.pod(.running)], archives: ["test-job-1-a": .running], now: 3)) == .wait)
    }

    @Test func anUnclaimedJobIsClaimedAndAnotherHoldersRunningJobIsLeftAlone() {
        #expect(Self.decide(Self.facts(Self.job(claimedBy: nil), pods: [Self.pod(.running)], now: 1)) == .claim)
        // Never stale while it runs, however old the claim: its holder follows the logs.
        #expect(Self.decide(Self.facts(Self.job(claimedBy: "other"), pods: [Self.pod(.running)], now: 10_000)) == .wait)
    }

    // MARK: - The two failures seen in use

    /// The Job's `Complete` came while the pod watch still showed the pod `ContainerCreating`
    /// (`sleep 0`): reporting then sent `logs: []`. Now the pods are awaited, then listed.
    @Test func completeBeforeThePodIsSeenRunningWaitsForThePodAndArchivesItsLog() {
        let job = Self.job(complete: 1, succeeded: 1)
        let creating = [Self.pod(.creating)]
        #expect(Self.decide(Self.facts(job, pods: creating, now: 1.5)) == .requeue(after: 0.5))
        #expect(Self.decide(Self.facts(job, pods: creating, now: 2.5)) == .refreshPods)
        let listed = [Self.pod(.succeeded)]
        #expect(Self.decide(Self.facts(job, pods: listed, refreshed: true, now: 2.6)) == .archive(pod: "test-job-1-a"))
        let archived = ["test-job-1-a": ArchiveState.done(Self.log())]
        guard case .publish(let reply) = Self.decide(Self.facts(job, pods: listed, archives: archived, refreshed: true, now: 2.7)) else {
            Issue.record("expected a reply")
            return
        }
        #expect(reply.status == .succeeded)
        #expect(reply.logs == [Self.log()])
        #expect(reply.logsComplete == true)
    }

    /// A worker killed after its Job completed: the claim (by the dead process) was looked at
    /// only on a watch event, and a finished Job sends none. Now a timer brings it back when
    /// the claim goes stale, and it is taken over.
    @Test func aDeadHoldersClaimOnAFinishedJobIsTakenOverWhenStaleWithoutAnyEvent() {
        let job = Self.job(claimedBy: "dead-worker", claimedAt: 0, complete: 10, succeeded: 1)
        let pods = [Self.pod(.succeeded)]
        #expect(Self.decide(Self.facts(job, pods: pods, now: 20)) == .requeue(after: 50))
        #expect(Self.decide(Self.facts(job, pods: pods, now: 70)) == .claim)
    }

    // MARK: - Claims

    @Test func aClaimRenewedWhileFinishingIsNotStolen() {
        let renewed = Self.job(claimedBy: "other", claimedAt: 100, complete: 10, succeeded: 1)
        #expect(Self.decide(Self.facts(renewed, pods: [Self.pod(.succeeded)], now: 130)) == .requeue(after: 30))
    }

    @Test func theHolderRenewsItsClaimWhileASlowArchiveRuns() {
        let job = Self.job(complete: 10, succeeded: 1)
        let running = ["test-job-1-a": ArchiveState.running]
        // Its timer is set for the renewal, halfway to the claim going stale (end + 30 s).
        #expect(Self.decide(Self.facts(job, pods: [Self.pod(.succeeded)], archives: running, now: 20)) == .requeue(after: 20))
        #expect(Self.decide(Self.facts(job, pods: [Self.pod(.succeeded)], archives: running, now: 45)) == .renewClaim)
        // Nor does it publish on a claim that old: it renews first.
        let done = ["test-job-1-a": ArchiveState.done(Self.log())]
        #expect(Self.decide(Self.facts(job, pods: [Self.pod(.succeeded)], archives: done, now: 45)) == .renewClaim)
    }

    // MARK: - Deletion, cancellation

    @Test func aJobDeletedWhileItRunsHasItsPodsStoppedThenReportsCancelledWithItsLog() {
        let deleted = Self.job(deleted: 5)
        let running = [Self.pod(.running)]
        let archiving = ["test-job-1-a": ArchiveState.running]
        #expect(Self.decide(Self.facts(deleted, pods: running, archives: archiving, now: 5.1)) == .stopPods)
        let stopping = Self.job(deleted: 5, annotations: [JobMetadata.stopRequested: Self.iso(5.1)])
        #expect(Self.decide(Self.facts(stopping, pods: running, archives: archiving, now: 6)) == .requeue(after: 29))
        let failed = Self.job(
            failed: (7, "DeadlineExceeded"), failedPods: 1, deleted: 5, annotations: [JobMetadata.stopRequested: Self.iso(5.1)])
        let done = ["test-job-1-a": ArchiveState.done(Self.log())]
        guard case .publish(let reply) = Self.decide(Self.facts(failed, pods: [Self.pod(.failed)], archives: done, now: 8)) else {
            Issue.record("expected a reply")
            return
        }
        #expect(reply.status == .cancelled)
        #expect(reply.reason == "Deleted")
        #expect(reply.logs == [Self.log()])
    }

    @Test func aDeletionAfterTheEndChangesNothing() {
        let job = Self.job(complete: 5, succeeded: 1, deleted: 9)
        let done = ["test-job-1-a": ArchiveState.done(Self.log())]
        guard case .publish(let reply) = Self.decide(Self.facts(job, pods: [Self.pod(.succeeded)], archives: done, now: 10)) else {
            Issue.record("expected a reply")
            return
        }
        #expect(reply.status == .succeeded)
    }

    @Test func aCancelledJobIsReportedCancelledByTheCancelRequest() {
        let job = Self.job(failed: (3, "DeadlineExceeded"), failedPods: 1, annotations: [JobMetadata.cancelledBy: "cancel-7"])
        let done = ["test-job-1-a": ArchiveState.done(Self.log())]
        guard case .publish(let reply) = Self.decide(Self.facts(job, pods: [Self.pod(.failed)], archives: done, now: 4)) else {
            Issue.record("expected a reply")
            return
        }
        #expect(reply.status == .cancelled)
        #expect(reply.reason == "Cancelled")
        #expect(reply.message == "cancelled by request cancel-7")
    }

    @Test func aJobGoneFromTheCacheDuringAClaimIsReportedOnceByItsHolderOnly() {
        let tombstone = Self.job(deleted: 3)
        let done = ["test-job-1-a": ArchiveState.done(Self.log())]
        guard case .publish(let reply) = Self.decide(Self.facts(nil, archives: done, now: 4, tombstone: tombstone)) else {
            Issue.record("expected a reply")
            return
        }
        #expect(reply.status == .cancelled)
        #expect(Self.decide(Self.facts(nil, archives: done, replied: true, now: 5, tombstone: tombstone)) == .forget)
        #expect(Self.decide(Self.facts(nil, now: 4, tombstone: Self.job(claimedBy: "other", deleted: 3))) == .forget)
        #expect(Self.decide(Self.facts(nil, now: 4)) == .forget)
    }

    @Test func aJobGoneFromTheCacheWhileItsLogIsArchivedIsReportedOnceTheArchiveEnds() {
        let tombstone = Self.job(deleted: 3)
        let pods = [Self.pod(.running)]
        #expect(Self.decide(Self.facts(nil, pods: pods, archives: ["test-job-1-a": .running], now: 4, tombstone: tombstone)) == .wait)
        let done = ["test-job-1-a": ArchiveState.done(Self.log())]
        guard case .publish(let reply) = Self.decide(Self.facts(nil, pods: pods, archives: done, now: 5, tombstone: tombstone)) else {
            Issue.record("expected a reply")
            return
        }
        #expect(reply.logs?.map(\.pod) == ["test-job-1-a"])
    }

    // MARK: - Pods

    @Test func aPodDeletedMidArchiveIsStillWaitedForAndReported() {
        let job = Self.job(failed: (6, "BackoffLimitExceeded"), failedPods: 1)
        let running = ["test-job-1-a": ArchiveState.running]
        #expect(Self.decide(Self.facts(job, pods: [], archives: running, now: 7)) == .requeue(after: 29))
        let done = ["test-job-1-a": ArchiveState.done(Self.log(complete: false))]
        guard case .publish(let reply) = Self.decide(Self.facts(job, pods: [], archives: done, now: 8)) else {
            Issue.record("expected a reply")
            return
        }
        #expect(reply.status == .failed)
        #expect(reply.logs?.map(\.pod) == ["test-job-1-a"])
        #expect(reply.logsComplete == false)
    }

    @Test func aPodOnALostNodeCountsAsTerminated() {
        var lost = Self.pod(.running)
        lost.status?.phase = "Failed"
        lost.status?.reason = "NodeLost"
        let job = Self.job(failed: (9, "BackoffLimitExceeded"), failedPods: 1)
        let done = ["test-job-1-a": ArchiveState.done(Self.log(complete: false))]
        guard case .publish(let reply) = Self.decide(Self.facts(job, pods: [lost], archives: done, now: 10)) else {
            Issue.record("expected a reply")
            return
        }
        #expect(reply.status == .failed)
    }

    @Test func aPodTheJobCountsButNobodyHasSeenIsListedThenTakenAsGone() {
        let job = Self.job(claimedAt: 38, complete: 1, succeeded: 2)
        let one = [Self.pod(.succeeded)]
        let done = ["test-job-1-a": ArchiveState.done(Self.log())]
        #expect(Self.decide(Self.facts(job, pods: one, archives: done, now: 3)) == .refreshPods)
        #expect(Self.decide(Self.facts(job, pods: one, archives: done, refreshed: true, now: 4)) == .requeue(after: 2))
        guard case .publish = Self.decide(Self.facts(job, pods: one, archives: done, refreshed: true, now: 40)) else {
            Issue.record("expected a reply once the settle limit passed")
            return
        }
    }

    @Test func aStuckPodFailsTheJobAfterTheGraceAndTheJobIsDeleted() {
        let job = Self.job()
        let stuck = [Self.pod(.stuck, started: 0)]
        #expect(Self.decide(Self.facts(job, pods: stuck, now: 20)) == .requeue(after: 100))
        guard case .publish(let reply) = Self.decide(Self.facts(job, pods: stuck, now: 121)) else {
            Issue.record("expected a reply")
            return
        }
        #expect(reply.status == .failed)
        #expect(reply.reason == "ErrImagePull")
        #expect(reply.logs == [])
        #expect(Self.decide(Self.facts(job, pods: stuck, replied: true, now: 122)) == .release(delete: true))
    }

    // MARK: - Archives

    @Test func aFailedArchiveIsResumedWhenDueAndGivingUpNeverChangesTheStatus() {
        let job = Self.job(complete: 5, succeeded: 1)
        let pods = [Self.pod(.succeeded)]
        let retrying = ["test-job-1-a": ArchiveState.retrying(error: "S3 away", retryAt: Self.at(12))]
        #expect(Self.decide(Self.facts(job, pods: pods, archives: retrying, now: 10)) == .requeue(after: 2))
        #expect(Self.decide(Self.facts(job, pods: pods, archives: retrying, now: 12)) == .archive(pod: "test-job-1-a"))
        let gaveUp = ["test-job-1-a": ArchiveState.gaveUp(Self.log(complete: false))]
        let renewed = Self.job(claimedAt: 690, complete: 5, succeeded: 1)
        guard case .publish(let reply) = Self.decide(Self.facts(renewed, pods: pods, archives: gaveUp, now: 700)) else {
            Issue.record("expected a reply")
            return
        }
        #expect(reply.status == .succeeded)
        #expect(reply.logsComplete == false)
        #expect(reply.logs?.first?.error == "S3 away")
    }

    // MARK: - After the reply

    @Test func afterTheReplyTheJobIsReleasedThenForgottenOnceItLeavesTheCache() {
        let job = Self.job(complete: 5, succeeded: 1)
        let done = ["test-job-1-a": ArchiveState.done(Self.log())]
        #expect(
            Self.decide(Self.facts(job, pods: [Self.pod(.succeeded)], archives: done, replied: true, now: 6)) == .release(delete: false))
        var released = Self.job(complete: 5, succeeded: 1, annotations: [JobMetadata.reported: "true"])
        released.metadata.finalizers = nil
        #expect(Self.decide(Self.facts(released, replied: true, now: 7)) == .wait)
        // A late event still showing it unreported: released again, never a second reply.
        #expect(
            Self.decide(
                Self.facts(Self.job(complete: 5, succeeded: 1), pods: [Self.pod(.succeeded)], archives: done, replied: true, now: 8))
                == .release(delete: false))
        #expect(Self.decide(Self.facts(nil, replied: true, now: 9)) == .forget)
        #expect(
            Self.decide(Self.facts(Self.job(complete: 5, annotations: [JobMetadata.reported: "true"]), now: 7)) == .release(delete: false))
    }

    // MARK: - Retention after the reply

    @Test func theReleaseGivesAFinishedJobTheRetentionAsItsTTLInTheOnePatch() {
        var settings = Self.settings
        settings.finishedJobRetention = 600
        var job = Self.job(complete: 5, succeeded: 1)
        job.metadata.finalizers = ["example.com/other", JobMetadata.reportFinalizer]
        let patch = JobLifecycle.releasePatch(job, settings)
        #expect(patch.ttlSecondsAfterFinished == 600)
        #expect(patch.finalizers == ["example.com/other"])
        #expect(patch.annotations == [JobMetadata.reported: "true"])
        #expect(patch.activeDeadlineSeconds == nil)
        settings.finishedJobRetention = 0
        #expect(JobLifecycle.releasePatch(job, settings).ttlSecondsAfterFinished == 0)
    }

    @Test func anUnfinishedJobKeepsItsTTLWhenReleased() {
        var settings = Self.settings
        settings.finishedJobRetention = 600
        let stuck = JobLifecycle.releasePatch(Self.job(), settings)
        #expect(stuck.ttlSecondsAfterFinished == nil)
        #expect(stuck.finalizers == [])
    }

    /// A reported Job stays in the cache for the retention: nothing more is done for it, and no
    /// timer is set, by its holder or any other replica, until its TTL removes it.
    @Test func aRetainedReportedJobNeedsNoWorkUntilItsTTLRemovesIt() {
        var reported = Self.job(complete: 5, succeeded: 1, annotations: [JobMetadata.reported: "true"])
        reported.metadata.finalizers = nil
        let done = ["test-job-1-a": ArchiveState.done(Self.log())]
        for now in [6.0, 60, 599, 10_000] {
            #expect(Self.decide(Self.facts(reported, pods: [Self.pod(.succeeded)], archives: done, replied: true, now: now)) == .wait)
            // Another replica, which neither holds nor replied to it.
            #expect(Self.decide(Self.facts(reported, pods: [Self.pod(.succeeded)], now: now)) == .wait)
        }
        var otherHolder = reported
        otherHolder.metadata.annotations?[JobMetadata.claimedBy] = "other"
        #expect(Self.decide(Self.facts(otherHolder, pods: [Self.pod(.succeeded)], now: 10_000)) == .wait)
        // Its pods go first, then the Job: each leaves nothing behind.
        #expect(Self.decide(Self.facts(reported, archives: done, replied: true, now: 605)) == .wait)
        #expect(Self.decide(Self.facts(nil, archives: done, replied: true, now: 605)) == .forget)
        #expect(Self.decide(Self.facts(nil, now: 605)) == .forget)
    }

    /// What every replica's job pages show of a finished Job is what its reporter sent.
    @Test func theReplyOfAFinishedJobIsTheOneItsReporterSends() {
        let job = Self.job(complete: 5, succeeded: 1, annotations: [JobMetadata.reported: "true"])
        let pods = [Self.pod(.succeeded)]
        let archives = ["test-job-1-a": ArchiveState.done(Self.log())]
        let sent = JobLifecycle.reply(
            job: job, pods: pods, ending: .finished(JobOutcome.finalCondition(of: job)!),
            facts: Self.facts(job, pods: pods, archives: archives, replied: true, now: 6))
        #expect(JobLifecycle.reply(ofFinished: job, pods: pods, logs: [Self.log()], now: Self.at(700)) == sent)
        #expect(JobLifecycle.reply(ofFinished: Self.job(), pods: [Self.pod(.running)], logs: [], now: Self.at(700)) == nil)

        let cancelled = Self.job(
            failed: (5, "DeadlineExceeded"), failedPods: 1, annotations: [JobMetadata.cancelledBy: "req-2", JobMetadata.reported: "true"])
        let reply = JobLifecycle.reply(ofFinished: cancelled, pods: [Self.pod(.failed)], logs: [], now: Self.at(700))
        #expect(reply?.status == .cancelled)
        #expect(reply?.reason == "Cancelled")
        #expect(reply?.message == "cancelled by request req-2")
        #expect(reply?.exitCode == 3)
    }

    @Test func anActionNeedsTheJobItWasDecidedFrom() throws {
        let job = Self.job()
        #expect(try Self.facts(job, now: 1).cached().name == job.name)
        #expect(throws: LifecycleFault.self) { try Self.facts(nil, now: 1, tombstone: job).cached() }
        #expect(try Self.facts(nil, now: 1, tombstone: job).cached(orTombstone: true).name == job.name)
        #expect(throws: LifecycleFault.self) { try Self.facts(nil, now: 1).cached(orTombstone: true) }
    }
}
