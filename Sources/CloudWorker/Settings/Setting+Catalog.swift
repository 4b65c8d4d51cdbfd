import JobRunner
import Logging
import RequestValidation

/// Every setting of the worker, in the order `--help` and the README list them.
extension Setting {
    // MARK: - Broker

    static let amqpURL = Setting(
        "amqp-url", "CLOUD_WORKER_AMQP_URL", standard: "amqp://guest:guest@127.0.0.1:5672/%2F",
        help: "RabbitMQ URL, amqp:// or amqps:// (TLS, verified).")
    static let requestExchange = Setting(
        "request-exchange", "CLOUD_WORKER_REQUEST_EXCHANGE", standard: "cloud-worker", help: "Exchange the request queue is bound to.")
    static let requestQueue = Setting(
        "request-queue", "CLOUD_WORKER_REQUEST_QUEUE", standard: "cloud-worker.requests", help: "Durable queue of requests.")
    static let requestRoutingKey = Setting(
        "request-routing-key", "CLOUD_WORKER_REQUEST_ROUTING_KEY", note: "the queue name", help: "Routing key binding the request queue.")
    static let deadLetterQueue = Setting(
        "dead-letter-queue", "CLOUD_WORKER_DEAD_LETTER_QUEUE", standard: "cloud-worker.dead-letter",
        help: "Queue for rejected requests, each with the reason.")
    static let replyQueue = Setting(
        "reply-queue", "CLOUD_WORKER_REPLY_QUEUE", standard: "cloud-worker.replies", help: "Queue for replies to requests without reply_to."
    )
    static let prefetch = Setting(
        "prefetch", "CLOUD_WORKER_PREFETCH", .integer(minimum: 1, maximum: 65535), standard: "32",
        help: "Deliveries handled at once (requests in flight).")
    static let amqpHeartbeat = Setting(
        "amqp-heartbeat", "CLOUD_WORKER_AMQP_HEARTBEAT", .integer(minimum: 0, maximum: 65535), standard: "30",
        help: "AMQP heartbeat in seconds, 0 for none.")
    static let amqpCAFile = Setting(
        "amqp-ca-file", "CLOUD_WORKER_AMQP_CA_FILE", note: "the system store", help: "CA file to verify an amqps broker.")

    // MARK: - Kubernetes

    static let kubeconfig = Setting(
        "kubeconfig", "CLOUD_WORKER_KUBECONFIG", note: "the in-cluster service account",
        help: "kubeconfig file to reach the API server (unless --kube-server is set).")
    static let kubeContext = Setting(
        "kube-context", "CLOUD_WORKER_KUBE_CONTEXT", note: "the kubeconfig's current-context", help: "Context of --kubeconfig.")
    static let kubeServer = Setting(
        "kube-server", "CLOUD_WORKER_KUBE_SERVER", note: "the kubeconfig, else the in-cluster service account",
        help: "API server URL, instead of a kubeconfig or the in-cluster service account.")
    static let kubeTokenFile = Setting(
        "kube-token-file", "CLOUD_WORKER_KUBE_TOKEN_FILE", note: "none", help: "Bearer token file for --kube-server, re-read as it rotates."
    )
    static let kubeCAFile = Setting(
        "kube-ca-file", "CLOUD_WORKER_KUBE_CA_FILE", note: "the system store", help: "CA file to verify --kube-server.")
    static let namespace = Setting(
        "namespace", "CLOUD_WORKER_NAMESPACE", note: "the kubeconfig context's or the service account's, else default",
        help: "Namespace of the Jobs.")

    // MARK: - S3

    static let s3Endpoint = Setting("s3-endpoint", "CLOUD_WORKER_S3_ENDPOINT", standard: "https://s3.amazonaws.com", help: "S3 endpoint.")
    static let s3Region = Setting("s3-region", "CLOUD_WORKER_S3_REGION", standard: "us-east-1", help: "S3 region.")
    static let s3PathStyle = Setting(
        "s3-path-style", "CLOUD_WORKER_S3_PATH_STYLE", .boolean, standard: "true", help: "Path-style addressing (false: virtual-hosted).")
    static let s3AccessKeyID = Setting(
        nil, "CLOUD_WORKER_S3_ACCESS_KEY_ID", note: "AWS_ACCESS_KEY_ID; one of them is required",
        help: "The worker's own S3 access key id.")
    static let s3SecretAccessKey = Setting(
        nil, "CLOUD_WORKER_S3_SECRET_ACCESS_KEY", note: "AWS_SECRET_ACCESS_KEY; one of them is required",
        help: "The worker's own S3 secret access key.")
    static let s3CAFile = Setting(
        "s3-ca-file", "CLOUD_WORKER_S3_CA_FILE", note: "the system store", help: "CA file to verify an https S3 endpoint.")
    static let jobS3Endpoint = Setting(
        "job-s3-endpoint", "CLOUD_WORKER_JOB_S3_ENDPOINT", note: "--s3-endpoint", help: "S3 endpoint as the job pods reach it.")
    static let s3CredentialsSecret = Setting(
        "s3-credentials-secret", "CLOUD_WORKER_S3_CREDENTIALS_SECRET", standard: BucketPolicy.standardCredentialsSecret,
        help: "Secret with AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY for the pods of buckets --bucket-credentials does not map.")
    static let bucketCredentials = Setting(
        "bucket-credentials", "CLOUD_WORKER_BUCKET_CREDENTIALS", .pairs, note: "none",
        help:
            "bucket=Secret pairs, first match wins; a bucket may be a pattern with * and ?: the pods of requests for those buckets get that Secret's keys."
    )
    static let allowedBuckets = Setting(
        "allowed-buckets", "CLOUD_WORKER_ALLOWED_BUCKETS", .list, note: "any bucket",
        help: "Bucket names or patterns (* and ?) requests may use.")
    static let logKeyTemplate = Setting(
        "log-key-template", "CLOUD_WORKER_LOG_KEY_TEMPLATE", standard: LogKeyTemplate.standard.template,
        help: "Object key of archived logs, from {job}, {pod}, {name} and {prefix} ({prefix}-{job}.log is MSTC's layout).")

    // MARK: - Requests

    static let defaultTimeoutMinutes = Setting(
        "default-timeout-minutes", "CLOUD_WORKER_DEFAULT_TIMEOUT_MINUTES", .integer(minimum: 1),
        standard: "\(RequestLimits().defaultTimeoutMinutes)",
        help: "Minutes a job may run when timeOut is unset.")
    static let maxTimeoutMinutes = Setting(
        "max-timeout-minutes", "CLOUD_WORKER_MAX_TIMEOUT_MINUTES", .integer(minimum: 1), standard: "\(RequestLimits().maxTimeoutMinutes)",
        help: "Largest timeOut accepted.")
    static let maxParallelism = Setting(
        "max-parallelism", "CLOUD_WORKER_MAX_PARALLELISM", .integer(minimum: 1), standard: "\(RequestLimits().maxParallelism)",
        help: "Largest parallelism of a fan-out request, and its default.")
    static let allowedImagePrefixes = Setting(
        "allowed-image-prefixes", "CLOUD_WORKER_ALLOWED_IMAGE_PREFIXES", .list, note: "any image",
        help:
            "Registry hosts or repository paths requests may use, matched at a / boundary (registry.example.com, registry.example.com/team)."
    )
    static let requireImageDigest = Setting(
        "require-image-digest", "CLOUD_WORKER_REQUIRE_IMAGE_DIGEST", .boolean, standard: "false",
        help: "Accept only images pinned by @sha256 digest.")
    static let maxResources = Setting(
        "max-resources", "CLOUD_WORKER_MAX_RESOURCES", .pairs,
        standard: ResourcePolicy.standardMaximums.sorted { $0.key < $1.key }.map { "\($0)=\($1)" }.joined(separator: ","),
        help: "Largest request or limit per resource, name=quantity; resources not named cannot be asked for.")
    static let defaultResourceRequests = Setting(
        "default-resource-requests", "CLOUD_WORKER_DEFAULT_RESOURCE_REQUESTS", .pairs, note: "none",
        help: "Resource requests (name=quantity) of pods whose request names the resource in neither requests nor limits.")
    static let defaultResourceLimits = Setting(
        "default-resource-limits", "CLOUD_WORKER_DEFAULT_RESOURCE_LIMITS", .pairs, note: "none",
        help: "Resource limits given the same way.")
    static let maxRequestBytes = Setting(
        "max-request-bytes", "CLOUD_WORKER_MAX_REQUEST_BYTES", .integer(minimum: 1), standard: "\(RequestLimits().maxRequestBytes)",
        help: "Largest message body in bytes, checked before it is read.")
    static let maxJSONDepth = Setting(
        "max-json-depth", "CLOUD_WORKER_MAX_JSON_DEPTH", .integer(minimum: 1), standard: "\(RequestLimits().maxJSONDepth)",
        help: "Deepest nesting of JSON arrays and objects in a request.")
    static let maxEnvEntries = Setting(
        "max-env-entries", "CLOUD_WORKER_MAX_ENV_ENTRIES", .integer(minimum: 0), standard: "\(RequestLimits().maxEnvEntries)",
        help: "Most env entries in a request.")
    static let maxTasks = Setting(
        "max-tasks", "CLOUD_WORKER_MAX_TASKS", .integer(minimum: 1), standard: "\(RequestLimits().maxTasks)",
        help: "Most tasks in a fan-out request.")
    static let maxDeliveries = Setting(
        "max-deliveries", "CLOUD_WORKER_MAX_DELIVERIES", .integer(minimum: 1), standard: "5",
        help: "Deliveries of one message before it goes to the dead-letter queue instead of being handled again.")
    static let cancelScope = Setting(
        "cancel-scope", "CLOUD_WORKER_CANCEL_SCOPE", .choice(CancelRequest.Scope.allCases.map(\.rawValue)),
        standard: CancelRequest.Scope.producer.rawValue,
        help: "Which Jobs a cancel by jobName reaches: producer (those whose request had the cancel's reply_to or AMQP user_id) or any.")

    // MARK: - Jobs

    static let jobTTLSeconds = Setting(
        "job-ttl-seconds", "CLOUD_WORKER_JOB_TTL_SECONDS", .integer(minimum: 0), standard: "3600",
        help: "ttlSecondsAfterFinished of Jobs.")
    static let finishedJobRetentionSeconds = Setting(
        "finished-job-retention-seconds", "CLOUD_WORKER_FINISHED_JOB_RETENTION_SECONDS", .integer(minimum: 0), standard: "600",
        help:
            "Seconds a finished Job and its pods stay once reported (its ttlSecondsAfterFinished then, counted from its end), so that every replica's job pages list it with its reply; 0 deletes it at once."
    )
    static let stuckPodGraceSeconds = Setting(
        "stuck-pod-grace-seconds", "CLOUD_WORKER_STUCK_POD_GRACE_SECONDS", .integer(minimum: 0), standard: "120",
        help: "Seconds a pod may fail to pull its image or read its config before the job fails.")
    static let workerID = Setting(
        "worker-id", "CLOUD_WORKER_ID", note: "host name and process id",
        help: "Name of this replica in its claims on Jobs; keep it across restarts, e.g. the pod name.")
    static let claimTimeoutSeconds = Setting(
        "claim-timeout-seconds", "CLOUD_WORKER_CLAIM_TIMEOUT_SECONDS", .integer(minimum: 1), standard: "60",
        help: "Seconds after a Job ends (or its claim was last renewed) before another replica takes over its report.")
    static let archivePatienceSeconds = Setting(
        "archive-patience-seconds", "CLOUD_WORKER_ARCHIVE_PATIENCE_SECONDS", .integer(minimum: 0), standard: "600",
        help: "Seconds a log that cannot be archived is retried while its Job is held, before the reply marks it incomplete.")
    static let shutdownGraceSeconds = Setting(
        "shutdown-grace-seconds", "CLOUD_WORKER_SHUTDOWN_GRACE_SECONDS", .integer(minimum: 0), standard: "25",
        help: "Seconds SIGTERM or SIGINT waits for Jobs being reported before the worker exits.")
    static let imagePullSecrets = Setting(
        "image-pull-secrets", "CLOUD_WORKER_IMAGE_PULL_SECRETS", .list, note: "none", help: "Image pull secrets of the pods.")
    static let runAsNonRoot = Setting(
        "run-as-non-root", "CLOUD_WORKER_RUN_AS_NON_ROOT", .boolean, standard: "false", help: "Require pods to run as non-root.")
    static let nodeSelector = Setting(
        "node-selector", "CLOUD_WORKER_NODE_SELECTOR", .pairs, note: "none", help: "Node selector of the pods, key=value pairs.")
    static let tolerations = Setting(
        "tolerations", "CLOUD_WORKER_TOLERATIONS", .json, standard: "[]",
        help: "Tolerations of the pods, a JSON array of Kubernetes tolerations.")

    // MARK: - Status server and logs

    static let httpPort = Setting(
        "http-port", "CLOUD_WORKER_HTTP_PORT", .integer(minimum: 0, maximum: 65535), standard: "8080",
        help: "Port for /healthz, /readyz, /metrics and the job pages, 0 for none.")
    static let httpHost = Setting(
        "http-host", "CLOUD_WORKER_HTTP_HOST", standard: "0.0.0.0", help: "Address the status server binds, IPv4 or IPv6; :: takes both.")
    static let statusToken = Setting(
        nil, "CLOUD_WORKER_STATUS_TOKEN", note: "none: the jobs API and page are open",
        help: "Bearer token the jobs API and page require.")
    static let logFormat = Setting(
        "log-format", "CLOUD_WORKER_LOG_FORMAT", .choice(LogFormat.allCases.map(\.rawValue)), standard: LogFormat.text.rawValue,
        help: "Log format.")
    static let logLevel = Setting(
        "log-level", "CLOUD_WORKER_LOG_LEVEL", .choice(Logger.Level.allCases.map(\.rawValue)), standard: Logger.Level.info.rawValue,
        help: "Log level.")

    static let all: [Setting] = [
        amqpURL, requestExchange, requestQueue, requestRoutingKey, deadLetterQueue, replyQueue, prefetch, amqpHeartbeat, amqpCAFile,
        kubeconfig, kubeContext, kubeServer, kubeTokenFile, kubeCAFile, namespace,
        s3Endpoint, s3Region, s3PathStyle, s3AccessKeyID, s3SecretAccessKey, s3CAFile, jobS3Endpoint, s3CredentialsSecret,
        bucketCredentials, allowedBuckets, logKeyTemplate,
        defaultTimeoutMinutes, maxTimeoutMinutes, maxParallelism, allowedImagePrefixes, requireImageDigest, maxResources,
        defaultResourceRequests, defaultResourceLimits, maxRequestBytes, maxJSONDepth, maxEnvEntries, maxTasks, maxDeliveries,
        cancelScope,
        jobTTLSeconds, finishedJobRetentionSeconds, stuckPodGraceSeconds, workerID, claimTimeoutSeconds, archivePatienceSeconds,
        shutdownGraceSeconds,
        imagePullSecrets, runAsNonRoot, nodeSelector, tolerations,
        httpPort, httpHost, statusToken, logFormat, logLevel,
    ]
}
