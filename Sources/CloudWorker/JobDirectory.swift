import Foundation
import JobRunner
import ObjectStore

/// What the status pages and API know of requests: the Jobs of the shared cache (the same on
/// every replica), with links to their archived logs, and what this replica remembers of the
/// requests whose Jobs are gone.
struct JobDirectory: Sendable {
    /// A Job with what its detail page shows beyond the list.
    struct Detail: Encodable, Sendable {
        struct Log: Encodable, Sendable {
            var pod: String
            var key: String
            /// A presigned GET of the archived log.
            var url: String
        }

        var job: JobView
        /// The request as the Job's annotations record it.
        var request: [String: String]
        /// The reply, rebuilt from the Job and its archived logs, once the Job has ended.
        var reply: Reply?
        var logs: [Log]
    }

    static let linkLifetimeSeconds = 3600

    let reconciler: JobReconciler
    let board: JobBoard
    let store: S3Client
    let archiver: LogArchiver

    /// Newest first, filtered by state and by part of a name.
    func jobs(state: String?, name: String?) async -> [JobView] {
        await reconciler.snapshot().map { view($0.job, $0.pods) }.filter { $0.matches(state: state, name: name) }
            .sorted { ($0.createdAt ?? "", $0.k8sJob) > ($1.createdAt ?? "", $1.k8sJob) }
    }

    /// Requests this replica replied to whose Jobs are gone (a reported Job is deleted at once),
    /// and those it rejected: its own memory, newest first, filtered as `jobs`.
    func ended(state: String?, name: String?, excluding shown: [JobView]) -> [JobBoard.Entry] {
        let requests = Set(shown.map(\.requestId))
        return board.recent().filter { entry in
            guard !requests.contains(entry.requestId), entry.state != "running" else { return false }
            if let state, !state.isEmpty, entry.state != state { return false }
            guard let name, !name.isEmpty else { return true }
            return [entry.requestId, entry.jobName ?? "", entry.k8sJob ?? ""].contains { $0.localizedCaseInsensitiveContains(name) }
        }
    }

    /// The Job named `name` (Kubernetes name), or nil if the cache has none.
    func detail(_ name: String) async -> Detail? {
        guard let (job, pods) = await reconciler.snapshot().first(where: { $0.job.name == name }) else { return nil }
        let view = view(job, pods)
        let bucket = view.outputBucket ?? ""
        let logs = view.pods.map { pod in
            Detail.Log(
                pod: pod.name, key: pod.logKey,
                url: store.presignedURL(bucket: bucket, key: pod.logKey, expires: Self.linkLifetimeSeconds))
        }
        var reply: Reply?
        if let outcome = JobOutcome.evaluate(job: job, pods: pods) {
            var archived: [Reply.LogObject] = []
            for log in logs {
                let info = try? await store.headObject(bucket: bucket, key: log.key)
                archived.append(
                    Reply.LogObject(
                        pod: log.pod, key: log.key, bytes: info?.size ?? 0, complete: info != nil,
                        error: info == nil ? "not archived" : nil))
            }
            var rebuilt = Reply(job: job, outcome: outcome, logs: archived)
            // A cancel shows in the annotations, not in the Job's conditions.
            rebuilt.status = Reply.Status(rawValue: view.state) ?? rebuilt.status
            reply = rebuilt
        }
        let request = job.annotations.filter { $0.key.hasPrefix("cloud-worker.io/") }
        return Detail(job: view, request: request, reply: reply, logs: logs)
    }

    private func view(_ job: Job, _ pods: [Pod]) -> JobView {
        JobView(job: job, pods: pods) { pod in
            archiver.key(
                job: job.name, pod: pod.name, requestedName: job.annotations[JobMetadata.requestedName] ?? job.name,
                prefix: job.annotations[JobMetadata.filePrefix])
        }
    }
}
