import HTTPTransport
import JobRunner
import ObjectStore
import QueueConsumer
import RequestValidation

/// Everything the worker is told at start, resolved from flags, environment and defaults.
struct WorkerConfiguration: Sendable {
    var amqp: AMQPConfiguration
    var kubernetes: KubernetesConfiguration
    var s3: S3Configuration
    /// How the S3 endpoint is verified (a CA file, or the system store).
    var s3TLS: TLSConfiguration
    /// The S3 endpoint the job's pods use (may differ from the worker's, e.g. a cluster DNS name).
    var jobS3Endpoint: String
    /// What producers may ask for, including the Secrets the pods take S3 keys from.
    var requests: RequestPolicy
    /// Deliveries of one message before it is dead-lettered instead of handled again.
    var maxDeliveries: Int
    /// Which Jobs a cancel by `jobName` reaches.
    var cancelScope: CancelRequest.Scope
    /// Bearer token the jobs API and page require; nil leaves them open.
    var statusToken: String?
    var jobTTLSeconds: Int
    /// Seconds a finished Job stays once reported (its `ttlSecondsAfterFinished` then), for
    /// every replica's job pages; 0 deletes it at once.
    var finishedJobRetentionSeconds: Int
    var pod: PodSettings
    /// Names this worker in the claims it puts on Jobs: stable across restarts of one replica
    /// (its pod name), so that a restarted worker carries on with its own Jobs at once.
    var workerID: String
    /// Seconds after which another replica's claim on a finished Job is considered abandoned.
    var claimTimeoutSeconds: Double
    /// How long a log that cannot be archived (S3 or the API server away) is retried while
    /// its Job is held, before the reply goes out marking it incomplete.
    var archivePatienceSeconds: Double
    /// Seconds a pod may wait in ErrImagePull, ImagePullBackOff or CreateContainerConfigError
    /// before its Job is reported failed.
    var stuckPodGraceSeconds: Double
    var shutdownGraceSeconds: Double
    /// Port of the probes, metrics and status pages; nil turns the server off.
    var httpPort: Int?
    var httpHost: String

    var logKeyTemplate: String { requests.logKey.template }
}
