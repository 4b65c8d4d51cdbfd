import ArgumentParser
import Foundation
import HTTPTransport
import JobRunner
import Logging
import ObjectStore
import QueueConsumer
import RequestValidation

/// The `cloud-worker` command. Each option can also be set by the environment variable named in
/// its help; a flag wins over the environment, which wins over the default.
@main
struct CloudWorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cloud-worker",
        abstract: "Turns RabbitMQ requests into Kubernetes Jobs, archives their logs to S3 and replies.",
        discussion: """
            S3 credentials come only from the environment: CLOUD_WORKER_S3_ACCESS_KEY_ID and \
            CLOUD_WORKER_S3_SECRET_ACCESS_KEY (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY). So does the \
            bearer token that the jobs API and page require when it is set: CLOUD_WORKER_STATUS_TOKEN.
            """,
        version: WorkerVersion.current
    )

    @Option(help: "RabbitMQ URL, amqp:// or amqps:// (env CLOUD_WORKER_AMQP_URL; default amqp://guest:guest@127.0.0.1:5672/%2F).")
    var amqpUrl: String?
    @Option(help: "Exchange the request queue is bound to (env CLOUD_WORKER_REQUEST_EXCHANGE; default cloud-worker).")
    var requestExchange: String?
    @Option(help: "Durable queue of requests (env CLOUD_WORKER_REQUEST_QUEUE; default cloud-worker.requests).")
    var requestQueue: String?
    @Option(help: "Routing key binding the request queue (env CLOUD_WORKER_REQUEST_ROUTING_KEY; default: the queue name).")
    var requestRoutingKey: String?
    @Option(help: "Queue for rejected requests (env CLOUD_WORKER_DEAD_LETTER_QUEUE; default cloud-worker.dead-letter).")
    var deadLetterQueue: String?
    @Option(help: "Queue for replies to requests without reply_to (env CLOUD_WORKER_REPLY_QUEUE; default cloud-worker.replies).")
    var replyQueue: String?
    @Option(help: "Deliveries handled at once (env CLOUD_WORKER_PREFETCH; default 32).")
    var prefetch: Int?
    @Option(help: "AMQP heartbeat in seconds, 0 for none (env CLOUD_WORKER_AMQP_HEARTBEAT; default 30).")
    var amqpHeartbeat: Int?
    @Option(help: "CA file to verify an amqps broker (env CLOUD_WORKER_AMQP_CA_FILE; default: system store).")
    var amqpCaFile: String?

    @Option(
        help:
            "kubeconfig file to reach the API server; unset (and no --kube-server) uses the in-cluster service account (env CLOUD_WORKER_KUBECONFIG)."
    )
    var kubeconfig: String?
    @Option(help: "Context of --kubeconfig (env CLOUD_WORKER_KUBE_CONTEXT; default: its current-context).")
    var kubeContext: String?
    @Option(help: "API server URL, instead of a kubeconfig or the in-cluster service account (env CLOUD_WORKER_KUBE_SERVER).")
    var kubeServer: String?
    @Option(help: "Bearer token file for --kube-server, re-read as it rotates (env CLOUD_WORKER_KUBE_TOKEN_FILE).")
    var kubeTokenFile: String?
    @Option(help: "CA file to verify --kube-server (env CLOUD_WORKER_KUBE_CA_FILE; default: system store).")
    var kubeCaFile: String?
    @Option(
        help:
            "Namespace of the Jobs (env CLOUD_WORKER_NAMESPACE; default: the kubeconfig context's or the service account's, else default).")
    var namespace: String?

    @Option(help: "S3 endpoint (env CLOUD_WORKER_S3_ENDPOINT; default https://s3.amazonaws.com).")
    var s3Endpoint: String?
    @Option(help: "S3 region (env CLOUD_WORKER_S3_REGION; default us-east-1).")
    var s3Region: String?
    @Option(help: "Path-style addressing, true or false (env CLOUD_WORKER_S3_PATH_STYLE; default true).")
    var s3PathStyle: Bool?
    @Option(help: "CA file to verify an https S3 endpoint (env CLOUD_WORKER_S3_CA_FILE; default: system store).")
    var s3CaFile: String?
    @Option(help: "S3 endpoint as the job pods reach it (env CLOUD_WORKER_JOB_S3_ENDPOINT; default: --s3-endpoint).")
    var jobS3Endpoint: String?
    @Option(
        help:
            "Secret with AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY for the pods of buckets --bucket-credentials does not map (env CLOUD_WORKER_S3_CREDENTIALS_SECRET; default cloud-worker-job-s3)."
    )
    var s3CredentialsSecret: String?
    @Option(
        help:
            "Comma-separated bucket=Secret pairs, first match wins; a bucket may be a pattern with * and ?: the pods of requests for those buckets get that Secret's keys (env CLOUD_WORKER_BUCKET_CREDENTIALS)."
    )
    var bucketCredentials: String?
    @Option(
        help: "Comma-separated bucket names or patterns (* and ?) requests may use; empty allows all (env CLOUD_WORKER_ALLOWED_BUCKETS).")
    var allowedBuckets: String?
    @Option(help: "Object key of archived logs (env CLOUD_WORKER_LOG_KEY_TEMPLATE; default logs/{job}/{pod}.log).")
    var logKeyTemplate: String?

    @Option(help: "Minutes a job may run when timeOut is unset (env CLOUD_WORKER_DEFAULT_TIMEOUT_MINUTES; default 15).")
    var defaultTimeoutMinutes: Int?
    @Option(help: "Largest timeOut accepted (env CLOUD_WORKER_MAX_TIMEOUT_MINUTES; default 1440).")
    var maxTimeoutMinutes: Int?
    @Option(help: "Largest parallelism of a fan-out request, and its default (env CLOUD_WORKER_MAX_PARALLELISM; default 10).")
    var maxParallelism: Int?
    @Option(
        help:
            "Comma-separated registry hosts or repository paths requests may use, matched at a / boundary (registry.example.com, registry.example.com/team); empty allows all (env CLOUD_WORKER_ALLOWED_IMAGE_PREFIXES)."
    )
    var allowedImagePrefixes: String?
    @Option(help: "Accept only images pinned by @sha256 digest, true or false (env CLOUD_WORKER_REQUIRE_IMAGE_DIGEST; default false).")
    var requireImageDigest: Bool?
    @Option(
        help:
            "Largest request or limit per resource, comma-separated name=quantity; resources not named cannot be asked for (env CLOUD_WORKER_MAX_RESOURCES; default cpu=4,memory=16Gi,ephemeral-storage=20Gi,nvidia.com/gpu=1)."
    )
    var maxResources: String?
    @Option(
        help:
            "Resource requests of pods whose request names the resource in neither requests nor limits, name=quantity pairs (env CLOUD_WORKER_DEFAULT_RESOURCE_REQUESTS)."
    )
    var defaultResourceRequests: String?
    @Option(help: "Resource limits given the same way, name=quantity pairs (env CLOUD_WORKER_DEFAULT_RESOURCE_LIMITS).")
    var defaultResourceLimits: String?
    @Option(help: "Largest message body in bytes, checked before it is read (env CLOUD_WORKER_MAX_REQUEST_BYTES; default 1048576).")
    var maxRequestBytes: Int?
    @Option(help: "Deepest nesting of JSON arrays and objects in a request (env CLOUD_WORKER_MAX_JSON_DEPTH; default 32).")
    var maxJsonDepth: Int?
    @Option(help: "Most env entries in a request (env CLOUD_WORKER_MAX_ENV_ENTRIES; default 100).")
    var maxEnvEntries: Int?
    @Option(help: "Most tasks in a fan-out request (env CLOUD_WORKER_MAX_TASKS; default 1000).")
    var maxTasks: Int?
    @Option(
        help:
            "Deliveries of one message before it goes to the dead-letter queue instead of being handled again (env CLOUD_WORKER_MAX_DELIVERIES; default 5)."
    )
    var maxDeliveries: Int?
    @Option(
        help:
            "Which Jobs a cancel by jobName reaches: producer (those whose request had the cancel's reply_to or AMQP user_id) or any (env CLOUD_WORKER_CANCEL_SCOPE; default producer)."
    )
    var cancelScope: String?
    @Option(help: "ttlSecondsAfterFinished of Jobs (env CLOUD_WORKER_JOB_TTL_SECONDS; default 3600).")
    var jobTtlSeconds: Int?
    @Option(
        help:
            "Seconds a pod may fail to pull its image or read its config before the job fails (env CLOUD_WORKER_STUCK_POD_GRACE_SECONDS; default 120)."
    )
    var stuckPodGraceSeconds: Int?
    @Option(
        help:
            "Name of this replica in its claims on Jobs; keep it across restarts, e.g. the pod name (env CLOUD_WORKER_ID; default: host name and process id)."
    )
    var workerId: String?
    @Option(
        help:
            "Seconds after a Job ends (or its claim was last renewed) before another replica takes over its report (env CLOUD_WORKER_CLAIM_TIMEOUT_SECONDS; default 60)."
    )
    var claimTimeoutSeconds: Int?
    @Option(
        help:
            "Seconds a log that cannot be archived is retried while its Job is held, before the reply marks it incomplete (env CLOUD_WORKER_ARCHIVE_PATIENCE_SECONDS; default 600)."
    )
    var archivePatienceSeconds: Int?
    @Option(
        help: "Seconds SIGTERM waits for Jobs being reported before the worker exits (env CLOUD_WORKER_SHUTDOWN_GRACE_SECONDS; default 25)."
    )
    var shutdownGraceSeconds: Int?
    @Option(help: "Comma-separated image pull secrets for the pods (env CLOUD_WORKER_IMAGE_PULL_SECRETS).")
    var imagePullSecrets: String?
    @Option(help: "Require pods to run as non-root, true or false (env CLOUD_WORKER_RUN_AS_NON_ROOT; default false).")
    var runAsNonRoot: Bool?
    @Option(help: "Node selector of the pods, comma-separated key=value pairs (env CLOUD_WORKER_NODE_SELECTOR).")
    var nodeSelector: String?
    @Option(help: "Tolerations of the pods, a JSON array of Kubernetes tolerations (env CLOUD_WORKER_TOLERATIONS).")
    var tolerations: String?

    @Option(help: "Port for /healthz, /readyz, /metrics and the job pages, 0 for none (env CLOUD_WORKER_HTTP_PORT; default 8080).")
    var httpPort: Int?
    @Option(help: "Address the status server binds, IPv4 or IPv6; :: takes both (env CLOUD_WORKER_HTTP_HOST; default 0.0.0.0).")
    var httpHost: String?

    @Option(help: "Log format, text or json (env CLOUD_WORKER_LOG_FORMAT; default text).")
    var logFormat: String?
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (env CLOUD_WORKER_LOG_LEVEL; default info).")
    var logLevel: String?

    @Flag(help: "Print the Kubernetes RBAC rules the worker needs (JSON, from its list of API calls) and exit.")
    var printRbacRules = false

    func run() async throws {
        if printRbacRules {
            print(RBACRules.json)
            return
        }
        let environment = ProcessInfo.processInfo.environment
        let settings = Settings(environment: environment)
        let format: LogFormat
        let level: Logger.Level
        do {
            format = try settings.choice(logFormat, "CLOUD_WORKER_LOG_FORMAT", LogFormat.text)
            level = try settings.choice(logLevel, "CLOUD_WORKER_LOG_LEVEL", Logger.Level.info)
        } catch {
            // Before the log exists: said on stderr, as the log would have said it.
            FileHandle.standardError.write(Data("invalid configuration: \(error)\n".utf8))
            throw ExitCode(2)
        }
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler =
                format == .json ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "cloud-worker")
        let configuration: WorkerConfiguration
        do {
            configuration = try resolve(settings)
        } catch {
            logger.critical("invalid configuration", metadata: ["error": "\(error)"])
            throw ExitCode(2)
        }
        try await Worker(configuration: configuration, logger: logger).run()
    }

    private func resolve(_ settings: Settings) throws -> WorkerConfiguration {
        let url = try AMQPURL(parsing: settings.value(amqpUrl, "CLOUD_WORKER_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F"))
        let queue = settings.value(requestQueue, "CLOUD_WORKER_REQUEST_QUEUE", "cloud-worker.requests")
        let topology = AMQPTopology(
            requestExchange: settings.value(requestExchange, "CLOUD_WORKER_REQUEST_EXCHANGE", "cloud-worker"),
            requestQueue: queue,
            requestRoutingKey: settings.value(requestRoutingKey, "CLOUD_WORKER_REQUEST_ROUTING_KEY", queue),
            deadLetterQueue: settings.value(deadLetterQueue, "CLOUD_WORKER_DEAD_LETTER_QUEUE", "cloud-worker.dead-letter"),
            replyQueue: settings.value(replyQueue, "CLOUD_WORKER_REPLY_QUEUE", "cloud-worker.replies")
        )
        var amqp = AMQPConfiguration(
            url: url,
            heartbeat: try settings.integer(amqpHeartbeat, "CLOUD_WORKER_AMQP_HEARTBEAT", 30),
            prefetch: try settings.integer(prefetch, "CLOUD_WORKER_PREFETCH", 32),
            connectionName: "cloud-worker \(ProcessInfo.processInfo.hostName)",
            topology: topology,
            caFile: settings.optional(amqpCaFile, "CLOUD_WORKER_AMQP_CA_FILE")
        )

        let requestedNamespace = settings.optional(namespace, "CLOUD_WORKER_NAMESPACE")
        let kubernetes: KubernetesConfiguration
        if let server = settings.optional(kubeServer, "CLOUD_WORKER_KUBE_SERVER") {
            kubernetes = KubernetesConfiguration(
                server: server,
                namespace: requestedNamespace ?? "default",
                tls: .init(caFile: settings.optional(kubeCaFile, "CLOUD_WORKER_KUBE_CA_FILE")),
                tokenFile: settings.optional(kubeTokenFile, "CLOUD_WORKER_KUBE_TOKEN_FILE")
            )
        } else if let kubeconfig = settings.optional(kubeconfig, "CLOUD_WORKER_KUBECONFIG") {
            kubernetes = try KubernetesConfiguration.kubeconfig(
                path: kubeconfig, context: settings.optional(kubeContext, "CLOUD_WORKER_KUBE_CONTEXT"), namespace: requestedNamespace)
        } else {
            kubernetes = try KubernetesConfiguration.inCluster(namespace: requestedNamespace)
        }

        guard let accessKey = settings.environment["CLOUD_WORKER_S3_ACCESS_KEY_ID"] ?? settings.environment["AWS_ACCESS_KEY_ID"],
            let secretKey = settings.environment["CLOUD_WORKER_S3_SECRET_ACCESS_KEY"] ?? settings.environment["AWS_SECRET_ACCESS_KEY"]
        else {
            throw ValidationError("S3 credentials are missing: set CLOUD_WORKER_S3_ACCESS_KEY_ID and CLOUD_WORKER_S3_SECRET_ACCESS_KEY")
        }
        let endpoint = settings.value(s3Endpoint, "CLOUD_WORKER_S3_ENDPOINT", "https://s3.amazonaws.com")
        let s3 = S3Configuration(
            endpoint: endpoint,
            region: settings.value(s3Region, "CLOUD_WORKER_S3_REGION", "us-east-1"),
            credentials: S3Credentials(
                accessKeyID: accessKey, secretAccessKey: secretKey, sessionToken: settings.environment["AWS_SESSION_TOKEN"]),
            pathStyle: try settings.boolean(s3PathStyle, "CLOUD_WORKER_S3_PATH_STYLE", true)
        )

        var limits = RequestLimits()
        limits.defaultTimeoutMinutes = try settings.integer(defaultTimeoutMinutes, "CLOUD_WORKER_DEFAULT_TIMEOUT_MINUTES", 15)
        limits.maxTimeoutMinutes = try settings.integer(maxTimeoutMinutes, "CLOUD_WORKER_MAX_TIMEOUT_MINUTES", 1440)
        limits.maxParallelism = try settings.integer(maxParallelism, "CLOUD_WORKER_MAX_PARALLELISM", 10)
        limits.maxRequestBytes = try settings.integer(maxRequestBytes, "CLOUD_WORKER_MAX_REQUEST_BYTES", limits.maxRequestBytes)
        limits.maxJSONDepth = try settings.integer(maxJsonDepth, "CLOUD_WORKER_MAX_JSON_DEPTH", limits.maxJSONDepth)
        limits.maxEnvEntries = try settings.integer(maxEnvEntries, "CLOUD_WORKER_MAX_ENV_ENTRIES", limits.maxEnvEntries)
        limits.maxTasks = try settings.integer(maxTasks, "CLOUD_WORKER_MAX_TASKS", limits.maxTasks)
        var requests = RequestPolicy()
        requests.limits = limits
        requests.images = ImagePolicy(
            allowed: settings.list(allowedImagePrefixes, "CLOUD_WORKER_ALLOWED_IMAGE_PREFIXES"),
            requireDigest: try settings.boolean(requireImageDigest, "CLOUD_WORKER_REQUIRE_IMAGE_DIGEST", false))
        let standardMaximums = ResourcePolicy.standardMaximums.sorted { $0.key < $1.key }.map { "\($0)=\($1)" }.joined(separator: ",")
        requests.resources = ResourcePolicy(
            maximums: try settings.quantities(maxResources, "CLOUD_WORKER_MAX_RESOURCES", standardMaximums),
            defaultRequests: try settings.quantities(defaultResourceRequests, "CLOUD_WORKER_DEFAULT_RESOURCE_REQUESTS", ""),
            defaultLimits: try settings.quantities(defaultResourceLimits, "CLOUD_WORKER_DEFAULT_RESOURCE_LIMITS", ""))
        requests.buckets = BucketPolicy(
            allowed: settings.list(allowedBuckets, "CLOUD_WORKER_ALLOWED_BUCKETS").map(BucketPattern.init),
            credentials: try settings.pairs(bucketCredentials, "CLOUD_WORKER_BUCKET_CREDENTIALS").map {
                BucketCredentials(pattern: BucketPattern($0.key), secret: $0.value)
            },
            defaultCredentialsSecret: settings.value(
                s3CredentialsSecret, "CLOUD_WORKER_S3_CREDENTIALS_SECRET", BucketPolicy.standardCredentialsSecret))
        requests.logKey = LogKeyTemplate(settings.value(logKeyTemplate, "CLOUD_WORKER_LOG_KEY_TEMPLATE", LogKeyTemplate.standard.template))
        try Self.check(requests)
        let scope = try settings.choice(cancelScope, "CLOUD_WORKER_CANCEL_SCOPE", CancelRequest.Scope.producer)
        let deliveries = try settings.integer(maxDeliveries, "CLOUD_WORKER_MAX_DELIVERIES", 5)
        guard deliveries >= 1 else { throw ValidationError("CLOUD_WORKER_MAX_DELIVERIES must be at least 1") }
        amqp.maxBodyBytes = limits.maxRequestBytes

        return WorkerConfiguration(
            amqp: amqp,
            kubernetes: kubernetes,
            s3: s3,
            s3TLS: TLSConfiguration(caFile: settings.optional(s3CaFile, "CLOUD_WORKER_S3_CA_FILE")),
            jobS3Endpoint: settings.value(jobS3Endpoint, "CLOUD_WORKER_JOB_S3_ENDPOINT", endpoint),
            requests: requests,
            maxDeliveries: deliveries,
            cancelScope: scope,
            statusToken: settings.optional(nil, "CLOUD_WORKER_STATUS_TOKEN"),
            jobTTLSeconds: try settings.integer(jobTtlSeconds, "CLOUD_WORKER_JOB_TTL_SECONDS", 3600),
            pod: PodSettings(
                imagePullSecrets: settings.list(imagePullSecrets, "CLOUD_WORKER_IMAGE_PULL_SECRETS"),
                nodeSelector: try settings.keyValues(nodeSelector, "CLOUD_WORKER_NODE_SELECTOR"),
                tolerations: try settings.json(tolerations, "CLOUD_WORKER_TOLERATIONS", as: [Toleration].self) ?? [],
                runAsNonRoot: try settings.boolean(runAsNonRoot, "CLOUD_WORKER_RUN_AS_NON_ROOT", false)
            ),
            workerID: settings.value(workerId, "CLOUD_WORKER_ID", "\(ProcessInfo.processInfo.hostName)-\(getpid())"),
            claimTimeoutSeconds: Double(try settings.integer(claimTimeoutSeconds, "CLOUD_WORKER_CLAIM_TIMEOUT_SECONDS", 60)),
            archivePatienceSeconds: Double(try settings.integer(archivePatienceSeconds, "CLOUD_WORKER_ARCHIVE_PATIENCE_SECONDS", 600)),
            stuckPodGraceSeconds: Double(try settings.integer(stuckPodGraceSeconds, "CLOUD_WORKER_STUCK_POD_GRACE_SECONDS", 120)),
            shutdownGraceSeconds: Double(try settings.integer(shutdownGraceSeconds, "CLOUD_WORKER_SHUTDOWN_GRACE_SECONDS", 25)),
            httpPort: try settings.integer(httpPort, "CLOUD_WORKER_HTTP_PORT", 8080).nonZero,
            httpHost: settings.value(httpHost, "CLOUD_WORKER_HTTP_HOST", "0.0.0.0")
        )
    }

    /// Settings that contradict each other or cannot make a valid Job stop the worker at start.
    private static func check(_ requests: RequestPolicy) throws {
        let resources = requests.resources
        do {
            _ = try resources.resolve(ContainerResources(requests: resources.defaultRequests, limits: resources.defaultLimits))
        } catch {
            throw ValidationError("the default resources do not fit the maximums: \(error)")
        }
        let key = requests.logKey.render(job: "job-0", pod: "job-0-x", requestedName: "job", prefix: "prefix")
        if let problem = LogKeyTemplate.problem(with: key) {
            throw ValidationError("CLOUD_WORKER_LOG_KEY_TEMPLATE gives keys such as '\(key)', which \(problem)")
        }
    }
}

/// Flag, else environment variable, else default.
struct Settings {
    let environment: [String: String]

    func optional(_ flag: String?, _ variable: String) -> String? {
        flag ?? environment[variable].flatMap { $0.isEmpty ? nil : $0 }
    }

    func value(_ flag: String?, _ variable: String, _ fallback: String) -> String {
        optional(flag, variable) ?? fallback
    }

    func integer(_ flag: Int?, _ variable: String, _ fallback: Int) throws -> Int {
        if let flag { return flag }
        guard let text = optional(nil, variable) else { return fallback }
        guard let number = Int(text) else { throw ValidationError("\(variable) must be an integer, not '\(text)'") }
        return number
    }

    func boolean(_ flag: Bool?, _ variable: String, _ fallback: Bool) throws -> Bool {
        if let flag { return flag }
        guard let text = optional(nil, variable)?.lowercased() else { return fallback }
        guard let value = ["true": true, "1": true, "yes": true, "false": false, "0": false, "no": false][text] else {
            throw ValidationError("\(variable) must be true or false, not '\(text)'")
        }
        return value
    }

    /// One of an enumeration's values, by its exact name; anything else is refused with the
    /// names it may be.
    func choice<Value: RawRepresentable & CaseIterable>(_ flag: String?, _ variable: String, _ fallback: Value) throws -> Value
    where Value.RawValue == String {
        guard let text = optional(flag, variable) else { return fallback }
        guard let value = Value(rawValue: text) else {
            let names = Value.allCases.map(\.rawValue).joined(separator: ", ")
            throw ValidationError("\(variable) (\(Self.flagName(variable))) must be one of \(names), not '\(text)'")
        }
        return value
    }

    /// `CLOUD_WORKER_LOG_LEVEL` → `--log-level`.
    static func flagName(_ variable: String) -> String {
        "--" + variable.dropFirst("CLOUD_WORKER_".count).lowercased().replacingOccurrences(of: "_", with: "-")
    }

    func list(_ flag: String?, _ variable: String) -> [String] {
        (optional(flag, variable) ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// `key=value,key=value` as a map.
    func keyValues(_ flag: String?, _ variable: String) throws -> [String: String] {
        Dictionary(try pairs(flag, variable).map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
    }

    /// `key=value,key=value` in order.
    func pairs(_ flag: String?, _ variable: String) throws -> [(key: String, value: String)] {
        try list(flag, variable).map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty else { throw ValidationError("\(variable): '\(pair)' is not key=value") }
            return (parts[0], parts[1])
        }
    }

    /// `resource=quantity,...` with Kubernetes quantities.
    func quantities(_ flag: String?, _ variable: String, _ fallback: String) throws -> [String: ResourceQuantity] {
        try keyValues(optional(flag, variable) ?? fallback, variable).mapValues { text in
            guard let quantity = ResourceQuantity(text) else {
                throw ValidationError("\(variable): '\(text)' is not a Kubernetes quantity")
            }
            return quantity
        }
    }

    func json<Value: Decodable>(_ flag: String?, _ variable: String, as type: Value.Type) throws -> Value? {
        guard let text = optional(flag, variable) else { return nil }
        do {
            return try JSONDecoder().decode(Value.self, from: Data(text.utf8))
        } catch {
            throw ValidationError("\(variable) is not valid: \(error)")
        }
    }
}

extension Int {
    fileprivate var nonZero: Int? { self == 0 ? nil : self }
}
