import ArgumentParser
import Foundation
import HTTPTransport
import JobRunner
import ObjectStore
import QueueConsumer
import RequestValidation

extension WorkerConfiguration {
    /// The configuration the settings describe; the first setting that is not valid, or
    /// settings that contradict each other, are the error.
    init(_ values: SettingValues) throws {
        let url = try AMQPURL(parsing: values.text(.amqpURL))
        let queue = values.text(.requestQueue)
        let topology = AMQPTopology(
            requestExchange: values.text(.requestExchange),
            requestQueue: queue,
            requestRoutingKey: values.given(.requestRoutingKey) ?? queue,
            deadLetterQueue: values.text(.deadLetterQueue),
            replyQueue: values.text(.replyQueue)
        )
        let limits = try Self.limits(values)
        var amqp = AMQPConfiguration(
            url: url,
            heartbeat: try values.integer(.amqpHeartbeat),
            prefetch: try values.integer(.prefetch),
            connectionName: "cloud-worker \(ProcessInfo.processInfo.hostName)",
            topology: topology,
            caFile: values.given(.amqpCAFile)
        )
        amqp.maxBodyBytes = limits.maxRequestBytes

        guard let accessKey = values.given(.s3AccessKeyID) ?? values.environment["AWS_ACCESS_KEY_ID"],
            let secretKey = values.given(.s3SecretAccessKey) ?? values.environment["AWS_SECRET_ACCESS_KEY"]
        else {
            throw ValidationError(
                "S3 credentials are missing: set \(Setting.s3AccessKeyID.variable) and \(Setting.s3SecretAccessKey.variable)")
        }
        let endpoint = values.text(.s3Endpoint)
        let s3 = S3Configuration(
            endpoint: endpoint,
            region: values.text(.s3Region),
            credentials: S3Credentials(
                accessKeyID: accessKey, secretAccessKey: secretKey, sessionToken: values.environment["AWS_SESSION_TOKEN"]),
            pathStyle: try values.boolean(.s3PathStyle)
        )

        let requests = try Self.requestPolicy(values, limits: limits)
        self.init(
            amqp: amqp,
            kubernetes: try Self.kubernetes(values),
            s3: s3,
            s3TLS: TLSConfiguration(caFile: values.given(.s3CAFile)),
            jobS3Endpoint: values.given(.jobS3Endpoint) ?? endpoint,
            requests: requests,
            maxDeliveries: try values.integer(.maxDeliveries),
            cancelScope: try values.choice(.cancelScope, as: CancelRequest.Scope.self),
            statusToken: values.given(.statusToken),
            jobTTLSeconds: try values.integer(.jobTTLSeconds),
            finishedJobRetentionSeconds: try values.integer(.finishedJobRetentionSeconds),
            pod: PodSettings(
                imagePullSecrets: values.list(.imagePullSecrets),
                nodeSelector: try values.keyValues(.nodeSelector),
                tolerations: try values.json(.tolerations, as: [Toleration].self),
                runAsNonRoot: try values.boolean(.runAsNonRoot)
            ),
            workerID: values.given(.workerID) ?? "\(ProcessInfo.processInfo.hostName)-\(getpid())",
            claimTimeoutSeconds: try values.seconds(.claimTimeoutSeconds),
            archivePatienceSeconds: try values.seconds(.archivePatienceSeconds),
            stuckPodGraceSeconds: try values.seconds(.stuckPodGraceSeconds),
            shutdownGraceSeconds: try values.seconds(.shutdownGraceSeconds),
            httpPort: try values.integer(.httpPort).nonZero,
            httpHost: values.text(.httpHost)
        )
    }

    /// A `--kube-server`, else a kubeconfig, else the in-cluster service account.
    private static func kubernetes(_ values: SettingValues) throws -> KubernetesConfiguration {
        let namespace = values.given(.namespace)
        if let server = values.given(.kubeServer) {
            return KubernetesConfiguration(
                server: server,
                namespace: namespace ?? "default",
                tls: .init(caFile: values.given(.kubeCAFile)),
                tokenFile: values.given(.kubeTokenFile)
            )
        }
        if let kubeconfig = values.given(.kubeconfig) {
            return try KubernetesConfiguration.kubeconfig(path: kubeconfig, context: values.given(.kubeContext), namespace: namespace)
        }
        return try KubernetesConfiguration.inCluster(namespace: namespace)
    }

    private static func limits(_ values: SettingValues) throws -> RequestLimits {
        var limits = RequestLimits()
        limits.defaultTimeoutMinutes = try values.integer(.defaultTimeoutMinutes)
        limits.maxTimeoutMinutes = try values.integer(.maxTimeoutMinutes)
        limits.maxParallelism = try values.integer(.maxParallelism)
        limits.maxRequestBytes = try values.integer(.maxRequestBytes)
        limits.maxJSONDepth = try values.integer(.maxJSONDepth)
        limits.maxEnvEntries = try values.integer(.maxEnvEntries)
        limits.maxTasks = try values.integer(.maxTasks)
        return limits
    }

    /// What producers may ask for; default resources that do not fit the maximums, or a log key
    /// template that cannot make a valid key, stop the worker at start.
    private static func requestPolicy(_ values: SettingValues, limits: RequestLimits) throws -> RequestPolicy {
        var requests = RequestPolicy()
        requests.limits = limits
        requests.images = ImagePolicy(allowed: values.list(.allowedImagePrefixes), requireDigest: try values.boolean(.requireImageDigest))
        requests.resources = ResourcePolicy(
            maximums: try values.quantities(.maxResources),
            defaultRequests: try values.quantities(.defaultResourceRequests),
            defaultLimits: try values.quantities(.defaultResourceLimits))
        requests.buckets = BucketPolicy(
            allowed: values.list(.allowedBuckets).map(BucketPattern.init),
            credentials: try values.pairs(.bucketCredentials).map { BucketCredentials(pattern: BucketPattern($0.key), secret: $0.value) },
            defaultCredentialsSecret: values.text(.s3CredentialsSecret))
        requests.logKey = LogKeyTemplate(values.text(.logKeyTemplate))

        let resources = requests.resources
        do {
            _ = try resources.resolve(ContainerResources(requests: resources.defaultRequests, limits: resources.defaultLimits))
        } catch {
            throw ValidationError("the default resources do not fit the maximums: \(error)")
        }
        let key = requests.logKey.render(job: "job-0", pod: "job-0-x", requestedName: "job", prefix: "prefix")
        if let problem = LogKeyTemplate.problem(with: key) {
            throw ValidationError("\(Setting.logKeyTemplate.variable) gives keys such as '\(key)', which \(problem)")
        }
        return requests
    }
}

extension Int {
    fileprivate var nonZero: Int? { self == 0 ? nil : self }
}
