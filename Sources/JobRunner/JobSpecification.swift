/// What the worker wants run: everything that goes into one Job's manifest.
public struct JobSpecification: Sendable {
    public var name: String
    public var labels: [String: String]
    public var annotations: [String: String]
    /// Finalizers that hold the Job, once deleted, until whoever set them removes them.
    public var finalizers: [String]
    public var image: String
    public var command: [String]?
    public var args: [String]?
    public var env: [EnvironmentVariable]
    public var resources: Resources?
    public var activeDeadlineSeconds: Int
    public var backoffLimit: Int
    public var ttlSecondsAfterFinished: Int
    public var pod: PodSettings
    /// Fan-out: each element's JSON becomes one completion index of an Indexed Job.
    public var tasks: [String]
    /// Pods of a fan-out running at once; nil runs them all.
    public var parallelism: Int?

    public init(
        name: String,
        labels: [String: String],
        annotations: [String: String],
        finalizers: [String] = [],
        image: String,
        command: [String]? = nil,
        args: [String]? = nil,
        env: [EnvironmentVariable] = [],
        resources: Resources? = nil,
        activeDeadlineSeconds: Int,
        backoffLimit: Int = 0,
        ttlSecondsAfterFinished: Int = 3600,
        pod: PodSettings = PodSettings(),
        tasks: [String] = [],
        parallelism: Int? = nil
    ) {
        self.name = name
        self.labels = labels
        self.annotations = annotations
        self.finalizers = finalizers
        self.image = image
        self.command = command
        self.args = args
        self.env = env
        self.resources = resources
        self.activeDeadlineSeconds = activeDeadlineSeconds
        self.backoffLimit = backoffLimit
        self.ttlSecondsAfterFinished = ttlSecondsAfterFinished
        self.pod = pod
        self.tasks = tasks
        self.parallelism = parallelism
    }
}

/// One container environment variable: a literal, or a key of a Secret (never copied).
public struct EnvironmentVariable: Sendable, Equatable {
    public enum Source: Sendable, Equatable {
        case value(String)
        case secretKey(secret: String, key: String)
    }

    public var name: String
    public var source: Source

    public init(_ name: String, _ value: String) {
        self.name = name
        self.source = .value(value)
    }

    public init(_ name: String, secret: String, key: String) {
        self.name = name
        self.source = .secretKey(secret: secret, key: key)
    }
}

/// Container resource requests and limits (`cpu`, `memory`, `nvidia.com/gpu`, ...).
public struct Resources: Sendable, Equatable {
    public var requests: [String: String]
    public var limits: [String: String]

    public init(requests: [String: String] = [:], limits: [String: String] = [:]) {
        self.requests = requests
        self.limits = limits
    }
}

/// Pod-level settings that come from the worker's configuration, not from requests.
public struct PodSettings: Sendable {
    public var imagePullSecrets: [String]
    public var nodeSelector: [String: String]
    public var tolerations: [Toleration]
    /// Refuses images that run as root. Off by default because many images do.
    public var runAsNonRoot: Bool
    public var serviceAccountName: String?

    public init(
        imagePullSecrets: [String] = [],
        nodeSelector: [String: String] = [:],
        tolerations: [Toleration] = [],
        runAsNonRoot: Bool = false,
        serviceAccountName: String? = nil
    ) {
        self.imagePullSecrets = imagePullSecrets
        self.nodeSelector = nodeSelector
        self.tolerations = tolerations
        self.runAsNonRoot = runAsNonRoot
        self.serviceAccountName = serviceAccountName
    }
}

public struct Toleration: Sendable, Codable, Equatable {
    public var key: String?
    public var `operator`: String?
    public var value: String?
    public var effect: String?
    public var tolerationSeconds: Int?

    public init(key: String? = nil, operator: String? = nil, value: String? = nil, effect: String? = nil, tolerationSeconds: Int? = nil) {
        self.key = key
        self.operator = `operator`
        self.value = value
        self.effect = effect
        self.tolerationSeconds = tolerationSeconds
    }
}
