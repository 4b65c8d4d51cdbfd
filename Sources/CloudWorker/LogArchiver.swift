import Foundation
import JobRunner
import Logging
import ObjectStore
import RequestValidation

/// Copies pod logs into the output bucket while the pods run, streaming in constant memory.
struct LogArchiver: Sendable {
    let kubernetes: KubernetesClient
    let store: S3Client
    /// `logs/{job}/{pod}.log` by default; `{prefix}` and `{jobName}` are also known.
    let keyTemplate: String

    func key(job: String, pod: String, requestedName: String, prefix: String?) -> String {
        LogKeyTemplate(keyTemplate).render(job: job, pod: pod, requestedName: requestedName, prefix: prefix)
    }

    /// Follows one pod's log to its end and stores it; returns its size.
    func archive(pod: String, bucket: String, key: String, hasTerminated: @escaping @Sendable () async -> Bool) async throws -> Int {
        let follower = PodLogFollower(client: kubernetes, pod: pod, hasTerminated: hasTerminated)
        defer { follower.cancel() }
        return try await store.upload(bucket: bucket, key: key, contentType: "text/plain; charset=utf-8") {
            try await follower.next()
        }
    }
}
