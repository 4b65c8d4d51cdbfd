import ArgumentParser
import Foundation
import HTTPTransport
import JobRunner
import Logging
import ObjectStore
import QueueConsumer

/// The `cloud-worker` command. Each option can also be set by the environment variable named in
/// its help; a flag wins over the environment, which wins over the default.
@main
struct CloudWorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cloud-worker",
        abstract: "Turns RabbitMQ requests into Kubernetes Jobs, archives their logs to S3 and replies.",
        discussion: """
            S3 credentials come only from the environment: CLOUD_WORKER_S3_ACCESS_KEY_ID and \
            CLOUD_WORKER_S3_SECRET_ACCESS_KEY (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY).
            """
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
            "Secret with AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY for the pods (env CLOUD_WORKER_S3_CREDENTIALS_SECRET; default cloud-worker-s3)."
    )
    var s3CredentialsSecret: String?
    @Option(help: "Object key of archived logs (env CLOUD_WORKER_LOG_KEY_TEMPLATE; default logs/{job}/{pod}.log).")
    var logKeyTemplate: String?

    @Option(help: "Minutes a job may run when timeOut is unset (env CLOUD_WORKER_DEFAULT_TIMEOUT_MINUTES; default 15).")
    var defaultTimeoutMinutes: Int?
    @Option(help: "Largest timeOut accepted (env CLOUD_WORKER_MAX_TIMEOUT_MINUTES; default 1440).")
    var maxTimeoutMinutes: Int?
    @Option(help: "Largest parallelism of a fan-out request, and its default (env CLOUD_WORKER_MAX_PARALLELISM; default 10).")
    var maxParallelism: Int?
    @Option(help: "Comma-separated image prefixes requests may use; empty allows all (env CLOUD_WORKER_ALLOWED_IMAGE_PREFIXES).")
    var allowedImagePrefixes: String?
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
    @Option(help: "Address the status server binds (env CLOUD_WORKER_HTTP_HOST; default 0.0.0.0).")
    var httpHost: String?

    @Option(help: "Log format, text or json (env CLOUD_WORKER_LOG_FORMAT; default text).")
    var logFormat: String?
    @Option(help: "Log level: trace, debug, info, warning, error (env CLOUD_WORKER_LOG_LEVEL; default info).")
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
        let format = settings.value(logFormat, "CLOUD_WORKER_LOG_FORMAT", "text")
        let level = Logger.Level(rawValue: settings.value(logLevel, "CLOUD_WORKER_LOG_LEVEL", "info")) ?? .info
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler =
                format == "json" ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label)
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
        let amqp = AMQPConfiguration(
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
        limits.allowedImagePrefixes = settings.list(allowedImagePrefixes, "CLOUD_WORKER_ALLOWED_IMAGE_PREFIXES")

        return WorkerConfiguration(
            amqp: amqp,
            kubernetes: kubernetes,
            s3: s3,
            s3TLS: TLSConfiguration(caFile: settings.optional(s3CaFile, "CLOUD_WORKER_S3_CA_FILE")),
            jobS3Endpoint: settings.value(jobS3Endpoint, "CLOUD_WORKER_JOB_S3_ENDPOINT", endpoint),
            s3CredentialsSecret: settings.value(s3CredentialsSecret, "CLOUD_WORKER_S3_CREDENTIALS_SECRET", "cloud-worker-s3"),
            limits: limits,
            logKeyTemplate: settings.value(logKeyTemplate, "CLOUD_WORKER_LOG_KEY_TEMPLATE", "logs/{job}/{pod}.log"),
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

    func list(_ flag: String?, _ variable: String) -> [String] {
        (optional(flag, variable) ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// `key=value,key=value` as a map.
    func keyValues(_ flag: String?, _ variable: String) throws -> [String: String] {
        var map: [String: String] = [:]
        for pair in list(flag, variable) {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty else { throw ValidationError("\(variable): '\(pair)' is not key=value") }
            map[parts[0]] = parts[1]
        }
        return map
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
