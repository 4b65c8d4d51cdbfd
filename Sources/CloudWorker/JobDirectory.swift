import Foundation
import JobRunner
import ObjectStore

/// What the status pages and API know of requests: the Jobs of the shared cache, running and
/// finished (the same on every replica), with links to their archived logs, and the requests
/// this replica rejected, which never had a Job.
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
    let rejections: RejectedRequests
    let store: S3Client
    let archiver: LogArchiver

    /// Newest first, filtered by state and by part of a name.
    func jobs(state: String?, name: String?) async -> [JobView] {
        await reconciler.snapshot().map { view($0.job, $0.pods) }.filter { $0.matches(state: state, name: name) }
            .sorted { ($0.createdAt ?? "", $0.k8sJob) > ($1.createdAt ?? "", $1.k8sJob) }
    }

    /// The requests this replica rejected, newest first, filtered as `jobs`.
    func rejected(state: String?, name: String?) -> [RejectedRequests.Entry] {
        if let state, !state.isEmpty, state != Reply.Status.rejected.rawValue { return [] }
        return rejections.recent(name: name)
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
        var archived: [Reply.LogObject] = []
        if JobOutcome.finalCondition(of: job) != nil {
            // The logs the reply lists: those of the pods whose container started.
            for (log, pod) in zip(logs, pods) where pod.containerState?.running != nil || pod.containerState?.terminated != nil {
                let info = try? await store.headObject(bucket: bucket, key: log.key)
                archived.append(
                    Reply.LogObject(
                        pod: log.pod, key: log.key, bytes: info?.size ?? 0, complete: info != nil,
                        error: info == nil ? "not archived" : nil))
            }
        }
        let reply = JobLifecycle.reply(ofFinished: job, pods: pods, logs: archived, now: Date())
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
