import JobRunner

/// The two watches' view of this deployment's Jobs and their pods: exactly what the API server
/// has, nothing more, so it is bounded by the Jobs that exist. Each change names the Job keys
/// it concerns; the reconciler queues them.
struct JobCache: Sendable {
    private(set) var jobs: [String: Job] = [:]
    private var pods: [String: Pod] = [:]
    private var podsByJobUID: [String: Set<String>] = [:]
    /// Jobs that left the cache unreported, until the reconciler has looked at them once.
    private(set) var tombstones: [String: Job] = [:]
    /// Whether each watch has delivered its first list: until then the view is partial.
    private(set) var jobsListed = false
    private(set) var podsListed = false

    var isSynced: Bool { jobsListed && podsListed }
    var podCount: Int { pods.count }
    /// Cached Jobs without a final condition, kept up to date by `set` rather than counted on
    /// every event: with many Jobs in flight, the work per event stays the same.
    private(set) var unfinishedCount = 0

    /// The pods of `job` (by its uid: names are reused), oldest first.
    func pods(of job: Job) -> [Pod] {
        guard let uid = job.metadata.uid else { return [] }
        return (podsByJobUID[uid] ?? []).compactMap { pods[$0] }.sorted {
            ($0.metadata.creationTimestamp ?? "", $0.name) < ($1.metadata.creationTimestamp ?? "", $1.name)
        }
    }

    func pod(_ name: String) -> Pod? { pods[name] }

    /// Applies a Job watch event; returns the keys to reconcile.
    mutating func apply(_ event: WatchEvent<Job>) -> [String] {
        switch event {
        case .listed(let all):
            jobsListed = true
            let listed = Set(all.map(\.name))
            let gone = jobs.keys.filter { !listed.contains($0) }
            for name in gone { remove(job: name) }
            for job in all { set(job.name, job) }
            return gone + all.map(\.name)
        case .current(let job):
            set(job.name, job)
            return [job.name]
        case .deleted(let job):
            set(job.name, job)
            remove(job: job.name)
            releaseEmptyStorage()
            return [job.name]
        }
    }

    /// Applies a Pod watch event; returns the keys (owning Jobs) to reconcile.
    mutating func apply(_ event: WatchEvent<Pod>) -> [String] {
        switch event {
        case .listed(let all):
            podsListed = true
            let owners = Set(pods.values.compactMap(\.jobName))
            pods = [:]
            podsByJobUID = [:]
            all.forEach { put($0) }
            return Array(owners.union(all.compactMap(\.jobName)))
        case .current(let pod):
            put(pod)
            return pod.jobName.map { [$0] } ?? []
        case .deleted(let pod):
            pods[pod.name] = nil
            if let uid = pod.controllerUID { podsByJobUID[uid]?.remove(pod.name) }
            if let uid = pod.controllerUID, podsByJobUID[uid]?.isEmpty == true { podsByJobUID[uid] = nil }
            releaseEmptyStorage()
            return pod.jobName.map { [$0] } ?? []
        }
    }

    /// Records a Job as an API call returned it, unless the watch has removed it meanwhile
    /// (the answer to a call can arrive after the Job's DELETED event: it must not bring it back).
    mutating func update(_ job: Job) {
        guard jobs[job.name] != nil else { return }
        set(job.name, job)
    }

    private mutating func put(_ pod: Pod) {
        pods[pod.name] = pod
        if let uid = pod.controllerUID { podsByJobUID[uid, default: []].insert(pod.name) }
    }

    mutating func dropTombstone(_ name: String) {
        tombstones[name] = nil
        releaseEmptyStorage()
    }

    /// A dictionary keeps the capacity it grew to, and a burst of Jobs would leave the cache as
    /// large as the burst for good: emptied ones give their storage back.
    private mutating func releaseEmptyStorage() {
        if jobs.isEmpty, jobs.capacity > 0 { jobs = [:] }
        if pods.isEmpty, pods.capacity > 0 { pods = [:] }
        if podsByJobUID.isEmpty, podsByJobUID.capacity > 0 { podsByJobUID = [:] }
        if tombstones.isEmpty, tombstones.capacity > 0 { tombstones = [:] }
    }

    private mutating func remove(job name: String) {
        guard let job = jobs[name] else { return }
        set(name, nil)
        if job.annotations[JobMetadata.reported] == nil { tombstones[name] = job }
    }

    /// Every change to `jobs` goes through here, to keep `unfinishedCount`.
    private mutating func set(_ name: String, _ job: Job?) {
        let unfinished = { (job: Job?) in job.map { JobOutcome.finalCondition(of: $0) == nil ? 1 : 0 } ?? 0 }
        unfinishedCount += unfinished(job) - unfinished(jobs[name])
        jobs[name] = job
    }
}
