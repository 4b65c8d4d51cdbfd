import Foundation
import JobRunner
import QueueConsumer
import RequestValidation

/// Maps a validated request onto the Job to create (SPEC §4).
struct JobSpecBuilder: Sendable {
    let configuration: WorkerConfiguration
    /// Worked out once from the configuration, not for each request.
    private let poolLabel: String
    private let s3Host: String
    private let s3Port: String

    init(configuration: WorkerConfiguration) {
        self.configuration = configuration
        let queue = configuration.amqp.topology.requestQueue
        poolLabel = JobNaming.isValidLabelValue(queue) ? queue : JobNaming.sanitised(queue, maxLength: 63)
        (s3Host, s3Port) = Self.hostAndPort(configuration.jobS3Endpoint)
    }

    /// - Parameter now: when the Job is made. The worker that creates it holds its claim from
    ///   the start, so that it follows the pods' logs while they run.
    func specification(for request: WorkRequest, identity: RequestIdentity, message: AMQPMessage, now: Date) -> JobSpecification {
        let name = JobNaming.jobName(requested: request.jobName, identityHash: identity.hash)
        var labels = [
            JobMetadata.managedByLabel: JobMetadata.managedByValue,
            JobMetadata.requestLabel: identity.label,
        ]
        labels[JobMetadata.poolLabel] = poolLabel
        var annotations = [
            JobMetadata.requestID: identity.value,
            JobMetadata.requestedName: request.jobName,
            JobMetadata.outputBucket: request.outputBucket,
        ]
        annotations[JobMetadata.replyTo] = message.properties.replyTo
        annotations[JobMetadata.correlationID] = message.properties.correlationID ?? message.properties.messageID
        annotations[JobMetadata.filePrefix] = request.prefix
        annotations[JobMetadata.producer] = message.properties.userID
        annotations[JobMetadata.claimedBy] = configuration.workerID
        annotations[JobMetadata.claimedAt] = now.formatted(.iso8601)

        var env = [
            EnvironmentVariable("INPUT_BUCKET", request.inputBucket),
            EnvironmentVariable("OUTPUT_BUCKET", request.outputBucket),
            EnvironmentVariable("MINIO_SERVICE_HOST", s3Host),
            EnvironmentVariable("MINIO_SERVICE_PORT", s3Port),
            EnvironmentVariable("AWS_ENDPOINT_URL", configuration.jobS3Endpoint),
            EnvironmentVariable("AWS_REGION", configuration.s3.region),
            EnvironmentVariable("AWS_ACCESS_KEY_ID", secret: request.credentialsSecret, key: "AWS_ACCESS_KEY_ID"),
            EnvironmentVariable("AWS_SECRET_ACCESS_KEY", secret: request.credentialsSecret, key: "AWS_SECRET_ACCESS_KEY"),
        ]
        if let prefix = request.prefix { env.append(EnvironmentVariable("FILE_PREFIX", prefix)) }
        env += request.env.keys.sorted().map { EnvironmentVariable($0, request.env[$0]!) }

        let resources =
            request.resources.isEmpty
            ? nil : Resources(requests: request.resources.requests.mapValues(\.text), limits: request.resources.limits.mapValues(\.text))
        return JobSpecification(
            name: name,
            labels: labels,
            annotations: annotations,
            finalizers: [JobMetadata.reportFinalizer],
            image: request.image,
            command: request.command,
            args: request.args,
            env: env,
            resources: resources,
            activeDeadlineSeconds: request.timeoutMinutes * 60,
            backoffLimit: request.backoffLimit,
            ttlSecondsAfterFinished: configuration.jobTTLSeconds,
            pod: configuration.pod,
            tasks: request.tasks,
            parallelism: request.parallelism
        )
    }

    /// The label selector for this deployment's Jobs.
    var selector: String {
        "\(JobMetadata.managedByLabel)=\(JobMetadata.managedByValue),\(JobMetadata.poolLabel)=\(poolLabel)"
    }

    /// `http://host:port` → (host, port), with the scheme's default port when none is given.
    static func hostAndPort(_ endpoint: String) -> (String, String) {
        let https = endpoint.hasPrefix("https://")
        let authority = endpoint.split(separator: "://", maxSplits: 1).last.map { $0.prefix { $0 != "/" } } ?? ""
        if let colon = authority.lastIndex(of: ":"), !authority.hasSuffix("]") {
            return (String(authority[..<colon]), String(authority[authority.index(after: colon)...]))
        }
        return (String(authority), https ? "443" : "80")
    }
}
