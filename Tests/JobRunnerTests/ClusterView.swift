import Foundation
import Logging

@testable import JobRunner

/// What the two shared watches (Jobs and Pods of one test run) have shown so far, and each
/// pod's log followed while it runs, as the worker does it.
actor ClusterView {
    private(set) var jobs: [String: Job] = [:]
    private(set) var pods: [String: Pod] = [:]
    private(set) var deletedPods: Set<String> = []
    private var logs: [String: Task<(text: [UInt8], resumes: Int), Error>] = [:]
    private var watches: [Task<Void, Never>] = []
    private let client: KubernetesClient

    init(client: KubernetesClient) {
        self.client = client
    }

    /// Starts one list-then-watch for Jobs and one for Pods, both selected by `selector`.
    func start(selector: String) {
        let logger = Logger(label: "cluster-view")
        let jobWatcher = ResourceWatcher<Job>(client: client, labelSelector: selector, logger: logger)
        let podWatcher = ResourceWatcher<Pod>(client: client, labelSelector: selector, logger: logger)
        watches = [
            Task { await jobWatcher.run { await self.apply($0) } },
            Task { await podWatcher.run { await self.apply($0) } },
        ]
    }

    func stop() {
        watches.forEach { $0.cancel() }
        logs.values.forEach { $0.cancel() }
    }

    private func apply(_ event: WatchEvent<Job>) {
        switch event {
        case .listed(let all): jobs = Dictionary(all.map { ($0.name, $0) }, uniquingKeysWith: { $1 })
        case .current(let job): jobs[job.name] = job
        case .deleted(let job): jobs[job.name] = nil
        }
    }

    private func apply(_ event: WatchEvent<Pod>) {
        switch event {
        case .listed(let all):
            all.forEach { apply(.current($0)) }
        case .current(let pod):
            pods[pod.name] = pod
            if logs[pod.name] == nil, let state = pod.containerState, state.running != nil || state.terminated != nil {
                follow(pod.name)
            }
        case .deleted(let pod):
            pods[pod.name] = pod
            deletedPods.insert(pod.name)
        }
    }

    private func follow(_ pod: String) {
        let follower = PodLogFollower(client: client, pod: pod) { await self.hasEnded(pod) }
        logs[pod] = Task {
            var text: [UInt8] = []
            while let chunk = try await follower.nextLines() { text += chunk }
            return (text, follower.resumes)
        }
    }

    private func hasEnded(_ pod: String) -> Bool {
        deletedPods.contains(pod) || pods[pod]?.isTerminated == true
    }

    func job(_ name: String) -> Job? { jobs[name] }

    func pods(of job: String) -> [Pod] {
        pods.values.filter { $0.jobName == job }.sorted { $0.name < $1.name }
    }

    /// The pod's whole log, once its container has ended.
    func log(of pod: String) async throws -> String {
        guard let task = logs[pod] else { return "" }
        return String(decoding: try await task.value.text, as: UTF8.self)
    }

    /// Waits (polling what the watches delivered) until `condition` holds.
    func wait(_ what: String, timeout: Double = 60, until condition: @Sendable (isolated ClusterView) -> Bool) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition(self) {
            guard Date() < deadline else { throw SimulatorError("timed out after \(Int(timeout)) s waiting for \(what)") }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
    }

    /// Waits for the Job's final condition, every pod it counted and their logs; returns its outcome.
    func finish(_ name: String, timeout: Double = 60) async throws -> (job: Job, outcome: JobOutcome, pods: [Pod]) {
        try await wait("job \(name) to finish", timeout: timeout) { view in
            view.jobs[name].map { JobOutcome.finalCondition(of: $0) != nil } ?? false
        }
        let job = jobs[name]!
        // The pod watch is a separate stream and may lag the Job's: wait until it has shown every
        // pod the Job counted, each ended.
        let counted = (job.status?.succeeded ?? 0) + (job.status?.failed ?? 0)
        try await wait("the pods of \(name) to end", timeout: timeout) { view in
            let seen = view.pods(of: name)
            return seen.count >= counted && seen.allSatisfy { view.hasEnded($0.name) }
        }
        let jobPods = pods(of: name)
        for pod in jobPods { _ = try await logs[pod.name]?.value }
        return (job, JobOutcome.evaluate(job: job, pods: jobPods)!, jobPods)
    }
}

/// A Job of the test run `run`: `script` run by `sh -c` in busybox unless told otherwise.
func testJob(
    run: String, script: String, image: String = "busybox:latest", deadline: Int = 120, backoffLimit: Int = 0,
    tasks: [String] = [], parallelism: Int? = nil
) -> JobSpecification {
    JobSpecification(
        name: "t-\(UUID().uuidString.prefix(8).lowercased())", labels: ["test-run": run], annotations: ["test": "simulator"],
        image: image, command: ["sh", "-c", script], activeDeadlineSeconds: deadline, backoffLimit: backoffLimit,
        ttlSecondsAfterFinished: 600, tasks: tasks, parallelism: parallelism)
}

/// Creates the Job and, for a fan-out, its task ConfigMap owned by it.
@discardableResult
func create(_ spec: JobSpecification, on client: KubernetesClient) async throws -> Job {
    let job = try await client.createJob(JobManifest.json(spec))
    if let configMap = JobManifest.taskConfigMap(spec, ownerUID: job.metadata.uid ?? "") {
        try await client.createConfigMap(configMap)
    }
    return job
}
