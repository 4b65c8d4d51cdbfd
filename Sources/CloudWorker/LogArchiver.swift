import Foundation
import JobRunner
import Logging
import ObjectStore
import RequestValidation

/// Copies a pod's log into the output bucket while the pod runs, in constant memory, and
/// carries on from where an earlier archive of it stopped (in this process or another): the
/// upload's checkpoint holds the log position its bytes reach.
struct LogArchiver: Sendable {
    let kubernetes: KubernetesClient
    let store: S3Client
    /// `logs/{job}/{pod}.log` by default; `{prefix}` and `{jobName}` are also known.
    let keyTemplate: String

    /// The log position saved with an upload's checkpoint.
    private struct Marker: Codable {
        var position: LogPosition?
        /// Saved at the end of a rotated file: the next lines rightly start after it.
        var atCut: Bool
    }

    func key(job: String, pod: String, requestedName: String, prefix: String?) -> String {
        LogKeyTemplate(keyTemplate).render(job: job, pod: pod, requestedName: requestedName, prefix: prefix)
    }

    /// Follows one pod's log to its end and stores it.
    /// - Parameters:
    ///   - resume: whether an earlier archive of this log may have begun (this process's own,
    ///     or another's); false saves looking for its checkpoint.
    ///   - hasEnded: whether the pod's log can grow no more; asked when a stream ends.
    func archive(
        pod: String, bucket: String, key: String, resume: Bool, hasEnded: @escaping @Sendable () async -> Bool
    ) async throws -> Reply.LogObject {
        let contentType = "text/plain; charset=utf-8"
        let (upload, saved) =
            resume
            ? try await ResumableUpload.open(client: store, bucket: bucket, key: key, contentType: contentType)
            : (ResumableUpload.start(client: store, bucket: bucket, key: key, contentType: contentType), nil)
        let marker = saved.flatMap { try? JSONDecoder().decode(Marker.self, from: Data($0.utf8)) }
        let follower = PodLogFollower(
            client: kubernetes, pod: pod, from: marker?.position, positionIsAtCut: marker?.atCut ?? false, hasTerminated: hasEnded)
        defer { follower.cancel() }
        var afterCut = false
        while let piece = try await follower.next() {
            switch piece {
            case .lines(let lines):
                try await upload.append(lines, marker: Self.encode(Marker(position: follower.position, atCut: false)))
                if afterCut {
                    // Saved again once the new file has shown its first lines: a restart then
                    // expects to see them again, and can tell if the kubelet rotated meanwhile.
                    afterCut = false
                    try await upload.checkpoint(marker: Self.encode(Marker(position: follower.position, atCut: false)))
                }
            case .cut:
                // The kubelet rotated the file (or the stream broke): save what is held, so that a
                // restart finds it even once the rotated file is gone.
                if upload.size > 0 {
                    try await upload.checkpoint(marker: Self.encode(Marker(position: follower.position, atCut: true)))
                    afterCut = true
                }
            }
        }
        let size = try await upload.finish()
        let gap = follower.gapDetected ? "some lines were rotated away by the kubelet before they could be read" : nil
        return Reply.LogObject(pod: pod, key: key, bytes: size, complete: gap == nil, error: gap)
    }

    private static func encode(_ marker: Marker) -> String {
        (try? String(decoding: JSONEncoder().encode(marker), as: UTF8.self)) ?? "{}"
    }
}
