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
        let started = job.status?.startTime.flatMap { try? Date($0, strategy: .iso8601) }
        let elapsed = started.map { Int(now.timeIntervalSince($0).rounded(.down)) } ?? 0
        return JobPatch(annotations: annotations, activeDeadlineSeconds: max(1, elapsed))
    }

    func mergePatch(resourceVersion: String?) throws -> [UInt8] {
        var metadata: [String: Any] = [:]
        if !annotations.isEmpty { metadata["annotations"] = annotations.mapValues { $0 ?? NSNull() as Any } }
        if let finalizers { metadata["finalizers"] = finalizers.isEmpty ? NSNull() : finalizers }
        if let resourceVersion { metadata["resourceVersion"] = resourceVersion }
        var spec: [String: Any] = [:]
        if let activeDeadlineSeconds { spec["activeDeadlineSeconds"] = activeDeadlineSeconds }
        if let ttlSecondsAfterFinished { spec["ttlSecondsAfterFinished"] = ttlSecondsAfterFinished }
        var patch: [String: Any] = [:]
        if !metadata.isEmpty { patch["metadata"] = metadata }
        if !spec.isEmpty { patch["spec"] = spec }
        return [UInt8](try JSONSerialization.data(withJSONObject: patch, options: [.sortedKeys]))
    }
}
