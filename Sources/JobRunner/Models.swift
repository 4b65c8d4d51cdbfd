/// The parts of Kubernetes objects the worker reads. Unknown fields are ignored when decoding.
public struct ObjectMeta: Codable, Sendable {
    public var name: String?
    public var namespace: String?
    public var uid: String?
    public var resourceVersion: String?
    public var creationTimestamp: String?
    public var deletionTimestamp: String?
    public var finalizers: [String]?
    public var labels: [String: String]?
    public var annotations: [String: String]?
}

/// An object the worker lists and watches.
/// Read with `JSONScanner`: watch events, lists and API replies alike.
public protocol KubernetesObject: Codable, Sendable, JSONScannable {
    /// The collection path below `/api/v1` or `/apis/<group>/<version>`, e.g. `jobs`.
    static var resource: String { get }
    /// `/api/v1` or `/apis/batch/v1`.
    static var apiPrefix: String { get }
    var metadata: ObjectMeta { get }
}

extension KubernetesObject {
    public var name: String { metadata.name ?? "" }
    public var labels: [String: String] { metadata.labels ?? [:] }
    public var annotations: [String: String] { metadata.annotations ?? [:] }
}

public struct Job: KubernetesObject {
    public static let resource = "jobs"
    public static let apiPrefix = "/apis/batch/v1"
    public var metadata: ObjectMeta
    public var spec: JobSpec?
    public var status: JobStatus?
}

public struct JobSpec: Codable, Sendable {
    public var completions: Int?
    public var completionMode: String?
    public var activeDeadlineSeconds: Int?
}

public struct JobStatus: Codable, Sendable {
    public var conditions: [JobCondition]?
    public var startTime: String?
    public var completionTime: String?
    public var active: Int?
    public var succeeded: Int?
    public var failed: Int?
}

public struct JobCondition: Codable, Sendable, Equatable {
    public var type: String
    public var status: String
    public var reason: String?
    public var message: String?
    public var lastTransitionTime: String?
}

public struct Pod: KubernetesObject {
    public static let resource = "pods"
    public static let apiPrefix = "/api/v1"
    public var metadata: ObjectMeta
    public var status: PodStatus?

    /// The first container's state: the worker's Jobs have one container.
    public var containerState: ContainerState? { status?.containerStatuses?.first?.state }

    /// The owning Job's name, from the label the Job controller sets (older clusters: `job-name`).
    public var jobName: String? { labels["batch.kubernetes.io/job-name"] ?? labels["job-name"] }

    /// The owning Job's uid (older clusters: `controller-uid`); names can be reused, uids not.
    public var controllerUID: String? { labels["batch.kubernetes.io/controller-uid"] ?? labels["controller-uid"] }

    /// Waiting reasons that do not pass by themselves: the image cannot be pulled or the
    /// container's configuration cannot be read (a missing Secret or key).
    public static let stuckReasons: Set<String> = ["ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CreateContainerConfigError"]

    /// The reason the container cannot start, if it is one of `stuckReasons`.
    public var stuckReason: String? {
        containerState?.waiting?.reason.flatMap { Self.stuckReasons.contains($0) ? $0 : nil }
    }

    /// Whether the container has ended (or the pod ended without it ever running).
    public var isTerminated: Bool {
        containerState?.terminated != nil || status?.phase == "Succeeded" || status?.phase == "Failed"
    }
}

public struct PodStatus: Codable, Sendable {
    public var phase: String?
    public var reason: String?
    public var message: String?
    public var startTime: String?
    public var containerStatuses: [ContainerStatus]?
}

public struct ContainerStatus: Codable, Sendable {
    public var name: String
    public var state: ContainerState?
}

public struct ContainerState: Codable, Sendable {
    public var waiting: Waiting?
    public var running: Running?
    public var terminated: Terminated?

    public struct Waiting: Codable, Sendable {
        public var reason: String?
        public var message: String?
    }

    public struct Running: Codable, Sendable {
        public var startedAt: String?
    }

    public struct Terminated: Codable, Sendable {
        public var exitCode: Int
        public var reason: String?
        public var message: String?
        public var startedAt: String?
        public var finishedAt: String?
    }
}

/// A list reply: its items and the resourceVersion to watch from.
public struct ObjectList<Item: Codable & Sendable>: Codable, Sendable {
    public var metadata: ListMeta
    public var items: [Item]

    public struct ListMeta: Codable, Sendable {
        public var resourceVersion: String?
    }
}

/// The `Status` object the API server sends with errors (and in watch ERROR events).
struct StatusObject: Codable {
    var kind: String?
    var message: String?
    var reason: String?
    var code: Int?
    var details: Details?

    struct Details: Codable {
        var causes: [Cause]?
    }

    struct Cause: Codable {
        var reason: String?
        var message: String?
        var field: String?
    }
}
