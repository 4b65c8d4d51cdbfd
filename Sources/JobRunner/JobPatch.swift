import Foundation

/// The changes the worker makes to its Jobs, sent as a JSON merge patch.
public struct JobPatch: Sendable, Equatable {
    /// Annotations to set; a nil value removes one.
    public var annotations: [String: String?] = [:]
    /// The whole new list of finalizers (a merge patch replaces lists); nil leaves it alone.
    public var finalizers: [String]?
    public var activeDeadlineSeconds: Int?
    public var ttlSecondsAfterFinished: Int?

    public init(
        annotations: [String: String?] = [:], finalizers: [String]? = nil, activeDeadlineSeconds: Int? = nil,
        ttlSecondsAfterFinished: Int? = nil
    ) {
        self.annotations = annotations
        self.finalizers = finalizers
        self.activeDeadlineSeconds = activeDeadlineSeconds
        self.ttlSecondsAfterFinished = ttlSecondsAfterFinished
    }

    /// Stops a Job's pods now: an active deadline that has already passed makes the Job
    /// controller fail the Job (`DeadlineExceeded`) and stop its pods, as Kubernetes itself
    /// would, so that their logs end and the usual path reports it.
    public static func stop(job: Job, now: Date, annotations: [String: String?]) -> JobPatch {
        let started = LogTimestamp.date(job.status?.startTime)
        let elapsed = started.map { Int(now.timeIntervalSince($0).rounded(.down)) } ?? 0
        return JobPatch(annotations: annotations, activeDeadlineSeconds: max(1, elapsed))
    }

    /// The patch's JSON, members in sorted key order; a nil annotation and an empty list of
    /// finalizers are written as null, which removes them.
    public func mergePatch(resourceVersion: String?) -> [UInt8] {
        var json = JSONWriter(capacity: 256)
        json.object {
            if !annotations.isEmpty || finalizers != nil || resourceVersion != nil {
                $0.object("metadata") { writeMetadata(resourceVersion: resourceVersion, to: &$0) }
            }
            if activeDeadlineSeconds != nil || ttlSecondsAfterFinished != nil {
                $0.object("spec") {
                    if let activeDeadlineSeconds { $0.member("activeDeadlineSeconds", activeDeadlineSeconds) }
                    if let ttlSecondsAfterFinished { $0.member("ttlSecondsAfterFinished", ttlSecondsAfterFinished) }
                }
            }
        }
        return json.bytes
    }

    private func writeMetadata(resourceVersion: String?, to json: inout JSONWriter) {
        if !annotations.isEmpty {
            json.object("annotations") {
                for (name, value) in annotations.sorted(by: { $0.key < $1.key }) {
                    $0.key(name)
                    if let value { $0.string(value) } else { $0.null() }
                }
            }
        }
        if let finalizers {
            json.key("finalizers")
            if finalizers.isEmpty { json.null() } else { json.strings(finalizers) }
        }
        if let resourceVersion { json.member("resourceVersion", resourceVersion) }
    }
}
